"""Choosing the checkpoint a phase hands to the next one.

A selector is a plain function `(phase, candidates) -> candidate`. Register one in SELECTORS,
or name any importable function as `module:function` in the config's `selector`. Benchmark-based
selectors (multiple-choice accuracy for knowledge, judge scores for skills) plug in here.
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

    @classmethod
    def from_journal(cls, record: dict[str, Any]) -> Candidate:
        return cls(record["epoch"], record["checkpoint"], record.get("val_loss"), record.get("train_loss"))


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


SELECTORS: dict[str, Selector] = {"val_loss": lowest_val_loss, "last": last_epoch}


def get_selector(name: str) -> Selector:
    if name in SELECTORS:
        return SELECTORS[name]
    module, sep, func = name.partition(":")
    if not sep:
        raise ConfigError(f"selector {name!r}: use one of {', '.join(SELECTORS)} or module:function")
    try:
        return getattr(importlib.import_module(module), func)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"selector {name!r} cannot be imported: {exc}") from None
