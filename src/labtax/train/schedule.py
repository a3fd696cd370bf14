"""Phase chaining, done by rank 0 between phases: each phase starts from the checkpoint the
selector chose in the latest earlier phase, and a finished phase's optimizer states go away."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

from labtax.mix import PHASES
from labtax.train import journal
from labtax.train.select import Candidate, get_selector

ORDER = PHASES  # chaining follows the LAB order, whatever subset runs


def starting_point(data: dict[str, Any], phase: str | None, student: str) -> str:
    """The chosen checkpoint of the latest phase before `phase` (None: of all) that has one, else the student."""
    for earlier in reversed(ORDER[: ORDER.index(phase)] if phase else ORDER):
        chosen = data["phases"].get(earlier, {}).get("chosen")
        if chosen:
            return chosen["checkpoint"]
    return student


def begin_phase(run_dir: Path, phase: str) -> dict[str, Any]:
    """Mark `phase` running and fix where it starts from (kept as is when resuming)."""
    data = journal.read(run_dir)
    entry = data["phases"][phase]
    if entry["status"] == "pending":
        init = starting_point(data, phase, data["model"])
        entry = journal.update_phase(run_dir, phase, status="running", init_from=init, started=time.time())
    return entry


def end_phase(run_dir: Path, phase: str, selector: str, keep: str = "all") -> dict[str, Any]:
    """Choose the phase's checkpoint, record it, and delete its optimizer states; with keep "best",
    the checkpoints of the other epochs go too (they are marked `deleted` in the journal)."""
    epochs = journal.read(run_dir)["phases"][phase]["epochs"]
    chosen = get_selector(selector)(phase, [Candidate.from_journal(e) for e in epochs])
    record = {"epoch": chosen.epoch, "checkpoint": chosen.checkpoint, "val_loss": chosen.val_loss, "selector": selector}
    shutil.rmtree(run_dir / phase / "state", ignore_errors=True)
    if keep == "best":
        # Journal first, delete second: a crash in between leaves a checkpoint too many, never a missing one.
        epochs = [{**e, "deleted": True} if e["epoch"] != chosen.epoch else e for e in epochs]
        journal.update_phase(run_dir, phase, epochs=epochs)
        for e in epochs:
            if e.get("deleted"):
                shutil.rmtree(e["checkpoint"], ignore_errors=True)
    return journal.update_phase(run_dir, phase, status="done", chosen=record, finished=time.time())


def skip_phase(run_dir: Path, phase: str) -> dict[str, Any]:
    """A phase without training samples hands its starting point on unchanged."""
    return journal.update_phase(run_dir, phase, status="skipped", chosen=None, finished=time.time())
