"""The run journal (journal.json): what ran, from what, with which data, and what was chosen.

One writer at a time: the launcher between phases, rank 0 of the worker during a phase. Every
write is atomic, so a run killed at any moment leaves a journal that --resume can trust.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from labtax.errors import LabtaxError
from labtax.files import write_text_atomic

NAME = "journal.json"
CONFIG = "config.json"


def path(run_dir: Path) -> Path:
    return run_dir / NAME


def read(run_dir: Path) -> dict[str, Any]:
    try:
        return json.loads(path(run_dir).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LabtaxError(f"{run_dir}: no {NAME} here; start a run without --resume") from None
    except json.JSONDecodeError as exc:
        raise LabtaxError(f"{path(run_dir)}: damaged journal ({exc.msg})") from None


def write(run_dir: Path, data: dict[str, Any]) -> None:
    write_text_atomic(path(run_dir), json.dumps(data, indent=2) + "\n")


def read_config(run_dir: Path) -> dict[str, Any]:
    """The resolved configuration the run was started with (what every worker reads)."""
    return json.loads((run_dir / CONFIG).read_text(encoding="utf-8"))


def update_phase(run_dir: Path, phase: str, **fields: Any) -> dict[str, Any]:
    data = read(run_dir)
    data["phases"][phase].update(fields)
    write(run_dir, data)
    return data["phases"][phase]


def add_epoch(run_dir: Path, phase: str, record: dict[str, Any]) -> list[dict[str, Any]]:
    """Append a finished epoch (its checkpoint and optimizer state are already on disk)."""
    data = read(run_dir)
    epochs = [e for e in data["phases"][phase].get("epochs", []) if e["epoch"] < record["epoch"]]
    data["phases"][phase]["epochs"] = [*epochs, record]
    write(run_dir, data)
    return data["phases"][phase]["epochs"]


def update_epoch(run_dir: Path, phase: str, epoch: int, **fields: Any) -> dict[str, Any]:
    """Add fields (e.g. its benchmark scores) to a finished epoch's record, keeping the others."""
    data = read(run_dir)
    record = next(e for e in data["phases"][phase]["epochs"] if e["epoch"] == epoch)
    record.update(fields)
    write(run_dir, data)
    return record
