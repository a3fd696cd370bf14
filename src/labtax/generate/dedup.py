"""Near-duplicate filtering with ROUGE-L (as in Self-Instruct: drop a new instruction whose
ROUGE-L F-measure with any earlier one, or with a seed, reaches the threshold, default 0.7)."""

from __future__ import annotations

import math
import re

from rapidfuzz.distance import LCSseq

_WORD = re.compile(r"\w+")


def words(text: str) -> list[str]:
    """Lower-case word tokens; punctuation and spacing do not make two texts different."""
    return _WORD.findall(text.lower())


def lcs_length(a: list[str], b: list[str]) -> int:
    """Length of the longest common subsequence of two word lists: rapidfuzz's bit-parallel LCS in C++
    (linear space; a 33,000-word reply against a kept instruction costs microseconds, not seconds)."""
    return int(LCSseq.similarity(a, b))


def rouge_l(a: str | list[str], b: str | list[str]) -> float:
    """ROUGE-L F-measure of two texts (or word lists), in [0, 1]."""
    wa = words(a) if isinstance(a, str) else a
    wb = words(b) if isinstance(b, str) else b
    if not wa or not wb:
        return 0.0
    common = lcs_length(wa, wb)
    if common == 0:
        return 0.0
    precision, recall = common / len(wa), common / len(wb)
    return 2 * precision * recall / (precision + recall)


class NearDuplicates:
    """Remembers kept texts; `seen(text)` tells whether a new text is too close to one of them."""

    def __init__(self, threshold: float, initial: list[str] | None = None) -> None:
        self.threshold = threshold
        self._texts = list(initial or [])
        self._kept = [words(t) for t in self._texts]

    def seen(self, text: str) -> bool:
        return self.closest(text) is not None

    def closest(self, text: str) -> str | None:
        """The first kept text `text` is a near-duplicate of (what a review groups it with), or None."""
        candidate = words(text)
        return next(
            (self._texts[i] for i, other in enumerate(self._kept) if self._close(candidate, other)), None
        )

    def _close(self, a: list[str], b: list[str]) -> bool:
        """rouge_l(a, b) >= threshold, asking only what can decide it. F = 2 * LCS / (|a| + |b|), and
        LCS <= the shorter length: texts of very different lengths are never close, and the LCS is
        computed with a cut-off (rapidfuzz stops early below it)."""
        if not a or not b:
            return False
        needed = math.ceil(self.threshold * (len(a) + len(b)) / 2 - 1e-9)
        if needed > min(len(a), len(b)):
            return False
        return LCSseq.similarity(a, b, score_cutoff=max(needed, 1)) >= needed

    def add(self, text: str) -> None:
        self._texts.append(text)
        self._kept.append(words(text))
