"""The reward and dpo objectives: their losses against direct computations, real runs on a
separable preference set (one process, then 2 processes under ZeRO-2 and a ZeRO-3 run killed
during DPO and resumed), checkpoint chaining and bad preference files."""

from __future__ import annotations

import json
import math
import os
import signal
from pathlib import Path

import pytest
import torch

from labtax.errors import ConfigError, LabtaxError
from labtax.train.config import load_train_config
from labtax.train.launch import train
from labtax.train.objectives import dpo_loss, reward_loss
from labtax.train.schedule import starting_point
from tests.train import tiny
from tests.train.conftest import labtax, wait_for_metric


@pytest.fixture(scope="module")
def prefs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("prefs")
    tiny.make_model(root / "model")
    tiny.write_preferences(root / "preferences")
    return root


@pytest.fixture(scope="module")
def one_process(prefs: Path) -> Path:
    """reward then dpo, three epochs each, one process (plain torch)."""
    train(load_train_config(tiny.write_preference_config(prefs, "single")), echo=lambda _: None)
    return prefs / "runs" / "single"


def _journal(run_dir: Path) -> dict:
    return json.loads((run_dir / "journal.json").read_text())


def _steps(run_dir: Path, phase: str) -> list[dict]:
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [r for r in rows if r["phase"] == phase and r["kind"] == "step"]


# ---- the losses ---------------------------------------------------------------------------------


def test_reward_loss_is_the_papers() -> None:
    chosen, rejected = torch.tensor([1.5, -0.2, 0.0]), torch.tensor([0.5, 0.3, 0.0])
    want = [
        -math.log(1 / (1 + math.exp(-(c - r)))) + 0.01 * (c * c + r * r)
        for c, r in zip(chosen.tolist(), rejected.tolist(), strict=False)
    ]
    assert reward_loss(chosen, rejected, 0.01).tolist() == pytest.approx(want, rel=1e-6)


def test_dpo_loss_is_log_2_with_zero_margins_when_policy_is_reference() -> None:
    logps = torch.tensor([[-12.0, -30.0], [-4.0, -2.5]], dtype=torch.float64)
    loss, chosen, rejected = dpo_loss(logps, logps.clone(), beta=0.1)
    assert loss.tolist() == pytest.approx([math.log(2)] * 2)
    assert chosen.abs().max() == 0 and rejected.abs().max() == 0
    moved = logps + torch.tensor([[1.0, -1.0], [0.0, 0.0]], dtype=torch.float64)
    loss, chosen, rejected = dpo_loss(moved, logps, beta=0.1)
    assert loss[0] < math.log(2) and chosen[0] == pytest.approx(0.1) and rejected[0] == pytest.approx(-0.1)


# ---- one process ------------------------------------------------------------------------------------


def test_reward_training_raises_pair_accuracy(one_process: Path) -> None:
    entry = _journal(one_process)["phases"]["reward"]
    assert entry["plan"]["objective"] == "reward" and entry["plan"]["samples"] == 12
    best = max(e["val_accuracy"] for e in entry["epochs"])
    assert best == 1.0 and entry["start_val_accuracy"] < best
    assert entry["epochs"][-1]["val_loss"] < entry["start_val_loss"]
    chosen = entry["chosen"]
    assert (
        chosen["selector"] == "pair_accuracy" and chosen["test_pairs"] == 4 and chosen["test_accuracy"] == 1.0
    )
    assert {"accuracy", "margin"} <= set(_steps(one_process, "reward")[0])


def test_reward_validation_loss_matches_a_direct_computation(prefs: Path, one_process: Path) -> None:
    """The starting head (seeded) scored pair by pair, unpacked, gives the journal's packed figure."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from labtax.models.reward import RewardModel
    from labtax.preferences import read_preferences

    torch.manual_seed(42)  # the run's seed: the same fresh score head
    model = AutoModelForSequenceClassification.from_pretrained(prefs / "model", num_labels=1).eval()
    scorer = RewardModel(prefs / "model", model, AutoTokenizer.from_pretrained(prefs / "model"))
    pairs = read_preferences(prefs / "preferences" / "val.jsonl")
    chosen = torch.tensor(scorer.scores([p["prompt"] + p["chosen"] for p in pairs]))
    rejected = torch.tensor(scorer.scores([p["prompt"] + p["rejected"] for p in pairs]))
    want = reward_loss(chosen, rejected, 0.001).mean().item()
    assert _journal(one_process)["phases"]["reward"]["start_val_loss"] == pytest.approx(want, rel=1e-4)


def test_the_reward_model_loads_as_a_sequence_classifier(one_process: Path) -> None:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from labtax.models.reward import RewardModel

    folder = _journal(one_process)["phases"]["reward"]["chosen"]["checkpoint"]
    model = AutoModelForSequenceClassification.from_pretrained(folder).eval()
    tok = AutoTokenizer.from_pretrained(folder)
    talk = [
        {"role": "user", "content": "How many legs does a spider have?"},
        {"role": "assistant", "content": "Eight."},
    ]
    ids = tok(tok.apply_chat_template(talk, tokenize=False), add_special_tokens=False, return_tensors="pt")[
        "input_ids"
    ]
    with torch.no_grad():
        direct = model(input_ids=ids).logits[0, 0].item()
    ours = RewardModel.load(folder).scores([talk, [talk[0], {"role": "assistant", "content": tiny.WRONG}]])
    assert ours[0] == pytest.approx(direct, abs=1e-4)
    assert ours[0] > ours[1]  # it learned the preference


def test_dpo_starts_at_log_2_and_the_loss_falls(one_process: Path) -> None:
    data = _journal(one_process)
    entry = data["phases"]["dpo"]
    assert entry["init_from"] == data["model"]  # a reward model is not a policy: dpo starts from the student
    first = _steps(one_process, "dpo")[0]
    assert first["loss"] == pytest.approx(math.log(2), abs=1e-4)
    assert (
        abs(first["chosen_reward"]) < 1e-4
        and abs(first["rejected_reward"]) < 1e-4
        and abs(first["margin"]) < 1e-4
    )
    assert entry["start_val_loss"] == pytest.approx(math.log(2), abs=1e-4)
    assert entry["epochs"][-1]["val_loss"] < 0.5 * math.log(2)
    assert entry["epochs"][-1]["val_accuracy"] == 1.0
    assert (one_process / "dpo" / "reference.pt").is_file()
    assert data["reward_model"] == data["phases"]["reward"]["chosen"]["checkpoint"]


# ---- several processes ----------------------------------------------------------------------------------


def test_zero2_two_processes_and_zero3_killed_during_dpo_then_resumed(prefs: Path) -> None:
    train(load_train_config(tiny.write_preference_config(prefs, "z2", nproc=2, stage=2)), echo=lambda _: None)
    z2 = _journal(prefs / "runs" / "z2")
    assert z2["world_size"] == 2 and z2["phases"]["dpo"]["status"] == "done"

    config = tiny.write_preference_config(prefs, "z3", nproc=2, stage=3)
    run_dir = prefs / "runs" / "z3"
    proc = labtax("train", "--config", str(config), cwd=prefs, start_new_session=True)
    wait_for_metric(run_dir, proc, "dpo", 2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert _journal(run_dir)["phases"]["dpo"]["status"] == "running"
    resumed = labtax("train", "--config", str(config), "--resume", cwd=prefs)
    output = resumed.communicate(timeout=300)[0]
    assert resumed.returncode == 0, output
    z3 = _journal(run_dir)
    assert z3["phases"]["dpo"]["status"] == "done" and [
        e["epoch"] for e in z3["phases"]["dpo"]["epochs"]
    ] == [1, 2, 3]
    for phase in ("reward", "dpo"):  # the same training, whatever the stage and the interruption
        got = [e["val_loss"] for e in z3["phases"][phase]["epochs"]]
        want = [e["val_loss"] for e in z2["phases"][phase]["epochs"]]
        assert got == pytest.approx(want, rel=2e-3, abs=1e-4), phase


# ---- chaining, config, bad input ------------------------------------------------------------------------


def test_dpo_after_the_lab_schedule_starts_from_st_not_from_the_reward_model() -> None:
    done = {"status": "done"}
    data = {
        "model": "student",
        "phases": {
            "st": {**done, "plan": {"objective": "sft"}, "chosen": {"checkpoint": "st/epoch-2"}},
            "reward": {**done, "plan": {"objective": "reward"}, "chosen": {"checkpoint": "reward/epoch-1"}},
        },
    }
    assert starting_point(data, "dpo", "student") == "st/epoch-2"
    assert starting_point(data, None, "student") == "st/epoch-2"


def test_preference_schedules_and_their_selectors(tmp_path: Path) -> None:
    config = load_train_config(None, ["schedule=[kt1, kt2, st, dpo]"], base=tmp_path)
    assert config.schedule == ["kt1", "kt2", "st", "dpo"]
    assert config.phases["dpo"].objective == "dpo" and config.phases["reward"].objective == "reward"
    assert config.selector_of("reward") == "pair_accuracy" and config.selector_of("dpo") == "val_loss"
    assert config.preferences_dir == str(tmp_path / "preferences")
    with pytest.raises(ConfigError, match="out of order"):
        load_train_config(None, ["schedule=[dpo, reward]"], base=tmp_path)
    with pytest.raises(ConfigError, match="writes no answers to score"):
        load_train_config(None, ["phases.reward.selector=judge"], base=tmp_path)


def test_dry_run_plans_pairs(prefs: Path) -> None:
    plan = train(load_train_config(tiny.write_preference_config(prefs, "plan")), dry_run=True)["plan"]
    assert [(p["phase"], p["objective"], p["samples"], p["validation"]) for p in plan] == [
        ("reward", "reward", 12, 4),
        ("dpo", "dpo", 12, 4),
    ]


BAD = {
    "a missing key": (lambda row: row.pop("rejected"), "'rejected' is a required property"),
    "an empty chosen": (
        lambda row: row["chosen"][0].update(content="  "),
        "chosen.0.content: an empty answer",
    ),
    "no rejected message": (lambda row: row.update(rejected=[]), "rejected: an empty answer"),
    "a prompt ending on the assistant": (
        lambda row: row["prompt"].append({"role": "assistant", "content": "Hi."}),
        "must end on a user turn",
    ),
    "chosen equal to rejected": (
        lambda row: row.update(rejected=row["chosen"]),
        "chosen and rejected are the same answer",
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_preference_line_is_located_and_nothing_trains(prefs: Path, tmp_path: Path, case: str) -> None:
    folder = tmp_path / "preferences"
    tiny.write_preferences(folder)
    lines = (folder / "dpo.jsonl").read_text().splitlines()
    row = json.loads(lines[2])
    BAD[case][0](row)
    lines[2] = json.dumps(row)
    (folder / "dpo.jsonl").write_text("\n".join(lines) + "\n")
    config = load_train_config(
        None,
        [
            f"model={prefs / 'model'}",
            f"preferences_dir={folder}",
            f"output_dir={tmp_path / 'run'}",
            "schedule=[dpo]",
        ],
    )
    with pytest.raises(LabtaxError) as caught:
        train(config, echo=lambda _: None)
    assert f"{folder / 'dpo.jsonl'}:3:1: error[preference]" in caught.value.message
    assert BAD[case][1] in caught.value.message
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("name", ["train-preferences.yaml", "train-reward.yaml"])
def test_the_documented_preference_configs_load(name: str) -> None:
    config = load_train_config(Path(__file__).resolve().parents[2] / "configs" / name)
    assert config.schedule[-1] in ("reward", "dpo")
    assert config.phases["reward"].objective == "reward" and config.selector_of("reward") == "pair_accuracy"
