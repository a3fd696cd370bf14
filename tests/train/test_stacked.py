"""The stacked baseline: one phase on all the LAB phases' own data, the alternative to KT/1 -> KT/2 -> ST."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from labtax.errors import ConfigError
from labtax.phases import LAB_PHASES
from labtax.train.config import load_train_config
from labtax.train.schedule import starting_point

REPO = Path(__file__).resolve().parents[2]

STACKED_YAML = """\
model: {model}
data_dir: {data}
output_dir: {out}
schedule: [stacked]
engine: torch
pad_to_multiple_of: 1
defaults:
  lr: 3.0e-3
  epochs: 1
  effective_batch_size: 8
  max_seq_len: 96
  micro_batch_tokens: 256
"""


def test_the_shipped_stacked_config_matches_the_lab_one_in_one_phase() -> None:
    stacked = load_train_config(REPO / "configs" / "train-stacked.yaml")
    lab = load_train_config(REPO / "configs" / "train-lab.yaml")
    assert stacked.schedule == ["stacked"] and stacked.model == lab.model
    raw = {
        n: YAML(typ="safe").load((REPO / "configs" / n).read_text())
        for n in ("train-lab.yaml", "train-stacked.yaml")
    }
    assert raw["train-stacked.yaml"]["defaults"] == raw["train-lab.yaml"]["defaults"]
    p, k = stacked.phases["stacked"], lab.phases["kt1"]
    assert (p.lr, p.effective_batch_size, p.max_seq_len, p.micro_batch_tokens, p.objective) == (
        k.lr,
        k.effective_batch_size,
        k.max_seq_len,
        k.micro_batch_tokens,
        "sft",
    )
    assert stacked.selector_of("stacked") == {"mcq": 1.0, "judge": 1.0}


def test_a_stacked_phase_selects_like_the_others_unless_set() -> None:
    config = load_train_config(None, ["schedule=[stacked]"])
    assert config.selector_of("stacked") == "val_loss" == config.selector_of("kt1")
    assert config.phases["stacked"].objective == "sft"
    assert (
        load_train_config(None, ["schedule=[stacked]", "phases.stacked.selector=last"]).selector_of("stacked")
        == "last"
    )


@pytest.mark.parametrize("schedule", ["[kt1,stacked]", "[stacked,st]", "[kt1,kt2,st,stacked,dpo]"])
def test_stacked_with_lab_phases_is_refused_in_one_line(schedule: str, tmp_path: Path) -> None:
    path = tmp_path / "mixed.yaml"
    path.write_text(f"schedule: {schedule}\n")
    with pytest.raises(ConfigError) as caught:
        load_train_config(path)
    message = caught.value.message
    assert "\n" not in message and message.startswith(f"{path}: schedule: stacked trains on the data")
    assert "drop stacked" in message


def test_preference_phases_chain_from_the_stacked_checkpoint() -> None:
    config = load_train_config(None, ["schedule=[stacked,reward,dpo]"])
    assert config.schedule == ["stacked", "reward", "dpo"]
    data = {
        "phases": {
            "stacked": {"plan": {"objective": "sft"}, "chosen": {"checkpoint": "stacked/epoch-2"}},
            "reward": {"plan": {"objective": "reward"}, "chosen": {"checkpoint": "reward/epoch-1"}},
        }
    }
    assert starting_point(data, "stacked", "student") == "student"
    assert starting_point(data, "reward", "student") == "stacked/epoch-2"
    assert starting_point(data, "dpo", "student") == "stacked/epoch-2"


@pytest.fixture(scope="module")
def stacked_run(project: Path) -> Path:
    from labtax.train.launch import train

    path = project / "stacked.yaml"
    out = project / "runs" / "stacked"
    path.write_text(STACKED_YAML.format(model=project / "model", data=project / "data", out=out))
    train(load_train_config(path), echo=lambda _: None)
    return out


def test_a_stacked_run_trains_on_the_union_in_one_phase(stacked_run: Path, project: Path) -> None:
    journal = json.loads((stacked_run / "journal.json").read_text())
    assert journal["schedule"] == ["stacked"] and list(journal["phases"]) == ["stacked"]
    entry = journal["phases"]["stacked"]
    assert entry["status"] == "done" and entry["init_from"] == str(project / "model")
    assert entry["chosen"]["checkpoint"] == str(stacked_run / "stacked" / "epoch-1")
    assert Path(entry["chosen"]["checkpoint"], "model.safetensors").is_file()
    own = [
        r
        for p in LAB_PHASES
        for r in map(json.loads, (project / "data" / f"{p}.jsonl").read_text().splitlines())
        if not r["replayed"]
    ]
    assert entry["plan"]["samples"] == len(own) and entry["plan"]["replayed"] == {}
    steps = [json.loads(x) for x in (stacked_run / "metrics.jsonl").read_text().splitlines()]
    assert {r["phase"] for r in steps} == {"stacked"}


def test_labtax_eval_of_a_stacked_run_scores_the_base_and_the_stacked_checkpoint(
    stacked_run: Path, project: Path
) -> None:
    """The real command: eval walks the run's phases, so the stacked checkpoint is a model of eval.json."""
    import subprocess
    import sys

    bench = project / "bench"
    bench.mkdir(exist_ok=True)
    (bench / "astronomy_test.csv").write_text(
        '"Which planet is the largest?",Mars,Jupiter,Venus,Earth,B\n'
        "What is frozen water called?,Steam,Ice,Fog,Dew,B\n"
    )
    exe = Path(sys.executable).parent / "labtax"
    done = subprocess.run(
        [str(exe), "eval", "--run", str(stacked_run), "--sets", "benchmark", "--benchmark", str(bench)],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads((stacked_run / "eval" / "eval.json").read_text())
    chosen = json.loads((stacked_run / "journal.json").read_text())["phases"]["stacked"]["chosen"]
    models = {m["name"]: m for m in result["models"]}
    assert list(models) == ["base", "stacked"]
    assert models["stacked"]["path"] == chosen["checkpoint"] and models["stacked"]["chosen"] == chosen
    assert models["base"]["path"] == str(project / "model")
    for m in models.values():  # both scored on the same items
        assert m["metrics"]["benchmark_items"] == 2 and m["metrics"]["benchmark_accuracy"] is not None
    assert "stacked" in (stacked_run / "eval" / "eval.md").read_text()
