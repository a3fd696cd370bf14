"""Bootstrap confidence intervals over items: how far a mean over a few items can be trusted.

A figure is the mean of per-item values (1/0 for a multiple-choice item, the judge's grade of an
answer). Its interval is the percentile bootstrap: RESAMPLES resamples of the items with
replacement, the mean of each, and the 2.5th and 97.5th percentiles of those means (LEVEL 95 %).
The difference between two models (or two epochs) on the same items is PAIRED: the per-item
differences are resampled together, so an item both models found hard does not widen the interval.

Resampling n items with replacement is the same as drawing how often each distinct value comes up
(a multinomial over the distinct values, with their shares as probabilities), so resamples are drawn
that way where values are few (0/1, grades 1-10, their differences): thousands of items cost
milliseconds. Many distinct values (probability-weighted grades) resample item indices in chunks.
The generator is seeded and the values are taken as a multiset (their order does not matter), so a
rerun prints the same interval.

This lives in train because the checkpoint selectors compare epochs with it; eval imports it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

RESAMPLES = 2000
LEVEL = 0.95
SEED = 1234
MIN_ITEMS = 2  # one item has no spread to resample: no interval
DISTINCT_DRAWN = 64  # up to this many distinct values, resamples are drawn as multinomial counts
CHUNK = 1 << 21  # most item indices drawn at once otherwise (bounds the memory)


@dataclass(frozen=True)
class Interval:
    mean: float
    low: float | None  # None with fewer than MIN_ITEMS items
    high: float | None
    n: int

    def as_dict(self) -> dict[str, Any]:
        return {"low": self.low, "high": self.high, "n": self.n}

    def excludes_zero(self) -> bool:
        return self.low is not None and self.high is not None and (self.low > 0 or self.high < 0)


def resampled_means(values: Sequence[float], resamples: int = RESAMPLES, seed: int = SEED) -> np.ndarray:
    """The means of `resamples` bootstrap resamples of `values` (drawn as multinomial counts of the
    distinct values: the same distribution as resampling the items)."""
    distinct, counts = np.unique(np.asarray(values, dtype=float), return_counts=True)
    n, rng = int(counts.sum()), np.random.default_rng(seed)
    if len(distinct) <= DISTINCT_DRAWN:
        return rng.multinomial(n, counts / n, size=resamples) @ distinct / n
    ordered = np.repeat(distinct, counts)  # many distinct values: resample the items themselves
    means = np.empty(resamples)
    step = max(1, CHUNK // n)
    for start in range(0, resamples, step):
        rows = min(step, resamples - start)
        means[start : start + rows] = ordered[rng.integers(0, n, size=(rows, n), dtype=np.int32)].mean(axis=1)
    return means


def weighted_interval(parts: Sequence[tuple[float, Sequence[float]]]) -> Interval | None:
    """The interval of sum(w * mean(values)) / sum(w) over the parts that have items, each part
    resampled on its own (a selector's weighted mix of metrics); None when no part has items."""
    kept = [(float(w), list(v)) for w, v in parts if len(v) and w]
    if not kept:
        return None
    total = sum(w for w, _ in kept)
    mean = sum(w * float(np.mean(v)) for w, v in kept) / total
    n = min(len(v) for _, v in kept)
    if n < MIN_ITEMS:
        return Interval(mean, None, None, sum(len(v) for _, v in kept))
    means = sum(w * resampled_means(v, seed=SEED + i) for i, (w, v) in enumerate(kept)) / total
    low, high = np.quantile(means, [(1 - LEVEL) / 2, 1 - (1 - LEVEL) / 2])
    return Interval(mean, float(low), float(high), sum(len(v) for _, v in kept))


def interval(values: Sequence[float]) -> Interval | None:
    """The mean of `values` and its percentile bootstrap interval; None without values."""
    return weighted_interval([(1.0, values)])


def paired_differences(before: dict[str, float], after: dict[str, float]) -> list[float]:
    """after - before on the items both have (item id -> value), in id order."""
    return [float(after[k]) - float(before[k]) for k in sorted(before.keys() & after.keys())]


def paired(before: dict[str, float], after: dict[str, float]) -> Interval | None:
    """The paired bootstrap interval of after - before on the items both were scored on."""
    return interval(paired_differences(before, after))


def shown(mean: float | None, found: dict[str, Any] | Interval | None, signed: bool = False) -> str:
    """A figure as people read it: "0.620 [0.480, 0.750] n=40" ("-" without items; the bracket
    only where there is an interval). `signed` puts a + on positive values (differences)."""
    if mean is None:
        return "-"
    if isinstance(found, Interval):
        found = found.as_dict()
    spec = "+.3f" if signed else ".3f"
    text = f"{mean:{spec}}"
    if found and found.get("low") is not None:
        text += f" [{found['low']:{spec}}, {found['high']:{spec}}]"
    return text + (f" n={found['n']}" if found else "")
