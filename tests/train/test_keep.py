"""keep: best|all: what a finished phase leaves on disk (a fabricated run folder; the real
DeepSpeed runs check the default in test_deepspeed_runs.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from labtax.train import journal, schedule
from labtax.train.config import load_train_config


def _run(tmp_path: Path) -> Path:
    run = tmp_path / "run"
    epochs = []
    for epoch, val in ((1, 2.0), (2, 1.5), (3, 1.7)):
        folder = run / "kt1" / f"epoch-{epoch}"
        folder.mkdir(parents=True)
        (folder / "model.safetensors").write_bytes(b"x" * 100)
        epochs.append(
            {
                "epoch": epoch,
                "step": epoch * 2,
                "train_loss": 2.5,
                "val_loss": val,
                "checkpoint": str(folder),
                "state": f"epoch-{epoch}",
            }
        )
    (run / "kt1" / "state" / "epoch-3").mkdir(parents=True)
    journal.write(run, {"phases": {"kt1": {"status": "running", "epochs": epochs}}})
    return run


@pytest.mark.parametrize("keep", ["best", "all"])
def test_a_finished_phase_keeps_the_chosen_checkpoint_or_all(tmp_path: Path, keep: str) -> None:
    run = _run(tmp_path)
    entry = schedule.end_phase(run, "kt1", load_train_config(None, [f"keep={keep}"]))
    assert entry["chosen"]["epoch"] == 2 and Path(entry["chosen"]["checkpoint"]).is_dir()
    left = sorted(p.name for p in (run / "kt1").iterdir())
    assert left == (["epoch-2"] if keep == "best" else ["epoch-1", "epoch-2", "epoch-3"])
    deleted = [e["epoch"] for e in journal.read(run)["phases"]["kt1"]["epochs"] if e.get("deleted")]
    assert deleted == ([1, 3] if keep == "best" else [])
