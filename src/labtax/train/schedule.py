"""Phase chaining, done by rank 0 between phases: each phase starts from the checkpoint the
selector chose in the latest earlier phase, and a finished phase's optimizer states go away."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any, Callable

from labtax.errors import LabtaxError
from labtax.models.reward import RewardModel, split_accuracy
from labtax.phases import TRAIN_PHASES
from labtax.train import journal
from labtax.train.config import TrainConfig
from labtax.train.select import Candidate, describe, get_selector, selector_weights, why

ORDER = TRAIN_PHASES  # chaining follows this order, whatever subset runs

# Scores an epoch checkpoint for the selectors: (checkpoint, phase, metrics needed, config, the
# run's eval folder for caches) -> {metric: value}. Train does not know how to evaluate; whoever
# starts the run hands it a scorer (`labtax train` hands eval's, labtax.eval.checkpoint.score_epoch).
Scorer = Callable[[str, str, set[str], TrainConfig, Path], dict[str, Any]]


def objective(entry: dict[str, Any]) -> str:
    """A journal phase entry's objective (runs from before objectives existed trained sft only)."""
    return entry.get("plan", {}).get("objective", "sft")


def starting_point(data: dict[str, Any], phase: str | None, student: str) -> str:
    """The chosen checkpoint of the latest policy phase before `phase` (None: of all) that has one,
    else the student. A reward model is not a policy: nothing chains from it."""
    for earlier in reversed(ORDER[: ORDER.index(phase)] if phase else ORDER):
        entry = data["phases"].get(earlier, {})
        if entry.get("chosen") and objective(entry) != "reward":
            return entry["chosen"]["checkpoint"]
    return student


def reward_model(data: dict[str, Any]) -> str | None:
    """The chosen checkpoint of the run's reward phase, if it has one."""
    entry = data["phases"].get("reward", {})
    return entry["chosen"]["checkpoint"] if entry.get("chosen") and objective(entry) == "reward" else None


def begin_phase(run_dir: Path, phase: str) -> dict[str, Any]:
    """Mark `phase` running and fix where it starts from (kept as is when resuming)."""
    data = journal.read(run_dir)
    entry = data["phases"][phase]
    if entry["status"] == "pending":
        init = entry["plan"].get("model") or starting_point(data, phase, data["model"])
        entry = journal.update_phase(run_dir, phase, status="running", init_from=init, started=time.time())
    return entry


def score_epochs(
    run_dir: Path, phase: str, config: TrainConfig, scorer: Scorer | None
) -> list[dict[str, Any]]:
    """Score every epoch checkpoint the phase's selector needs scores of and that has none yet
    (a resumed run scores only what is missing); returns the phase's epochs."""
    spec = config.selector_of(phase)
    needs = set(selector_weights(spec))
    epochs = journal.read(run_dir)["phases"][phase]["epochs"]
    if not needs or all("eval" in e for e in epochs):
        return epochs
    if scorer is None:
        raise LabtaxError(
            f"phase {phase}: the {describe(spec)} selector needs checkpoint scores, and this run was started "
            "without a scorer (`labtax train` passes eval's: labtax.eval.checkpoint:score_epoch)"
        )
    for record in (e for e in epochs if "eval" not in e):
        began = time.monotonic()
        print(f"[{phase}] scoring epoch {record['epoch']} ({', '.join(sorted(needs))})", flush=True)
        scores = scorer(record["checkpoint"], phase, needs, config, run_dir / "eval")
        journal.update_epoch(run_dir, phase, record["epoch"], eval=scores)
        spent = journal.read(run_dir)["phases"][phase].get("eval_s", 0.0)
        journal.update_phase(run_dir, phase, eval_s=round(spent + time.monotonic() - began, 3))
    return journal.read(run_dir)["phases"][phase]["epochs"]


def end_phase(run_dir: Path, phase: str, config: TrainConfig, scorer: Scorer | None = None) -> dict[str, Any]:
    """Choose the phase's checkpoint (scoring the epochs first where the selector needs it),
    record it with the reason (a reward model: with its test pair accuracy), and delete the phase's
    optimizer states; with keep "best", the checkpoints of the other epochs go too (they are marked
    `deleted` in the journal)."""
    spec = config.selector_of(phase)
    epochs = score_epochs(run_dir, phase, config, scorer)
    candidates = [Candidate.from_journal(e) for e in epochs]
    chosen = get_selector(spec)(phase, candidates)
    record = {
        "epoch": chosen.epoch,
        "checkpoint": chosen.checkpoint,
        "val_loss": chosen.val_loss,
        "selector": describe(spec),
        "why": why(spec, chosen, candidates),
        "scores": chosen.scores,
    }
    if config.phases[phase].objective == "reward":
        record.update(split_accuracy(RewardModel.load(chosen.checkpoint), Path(config.preferences_dir)))
    shutil.rmtree(run_dir / phase / "state", ignore_errors=True)
    if config.keep == "best":
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
