"""Choosing the checkpoint a phase hands to the next one.

A selector is a plain function `(phase, candidates) -> candidate`. Register one in SELECTORS,
or name any importable function as `module:function` in the config's `selector`.

Benchmark selectors (LAB chooses its knowledge checkpoints by MMLU, its skills checkpoint by
MT-Bench): `mcq` (multiple-choice accuracy on the phase's knowledge leaves), `judge` (judge score
on the phase's skill leaves), or a weighted mix such as {mcq: 1.0, benchmark: 0.5}, where each
metric is on a 0-1 scale (the 1-10 judge score as (score - 1) / 9). The scores come from
labtax.eval.checkpoint and are stored with each epoch in the journal.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from labtax.errors import ConfigError, LabtaxError


@dataclass(frozen=True)
class Candidate:
    """One epoch checkpoint of a phase, with what was measured on it."""

    epoch: int
    checkpoint: str
    val_loss: float | None
    train_loss: float | None = None
    scores: dict[str, Any] | None = None  # labtax.eval metrics of this checkpoint
    val_accuracy: float | None = None  # reward and dpo phases: validation pair accuracy

    @classmethod
    def from_journal(cls, record: dict[str, Any]) -> Candidate:
        return cls(
            record["epoch"],
            record["checkpoint"],
            record.get("val_loss"),
            record.get("train_loss"),
            record.get("eval"),
            record.get("val_accuracy"),
        )


Selector = Callable[[str, list[Candidate]], Candidate]


def lowest_val_loss(phase: str, candidates: list[Candidate]) -> Candidate:
    """The lowest validation loss; the earlier epoch on a tie. Without a validation split, the last epoch."""
    if not candidates:
        raise LabtaxError(f"phase {phase} has no checkpoint to choose from")
    scored = [c for c in candidates if c.val_loss is not None]
    if not scored:
        return candidates[-1]
    return min(scored, key=lambda c: (c.val_loss, c.epoch))


def last_epoch(phase: str, candidates: list[Candidate]) -> Candidate:
    """The most trained checkpoint."""
    if not candidates:
        raise LabtaxError(f"phase {phase} has no checkpoint to choose from")
    return candidates[-1]


def best_pair_accuracy(phase: str, candidates: list[Candidate]) -> Candidate:
    """The highest validation pair accuracy (how the STEM-tutor paper kept its reward model's
    epoch); ties go to the lower validation loss, then the earlier epoch. Without a validation
    split, the lowest validation loss rule (the last epoch)."""
    scored = [c for c in candidates if c.val_accuracy is not None]
    if not scored:
        return lowest_val_loss(phase, candidates)
    return max(
        scored, key=lambda c: (c.val_accuracy, -(c.val_loss if c.val_loss is not None else 0.0), -c.epoch)
    )


# selector term -> eval metric
METRICS = {"mcq": "mcq_accuracy", "judge": "judge_score", "benchmark": "benchmark_accuracy"}
# the cloze formulation of the same items (labtax.eval.mcq), which small students can answer
METRICS |= {"mcq_cloze": "mcq_accuracy_cloze", "benchmark_cloze": "benchmark_accuracy_cloze"}


def unit_score(metric: str, scores: dict[str, Any] | None) -> float | None:
    """A metric on a 0-1 scale (None when it had no items). The judge uses its probability-weighted
    grade where known: it separates checkpoints a small judge would give the same label."""
    scores = scores or {}
    if metric == "judge":
        grade = (
            scores.get("judge_score_weighted")
            if scores.get("judge_score_weighted") is not None
            else scores.get("judge_score")
        )
        return None if grade is None else (float(grade) - 1) / 9
    value = scores.get(METRICS[metric])
    return None if value is None else float(value)


def weighted_score(weights: dict[str, float], candidate: Candidate) -> float | None:
    """sum(weight * score) over the metrics that have items; None when none has."""
    terms = [(w, unit_score(m, candidate.scores)) for m, w in weights.items()]
    known = [(w, v) for w, v in terms if v is not None]
    return (
        sum(w * v for w, v in known) / sum(w for w, _ in known)
        if known and sum(w for w, _ in known)
        else None
    )


def by_scores(weights: dict[str, float]) -> Selector:
    """The highest weighted score; ties go to the lower validation loss, then the earlier epoch.
    Where no checkpoint has a score (no items), falls back to the lowest validation loss."""

    def select(phase: str, candidates: list[Candidate]) -> Candidate:
        if not candidates:
            raise LabtaxError(f"phase {phase} has no checkpoint to choose from")
        scored = [(weighted_score(weights, c), c) for c in candidates]
        scored = [(s, c) for s, c in scored if s is not None]
        if not scored:
            return lowest_val_loss(phase, candidates)
        return max(
            scored,
            key=lambda sc: (sc[0], -(sc[1].val_loss if sc[1].val_loss is not None else 0.0), -sc[1].epoch),
        )[1]

    return select


SELECTORS: dict[str, Selector] = {
    "val_loss": lowest_val_loss,
    "last": last_epoch,
    "pair_accuracy": best_pair_accuracy,
    "mcq": by_scores({"mcq": 1.0}),
    "judge": by_scores({"judge": 1.0}),
}
SELECTORS["mcq_cloze"] = by_scores({"mcq_cloze": 1.0})


def selector_weights(spec: str | dict[str, float]) -> dict[str, float]:
    """The eval metrics a selector needs, with their weights ({} for val_loss, last, module:function)."""
    if isinstance(spec, dict):
        return dict(spec)
    return {spec: 1.0} if spec in METRICS else {}


def describe(spec: str | dict[str, float]) -> str:
    return (
        spec
        if isinstance(spec, str)
        else "weighted(" + ", ".join(f"{k}={v:g}" for k, v in spec.items()) + ")"
    )


def why(spec: str | dict[str, float], chosen: Candidate, candidates: list[Candidate]) -> str:
    """One line: what the selector compared, and the values per epoch."""
    weights = selector_weights(spec)
    if weights:
        values = {c.epoch: weighted_score(weights, c) for c in candidates}
        if any(v is not None for v in values.values()):
            listed = ", ".join(f"{e}: {'-' if v is None else f'{v:.3f}'}" for e, v in values.items())
            return f"highest {describe(spec)} score {values[chosen.epoch]:.3f} (epochs {listed})"
    if spec == "pair_accuracy" and chosen.val_accuracy is not None:
        listed = ", ".join(
            f"{c.epoch}: {'-' if c.val_accuracy is None else f'{c.val_accuracy:.3f}'}" for c in candidates
        )
        return f"highest validation pair accuracy {chosen.val_accuracy:.3f} (epochs {listed})"
    listed = ", ".join(f"{c.epoch}: {'-' if c.val_loss is None else f'{c.val_loss:.4f}'}" for c in candidates)
    return (
        f"lowest validation loss (epochs {listed})"
        if chosen.val_loss is not None
        else "last epoch (no validation split)"
    )


def get_selector(name: str | dict[str, float]) -> Selector:
    if isinstance(name, dict):
        unknown = sorted(set(name) - set(METRICS))
        if unknown:
            raise ConfigError(f"selector weights {', '.join(unknown)}: use {', '.join(METRICS)}")
        return by_scores(name)
    if name in SELECTORS:
        return SELECTORS[name]
    module, sep, func = name.partition(":")
    if not sep:
        raise ConfigError(f"selector {name!r}: use one of {', '.join(SELECTORS)} or module:function")
    try:
        return getattr(importlib.import_module(module), func)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"selector {name!r} cannot be imported: {exc}") from None
