"""`labtax mix`: phases, replay, validation splits, determinism, stats and errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from labtax.cli import cli
from labtax.config import load_config
from labtax.errors import LabtaxError
from labtax.mix import mix
from labtax.models.tokenize import load_tokenizer, response_tokens
from labtax.phases import LAB_PHASES


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_phases_hold_the_right_branches_and_lengths(mix_project: Path, tokenizer_dir: Path) -> None:
    mix(load_config(mix_project))
    tok = load_tokenizer(str(tokenizer_dir))
    data = mix_project / "data"
    for phase in ("kt1", "kt2", "st"):
        own = [
            r for r in rows(data / f"{phase}.jsonl") + rows(data / f"{phase}.val.jsonl") if not r["replayed"]
        ]
        assert own and all(r["phase"] == phase for r in own)
        for r in own:
            length = response_tokens(tok, r["messages"][-1]["content"])
            assert r["response_tokens"] == length
            if phase == "kt1":
                assert r["branch"] == "knowledge" and length <= 20
            elif phase == "kt2":
                assert (r["branch"] == "knowledge" and length > 20) or r["branch"] == "foundational_skills"
            else:
                assert r["branch"] == "compositional_skills"
    kt2 = rows(data / "kt2.jsonl")
    assert {r["source"] for r in kt2} == {"seed", "generated"}
    assert any(r["branch"] == "knowledge" and not r["replayed"] for r in kt2), (
        "long knowledge answers go to KT/2"
    )


def test_replay_counts_match_the_config(mix_project: Path) -> None:
    (mix_project / "labtax.yaml").write_text(
        (mix_project / "labtax.yaml").read_text()
        + "  replay:\n    kt2: {kt1: 1.0}\n    st: {kt1: 0.5, kt2: 0.25}\n"
    )
    stats = mix(load_config(mix_project))
    data = mix_project / "data"
    own_train = {p: [r for r in rows(data / f"{p}.jsonl") if not r["replayed"]] for p in ("kt1", "kt2", "st")}
    assert stats["phases"]["kt2"]["replayed"] == {"kt1": len(own_train["kt1"])}
    assert stats["phases"]["st"]["replayed"] == {
        "kt1": round(0.5 * len(own_train["kt1"])),
        "kt2": round(0.25 * len(own_train["kt2"])),
    }
    st = rows(data / "st.jsonl")
    replayed_ids = {r["id"] for r in st if r["replayed"]}
    assert replayed_ids <= {r["id"] for r in own_train["kt1"] + own_train["kt2"]}
    validation = {r["id"] for p in ("kt1", "kt2", "st") for r in rows(data / f"{p}.val.jsonl")}
    assert not validation & {r["id"] for p in ("kt1", "kt2", "st") for r in rows(data / f"{p}.jsonl")}


def test_same_seed_same_files_other_seed_other_order(mix_project: Path, tmp_path: Path) -> None:
    config = load_config(mix_project)
    mix(config, output_dir=tmp_path / "a", seed=7)
    mix(config, output_dir=tmp_path / "b", seed=7)
    mix(config, output_dir=tmp_path / "c", seed=8)
    for name in ("kt1.jsonl", "kt2.jsonl", "st.val.jsonl", "mix.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert (tmp_path / "a" / "kt2.jsonl").read_bytes() != (tmp_path / "c" / "kt2.jsonl").read_bytes()


def test_stats_agree_with_the_files_and_datasets_loads_them(mix_project: Path) -> None:
    import datasets

    stats = mix(load_config(mix_project))
    data = mix_project / "data"
    assert stats["inputs"] == {
        "generated": 24,
        "seed_examples": 6,
        "folder": str(mix_project / "generated"),
        "root": str(mix_project),
        "leaves_without_generated": [],
    }
    total = 0
    assert list(stats["phases"]) == [*LAB_PHASES, "stacked"]
    for phase, s in stats["phases"].items():
        train = rows(data / f"{phase}.jsonl")
        if phase != "stacked":  # the stacked set holds the LAB phases' samples again
            total += sum(1 for r in train if not r["replayed"]) + s["validation"]
        assert s["train"] == len(train) and sum(s["by_leaf"].values()) == len(train)
        assert s["tokens"]["train"] == sum(r["tokens"] for r in train)
        ds = datasets.load_dataset(
            "json",
            data_files={
                "train": str(data / f"{phase}.jsonl"),
                "validation": str(data / f"{phase}.val.jsonl"),
            },
        )
        assert ds["train"].num_rows == s["train"] and ds["validation"].num_rows == s["validation"]
    assert total == 30  # every record and seed lands in exactly one phase
    assert json.loads((data / "mix.json").read_text()) == stats


def test_invalid_record_is_located(mix_project: Path) -> None:
    bad = mix_project / "generated" / "knowledge" / "broken.jsonl"
    bad.write_text('{"id": "0123456789abcdef", "leaf": "x"}\n')
    with pytest.raises(LabtaxError, match=r"broken\.jsonl:1:1: error\[record\] .*branch"):
        mix(load_config(mix_project))
    assert not (mix_project / "data").exists(), "nothing is written when the input is bad"


def test_cli_mix(mix_project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(mix_project)
    result = CliRunner().invoke(cli, ["mix", "--output", "out", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "KT/2" in result.output and "replayed:" in result.output
    assert json.loads((mix_project / "out" / "mix.json").read_text())["seed"] == 3
    missing = CliRunner().invoke(cli, ["mix", "--input", "nowhere"])
    assert missing.exit_code == 2 and "no generated data" in missing.output


def test_cli_mix_counts_generated_and_seed_and_warns_about_leaves_without_data(
    mix_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(mix_project)
    rhymes = next(mix_project.glob("generated/compositional_skills/**/*.jsonl"))
    rhymes.unlink()  # one leaf without generated data
    result = CliRunner().invoke(cli, ["mix", "--output", "out"])
    assert result.exit_code == 0, result.output
    stats = json.loads((mix_project / "out" / "mix.json").read_text())
    for phase, name in (("kt1", "KT/1"), ("kt2", "KT/2"), ("st", "ST")):
        by_source = stats["phases"][phase]["by_source"]
        line = next(line for line in result.stdout.splitlines() if line.strip().startswith(name + " "))
        assert f"(generated {by_source.get('generated', 0)}, seed {by_source.get('seed', 0)})" in line
    # ST's own data: seeds only
    assert {r["source"] for r in rows(mix_project / "out" / "st.jsonl") if not r["replayed"]} == {"seed"}
    (leaf,) = stats["inputs"]["leaves_without_generated"]
    assert leaf.startswith("taxonomy/compositional_skills/")
    assert (
        result.stderr
        == f"warning: {leaf}: no generated record (run `labtax generate` for it, or see `labtax report`)\n"
    )
