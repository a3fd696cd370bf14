"""Scores of epoch checkpoints for the training selectors (LAB chooses checkpoints by benchmark:
the knowledge phases by multiple choice, the skills phase by judged answers).

Rank 0 scores each epoch checkpoint of a phase once, at the phase's end, on that phase's leaves:

| metric    | items                                                                             |
| mcq       | multiple-choice items of the knowledge leaves                                      |
| judge     | held-out prompts of the phase's skill leaves; their seed examples where none exist |
| benchmark | the run's benchmark folder (watching general knowledge for forgetting)             |

A subset of at most `eval_items` items per metric (seeded, the same for every epoch, so epochs are
compared item by item) keeps the cost bounded; answers and judge calls are cached under RUN_DIR/eval,
so a resumed run redoes none.
"""

from __future__ import annotations

import asyncio
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from labtax.config import Config, load_config
from labtax.errors import LabtaxError
from labtax.eval.scoring import ModelSpec, Sets, make_judge, metrics, score_all, stored_items
from labtax.eval.sets import benchmark_items, generated_sets, seed_items
from labtax.generate.output import EVAL_DIR
from labtax.models.cache import CACHE_NAME, CallCache
from labtax.models.progress import StageProgress
from labtax.phases import PHASE_BRANCHES
from labtax.train.config import TrainConfig


@dataclass(frozen=True)
class Scope:
    """Where a run's evaluation sets are: the repository (taxonomy, labtax.yaml) and the generate output."""

    root: Path
    input_dir: Path
    benchmark: Path | None
    max_items: int
    seed: int


def scope_of(data_dir: str, benchmark: str | None, max_items: int, seed: int) -> Scope:
    """Found through the mix the run trains on (mix.json names the generate output and the repository)."""
    stats = Path(data_dir) / "mix.json"
    try:
        inputs = json.loads(stats.read_text(encoding="utf-8"))["inputs"]
        return Scope(
            Path(inputs["root"]),
            Path(inputs["folder"]),
            Path(benchmark) if benchmark else None,
            max_items,
            seed,
        )
    except (OSError, ValueError, KeyError, TypeError):
        raise LabtaxError(
            f"{stats}: cannot tell where the evaluation sets are (run `labtax mix` again); "
            "the mcq and judge selectors need them"
        ) from None


def _subset(items: list[Any], scope: Scope, label: str) -> list[Any]:
    ordered = sorted(items, key=lambda i: i.id)
    return random.Random(f"{scope.seed}:{label}").sample(ordered, min(scope.max_items, len(ordered)))


def phase_sets(config: Config, scope: Scope, phase: str, needs: set[str]) -> Sets:
    """The items the phase's selector needs, as eval.run.Sets."""
    folder = scope.input_dir / EVAL_DIR
    mcq, heldout = generated_sets(folder) if folder.is_dir() else ([], [])
    branches = PHASE_BRANCHES[phase]
    sets = Sets()
    if needs & {"mcq", "mcq_cloze"}:
        sets.mcq = _subset(mcq, scope, f"{phase}:mcq")
    if "judge" in needs:
        skills = [b for b in branches if b != "knowledge"]
        prompts = [i for i in heldout if i.branch in skills] or [
            i for i in seed_items(config) if i.branch in branches
        ]
        sets.prompts = _subset(prompts, scope, f"{phase}:judge")
    if needs & {"benchmark", "benchmark_cloze"} and scope.benchmark is not None:
        sets.benchmark = _subset(benchmark_items(scope.benchmark), scope, f"{phase}:benchmark")
    return sets


def score_epoch(
    checkpoint: str, phase: str, needs: set[str], config: TrainConfig, eval_dir: Path
) -> dict[str, Any]:
    """The scorer `labtax train` hands its workers (labtax.train.schedule.Scorer): an epoch
    checkpoint's metrics on the sets of the run's mix."""
    scope = scope_of(config.data_dir, config.benchmark, config.eval_items, config.seed)
    return score_checkpoint(checkpoint, phase, needs, scope, eval_dir)


def score_checkpoint(
    checkpoint: str, phase: str, needs: set[str], scope: Scope, eval_dir: Path
) -> dict[str, Any]:
    """The metrics of one checkpoint (eval.run.metrics keys, with their intervals) on the phase's sets,
    and under `items` each item's value (item id -> 1/0 or grade): the selectors compare epochs on the
    same items with a paired bootstrap."""
    config = load_config(scope.root)
    settings = config.section("eval")
    sets = phase_sets(config, scope, phase, needs)  # one labtax.yaml read per checkpoint
    cache = CallCache(eval_dir / CACHE_NAME)
    try:
        with StageProgress(Console(stderr=True), False) as progress:
            judge = make_judge(config, settings, cache, progress)
            ((_, outcomes),) = asyncio.run(
                score_all(judge, [ModelSpec(phase, checkpoint, phase)], sets, settings, cache, progress)
            )
    finally:
        cache.close()
    return {**metrics(outcomes), "items": stored_items(outcomes)}
