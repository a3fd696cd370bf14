"""Near-duplicate filtering with ROUGE-L (as in Self-Instruct: drop a new instruction whose
ROUGE-L F-measure with any earlier one, or with a seed, reaches the threshold, default 0.7)."""

from __future__ import annotations

import re

_WORD = re.compile(r"\w+")


def words(text: str) -> list[str]:
    """Lower-case word tokens; punctuation and spacing do not make two texts different."""
    return _WORD.findall(text.lower())


def lcs_length(a: list[str], b: list[str]) -> int:
    """Length of the longest common subsequence (one-row dynamic programming)."""
    if len(a) < len(b):
        a, b = b, a
    previous = [0] * (len(b) + 1)
    for token in a:
        current = [0]
        for j, other in enumerate(b, 1):
            current.append(previous[j - 1] + 1 if token == other else max(previous[j], current[j - 1]))
        previous = current
    return previous[-1]


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
        return next((self._texts[i] for i, other in enumerate(self._kept) if rouge_l(candidate, other) >= self.threshold), None)

    def add(self, text: str) -> None:
        self._texts.append(text)
        self._kept.append(words(text))
