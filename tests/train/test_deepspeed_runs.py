"""The full three-phase schedule under the real DeepSpeed engine, 2 processes on gloo."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch

from labtax.models.tokenize import IGNORE, load_tokenizer
from labtax.train.data import encode_file
from labtax.train.packing import collate
from tests.train import tiny

pytestmark = pytest.mark.slow
PHASES = ("kt1", "kt2", "st")


def journal(run_dir: Path) -> dict:
    return json.loads((run_dir / "journal.json").read_text())


def rows_of(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def steps(run_dir: Path, phase: str) -> list[dict]:
    return [r for r in rows_of(run_dir) if r["kind"] == "step" and r["phase"] == phase]


def val_loss(checkpoint: str, data: Path, phase: str) -> float:
    """Validation loss of a saved checkpoint, computed here without DeepSpeed."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(checkpoint, dtype=torch.float32).eval()
    tok = load_tokenizer(checkpoint)
    total, count = 0.0, 0
    for sample in encode_file(data / f"{phase}.val.jsonl", tok, 96):
        batch = {k: torch.tensor(v) for k, v in collate([sample], 1, tok.pad_token_id).items()}
        with torch.no_grad():
            logits = model(
                input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False
            ).logits
        total += torch.nn.functional.cross_entropy(
            logits[0, :-1], batch["labels"][0, 1:], ignore_index=IGNORE, reduction="sum"
        ).item()
        count += sample.n_targets
    return total / count


def test_loss_decreases_within_each_phase(zero2_run: Path) -> None:
    for phase in PHASES:
        rows = steps(zero2_run, phase)
        first = [r["loss"] for r in rows if r["epoch"] == 1]
        last = [r["loss"] for r in rows if r["epoch"] == max(x["epoch"] for x in rows)]
        assert sum(last) / len(last) < sum(first) / len(first), phase
        epochs = [r for r in rows_of(zero2_run) if r["kind"] == "epoch" and r["phase"] == phase]
        assert [e["epoch"] for e in epochs] == list(range(len(epochs)))  # epoch 0: the starting checkpoint
    assert all(0 < r["packing_efficiency"] <= 1 and r["tokens_per_s"] > 0 for r in steps(zero2_run, "kt1"))
    # metrics record the rate each step trained at: with 1 warm-up step, the first step trains at 0
    # (transformers' warm-up starts from 0), the next ones at the full rate
    assert [r["lr"] for r in steps(zero2_run, "kt1")[:3]] == [0.0, 3.0e-3, 3.0e-3]


def test_each_phase_starts_from_the_previous_chosen_checkpoint(zero2_run: Path, project: Path) -> None:
    data = journal(zero2_run)
    assert data["phases"]["kt1"]["init_from"] == str(project / "model")
    for before, after in zip(PHASES, PHASES[1:], strict=False):
        chosen = data["phases"][before]["chosen"]
        best = min(data["phases"][before]["epochs"], key=lambda e: e["val_loss"])
        assert chosen["checkpoint"] == best["checkpoint"]
        assert data["phases"][after]["init_from"] == chosen["checkpoint"]
        # The next phase's loss before training equals the chosen weights' loss on its validation split.
        expected = val_loss(chosen["checkpoint"], project / "data", after)
        assert data["phases"][after]["start_val_loss"] == pytest.approx(expected, rel=1e-4)


def test_zero2_run_leaves_checkpoints_plot_and_no_optimizer_states(zero2_run: Path) -> None:
    from transformers import AutoModelForCausalLM

    data = journal(zero2_run)
    assert [data["phases"][p]["status"] for p in PHASES] == ["done"] * 3
    assert [len(data["phases"][p]["epochs"]) for p in PHASES] == [2, 3, 2]
    assert data["final_checkpoint"] == data["phases"]["st"]["chosen"]["checkpoint"]
    model = AutoModelForCausalLM.from_pretrained(data["final_checkpoint"])
    assert model.config.num_hidden_layers == 2
    assert (zero2_run / "loss.png").read_bytes()[:4] == b"\x89PNG"
    assert not any(zero2_run.glob("*/state")), "finished phases keep no optimizer state"
    # keep: best (the default): only the chosen checkpoint of each phase is left on disk
    assert sorted(p.relative_to(zero2_run).as_posix() for p in zero2_run.glob("*/epoch-*")) == sorted(
        Path(data["phases"][p]["chosen"]["checkpoint"]).relative_to(zero2_run).as_posix() for p in PHASES
    )
    assert set(data["data"]) == {f"{p}{s}" for p in PHASES for s in (".jsonl", ".val.jsonl")}
    assert data["config"]["phases"]["kt2"]["epochs"] == 3


def test_zero3_killed_mid_phase_resumes_to_the_end(zero3_resumed: dict, zero2_run: Path) -> None:
    from transformers import AutoModelForCausalLM

    killed, run_dir = zero3_resumed["killed"], zero3_resumed["run_dir"]
    assert killed["phases"]["kt1"]["status"] == "done"
    assert killed["phases"]["kt2"]["status"] == "running"
    assert [e["epoch"] for e in killed["phases"]["kt2"]["epochs"]] == [1]
    assert killed["_states"] == ["epoch-1"], "the state of the last finished epoch is kept, older ones pruned"
    assert not (run_dir / "kt1" / "state").exists()
    data = journal(run_dir)
    assert [data["phases"][p]["status"] for p in PHASES] == ["done"] * 3
    assert [e["epoch"] for e in data["phases"]["kt2"]["epochs"]] == [1, 2, 3]
    assert data["phases"]["kt1"]["finished"] == killed["phases"]["kt1"]["finished"], "KT/1 was not redone"
    assert data["phases"]["st"]["init_from"] == data["phases"]["kt2"]["chosen"]["checkpoint"]
    AutoModelForCausalLM.from_pretrained(data["final_checkpoint"])
    output = zero3_resumed["output"]
    # no library noise in what `labtax train` prints, and losses people can read
    assert (
        "Setting accelerator to CPU" not in output and "it/s]" not in output and "FutureWarning" not in output
    ), output
    assert re.search(
        r"KT/1 +epoch \d by val_loss: lowest validation loss \(epochs 1: \d+\.\d{4}, 2: \d+\.\d{4}\)$",
        output,
        re.MULTILINE,
    ), output
    kt2 = [(r["epoch"], r["step"]) for r in steps(run_dir, "kt2")]
    assert kt2 == sorted(set(kt2)), "metrics hold each step once after the resume"
    # Same data, seeds and schedule: ZeRO-3 (killed and resumed) ends where ZeRO-2 did.
    reference = journal(zero2_run)
    for phase in PHASES:
        got = [e["val_loss"] for e in data["phases"][phase]["epochs"]]
        want = [e["val_loss"] for e in reference["phases"][phase]["epochs"]]
        assert got == pytest.approx(want, rel=1e-3), phase


def test_deepspeed_launcher_zero1_runs_the_same_worker(project: Path, zero2_run: Path) -> None:
    """The deepspeed launcher (as hostfiles use) at ZeRO-1, one phase: same losses as torchrun at ZeRO-2."""
    from labtax.train.config import load_train_config
    from labtax.train.launch import train

    path = tiny.write_config(project, "zero1", 1)
    result = train(
        load_train_config(path, ["launcher=deepspeed", "phases.kt1.epochs=1"], schedule=["kt1"]),
        echo=lambda _: None,
    )
    assert list(result["phases"]) == ["kt1"] and result["phases"]["kt1"]["status"] == "done"
    assert result["final_checkpoint"] == result["phases"]["kt1"]["chosen"]["checkpoint"]
    want = journal(zero2_run)["phases"]["kt1"]["epochs"][0]["val_loss"]
    assert result["phases"]["kt1"]["epochs"][0]["val_loss"] == pytest.approx(want, rel=1e-3)
