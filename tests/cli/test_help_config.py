"""`labtax --help` in pipeline order, defaults in every subcommand's help (equal to the schema's),
and `labtax config` with where each value came from."""

from __future__ import annotations

import json
import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from labtax.cli import cli
from labtax.config import SCHEMA, flatten
from labtax.schemas import apply_defaults, load_schema

PIPELINE = ["lint", "fmt", "new", "diff", "generate", "report", "mix", "train"]


def test_commands_listed_in_pipeline_order() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    listed = re.findall(r"^  (\w+)\s{2,}", result.output.split("Commands:")[1], re.MULTILINE)
    assert [name for name in listed if name in PIPELINE] == PIPELINE
    assert listed.index("train") < listed.index("config")


@pytest.mark.parametrize("name", sorted(cli.commands))
def test_every_option_shows_its_default(name: str) -> None:
    defaults = flatten(apply_defaults(load_schema(SCHEMA), {}))
    for param in cli.commands[name].params:
        if not isinstance(param, click.Option) or param.is_flag or param.name == "help":
            continue
        text = param.help or ""
        assert param.show_default or "default" in text, f"{name} {param.opts[0]}: {text}"
        for key, value in re.findall(r"\[default: ([\w.]+) = ([^\]]+)\]", text):
            assert str(defaults[key]) == value, (name, key)


def test_config_prints_each_value_with_its_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "labtax.yaml").write_text(
        "lint:\n  strict: true\n  word_limits: {question: 100}\ngenerate:\n  seed: 3\n"
    )
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        cli, ["config", "--set", "generate.seed=7", "--set", "mix.seed=5", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    rows = {row["key"]: (row["value"], row["source"]) for row in json.loads(result.stdout)}
    assert rows["lint.strict"] == (True, "labtax.yaml")
    assert rows["lint.word_limits.question"] == (100, "labtax.yaml")
    assert rows["lint.word_limits.answer"] == (500, "default")
    assert rows["generate.seed"] == (7, "flag") and rows["mix.seed"] == (5, "flag")
    assert rows["generate.num_instructions"] == (4, "default")
    text = CliRunner().invoke(cli, ["config"]).stdout
    assert re.search(r"^generate\.seed\s+3\s+labtax\.yaml$", text, re.MULTILINE)
    bad = CliRunner().invoke(cli, ["config", "--set", "generate.seed=-1"])
    assert bad.exit_code == 2 and "generate.seed" in bad.output
