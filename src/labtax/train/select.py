"""Choosing the checkpoint a phase hands to the next one.

A selector is a plain function `(phase, candidates) -> candidate`. Register one in SELECTORS,
or name any importable function as `module:function` in the config's `selector`.

Benchmark selectors (LAB chooses its knowledge checkpoints by MMLU, its skills checkpoint by
MT-Bench): `mcq` (multiple-choice accuracy on the phase's knowledge leaves), `judge` (judge score
on the phase's skill leaves), or a weighted mix such as {mcq: 1.0, benchmark: 0.5}, where each
metric is on a 0-1 scale (the 1-10 judge score as (score - 1) / 9). The scores come from
labtax.eval.checkpoint and are stored with each epoch in the journal, with each item's value, so
epochs are compared item by item: a paired bootstrap (labtax.bootstrap) tells whether the
best epoch is apart from the others; where it is not, a tie-breaker decides (see `decide`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from labtax import bootstrap
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


def _unit_items(metric: str, scores: dict[str, Any] | None, weighted: bool) -> dict[str, float]:
    """Per item (id -> value) the metric on a 0-1 scale, from the epoch's `items` (eval.checkpoint)."""
    items = (scores or {}).get("items") or {}
    if metric != "judge":
        return {k: float(v) for k, v in items.get(METRICS[metric], {}).items()}
    grades = items.get("judge_score_weighted" if weighted else "judge_score", {})
    return {k: (float(v) - 1) / 9 for k, v in grades.items()}


def _judge_weighted(*candidates: Candidate) -> bool:
    """The probability-weighted grade counts where every compared epoch has it (as unit_score)."""
    return all((c.scores or {}).get("judge_score_weighted") is not None for c in candidates)


def score_interval(weights: dict[str, float], candidate: Candidate) -> bootstrap.Interval | None:
    """The epoch's weighted score with its 95 % bootstrap interval over items."""
    weighted = _judge_weighted(candidate)
    return bootstrap.weighted_interval(
        [(w, list(_unit_items(m, candidate.scores, weighted).values())) for m, w in weights.items()]
    )


def paired_gap(weights: dict[str, float], ahead: Candidate, other: Candidate) -> bootstrap.Interval | None:
    """ahead - other on the items both were scored on: the paired bootstrap interval of the weighted
    score's difference (each metric's items resampled on their own); None without common items."""
    weighted = _judge_weighted(ahead, other)
    parts = []
    for metric, w in weights.items():
        mine, theirs = (_unit_items(metric, c.scores, weighted) for c in (ahead, other))
        parts.append((w, bootstrap.paired_differences(theirs, mine)))
    return bootstrap.weighted_interval(parts)


@dataclass(frozen=True)
class Decision:
    """How a score selector chose: by its scores, or (scores that could not separate the best epoch
    from others, or no items at all) by the tie-breaker."""

    chosen: Candidate
    decided_by: str  # "scores", "val_loss", "earlier epoch", "last epoch"
    tied: list[Candidate]  # the epochs the scores could not separate from the best one (with it)
    gaps: dict[int, bootstrap.Interval | None]  # epoch -> best minus that epoch, paired


def _separated(gap: bootstrap.Interval | None, best: float, score: float) -> bool:
    """Without per-item results to pair (a custom scorer), the point scores decide."""
    return score != best if gap is None else gap.excludes_zero()


def decide(weights: dict[str, float], phase: str, candidates: list[Candidate]) -> Decision:
    """The highest weighted score where its paired interval against every other scored epoch
    excludes 0. Otherwise the tie-breaker among the epochs it could not separate from the best:
    the lowest validation loss, then the earlier epoch (less training: less forgetting of the
    earlier phases). Where no epoch has a score (no items): the lowest validation loss rule."""
    if not candidates:
        raise LabtaxError(f"phase {phase} has no checkpoint to choose from")
    scored = [(s, c) for s, c in ((weighted_score(weights, c), c) for c in candidates) if s is not None]
    if not scored:
        chosen = lowest_val_loss(phase, candidates)
        return Decision(chosen, "val_loss" if chosen.val_loss is not None else "last epoch", [], {})
    best_score, best = max(scored, key=lambda sc: (sc[0], -_loss(sc[1]), -sc[1].epoch))
    gaps = {c.epoch: paired_gap(weights, best, c) for _, c in scored if c is not best}
    tied = [best] + [c for s, c in scored if c is not best and not _separated(gaps[c.epoch], best_score, s)]
    if len(tied) == 1:
        return Decision(best, "scores", tied, gaps)
    chosen = min(tied, key=lambda c: (c.val_loss is None, _loss(c), c.epoch))
    losses = [c for c in tied if c.val_loss is not None]
    return Decision(chosen, "val_loss" if losses else "earlier epoch", tied, gaps)


def _loss(candidate: Candidate) -> float:
    return candidate.val_loss if candidate.val_loss is not None else 0.0


def by_scores(weights: dict[str, float]) -> Selector:
    """A score selector (see `decide`)."""

    def select(phase: str, candidates: list[Candidate]) -> Candidate:
        return decide(weights, phase, candidates).chosen

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


TIE_BREAK = "; tie-breaker: "  # in `why`, what follows names the rule that decided


def why(spec: str | dict[str, float], chosen: Candidate, candidates: list[Candidate]) -> str:
    """One line: what the selector compared, with the values per epoch; where the scores did not
    decide, why not and which tie-breaker did (after TIE_BREAK)."""
    weights = selector_weights(spec)
    if weights:
        return _score_why(spec, weights, candidates)
    if spec == "pair_accuracy" and chosen.val_accuracy is not None:
        listed = ", ".join(
            f"{c.epoch}: {'-' if c.val_accuracy is None else f'{c.val_accuracy:.3f}'}" for c in candidates
        )
        return f"highest validation pair accuracy {chosen.val_accuracy:.3f} (epochs {listed})"
    return _loss_why(chosen, candidates)


def _loss_why(chosen: Candidate, candidates: list[Candidate]) -> str:
    listed = ", ".join(f"{c.epoch}: {'-' if c.val_loss is None else f'{c.val_loss:.4f}'}" for c in candidates)
    return (
        f"lowest validation loss (epochs {listed})"
        if chosen.val_loss is not None
        else "last epoch (no validation split)"
    )


def _score_why(spec: str | dict[str, float], weights: dict[str, float], candidates: list[Candidate]) -> str:
    name = describe(spec)
    decision = decide(weights, "", candidates)
    if decision.decided_by in ("val_loss", "last epoch") and not decision.tied:
        return f"{name} had no items to score{TIE_BREAK}{_loss_why(decision.chosen, candidates)}"
    listed = ", ".join(
        f"{c.epoch}: {bootstrap.shown(weighted_score(weights, c), score_interval(weights, c))}"
        for c in candidates
    )
    best = decision.tied[0]
    if decision.decided_by == "scores":
        return (
            f"highest {name} score {weighted_score(weights, best):.3f}, apart from every other epoch "
            f"(paired differences {_gaps(best, decision.gaps) or 'none'}; epochs {listed})"
        )
    tied = ", ".join(str(c.epoch) for c in sorted(decision.tied, key=lambda c: c.epoch))
    gaps = _gaps(best, {c.epoch: decision.gaps[c.epoch] for c in decision.tied[1:]})
    rule = (
        f"lowest validation loss {decision.chosen.val_loss:.4f} among them"
        if decision.decided_by == "val_loss"
        else "the earlier epoch (no validation loss)"
    )
    return (
        f"{name} could not separate epochs {tied} (paired 95 % intervals of the differences "
        f"include 0: {gaps}; epochs {listed}){TIE_BREAK}{rule}"
    )


def _gaps(best: Candidate, gaps: dict[int, bootstrap.Interval | None]) -> str:
    return "; ".join(
        f"{best.epoch} - {e}: "
        + (bootstrap.shown(g.mean, g, signed=True) if g else "no per-item results, equal scores")
        for e, g in gaps.items()
    )


def decided_by(record: dict[str, Any]) -> str:
    """The rule that chose a journal's `chosen` record: its selector, or the tie-breaker named in
    `why` where the selector's scores did not decide (never a selector that did not decide)."""
    text = record.get("why", "")
    if TIE_BREAK not in text:
        return record.get("selector", "val_loss")
    rule = text.split(TIE_BREAK, 1)[1]
    if rule.startswith("lowest validation loss"):
        return "val_loss"
    return "earlier epoch" if rule.startswith("the earlier epoch") else "last epoch"


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
