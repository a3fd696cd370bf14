"""How much of an evaluation item's text a training set already holds, by word n-grams.

The measure follows two published checks. GPT-3 (Brown et al. 2020, section 4 and appendix C)
lower-cases, drops punctuation and looks for shared 13-grams (at least 8-grams for short tasks), and
an item shorter than the n-gram counts as seen when the whole of it occurs in training. Llama 2
(Touvron et al. 2023, appendix A.6) scores an item by the share of its tokens that fall in n-grams
shared with the training data. Here: the item's text is its question followed by its correct answer,
as lower-cased word tokens (letters and digits; punctuation and whitespace only separate words); a
token is covered when one of the item's n-grams containing it occurs in a training record; an item
is contaminated when the covered share is over the threshold (eval.contamination_ngram, default 8,
and eval.contamination_threshold, default 0.5: docs/eval.md says why).

The training side is a set of hashed n-grams, built once in one pass over the records; each item
then costs a few set look-ups. Which record an item overlaps is found afterwards, in one more pass,
for the few items that need naming.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

WORD = re.compile(r"[^\W_]+")  # letters and digits: punctuation, underscores and spaces only split words


def words(text: str) -> list[str]:
    """Lower-cased word tokens of `text`, punctuation removed."""
    return WORD.findall(text.casefold())


@dataclass(frozen=True)
class EvalText:
    """The text of one evaluation item that is checked: its question then its correct answer."""

    where: str  # path:line of the item
    leaf: str
    set: str
    texts: tuple[str, ...]

    @cached_property
    def tokens(self) -> list[str]:
        return [w for text in self.texts for w in words(text)]


@dataclass(frozen=True)
class TrainText:
    """One training record: where it is (path:line) and its turns' texts, in order."""

    where: str
    texts: tuple[str, ...]

    @property
    def tokens(self) -> list[str]:
        return [w for text in self.texts for w in words(text)]


@dataclass(frozen=True)
class Overlap:
    item: EvalText
    tokens: int
    share: float  # of the item's tokens covered by n-grams seen in training
    contaminated: bool
    record: str | None = None  # where the training record sharing the most is (contaminated items)


def _grams(tokens: Sequence[str], n: int) -> list[int]:
    return [hash(tuple(tokens[i : i + n])) for i in range(len(tokens) - n + 1)]


class TrainingNgrams:
    """The hashed n-grams of a training set (Python's hash of the token tuple; a 64-bit collision
    between two different n-grams is negligible at these sizes)."""

    def __init__(self, records: Iterable[TrainText], n: int) -> None:
        if n < 1:
            raise ValueError("n-gram length must be at least 1")
        self.n = n
        self.records = list(records)
        self.hashes: set[int] = set()
        for record in self.records:
            self.hashes.update(_grams(record.tokens, n))
        self._joined: str | None = None

    def share(self, tokens: Sequence[str]) -> float:
        """Share of `tokens` covered by n-grams seen in training (an item shorter than n: 1.0 when the
        whole of it occurs in one training record, else 0.0)."""
        if not tokens:
            return 0.0
        if len(tokens) < self.n:
            return 1.0 if f" {' '.join(tokens)} " in self._text() else 0.0
        covered = [False] * len(tokens)
        for i, gram in enumerate(_grams(tokens, self.n)):
            if gram in self.hashes:
                covered[i : i + self.n] = [True] * self.n
        return sum(covered) / len(tokens)

    def _text(self) -> str:
        """Every record's tokens on a line of its own, padded with spaces: a short item is a substring
        search (built on first need only)."""
        if self._joined is None:
            self._joined = "\n".join(f" {' '.join(r.tokens)} " for r in self.records)
        return self._joined

    def nearest(self, items: Sequence[EvalText]) -> list[str | None]:
        """For each item, where the training record sharing the most of its n-grams (or, shorter than
        n, holding all of it) is; None where no record shares any. One pass over the records."""
        wanted = [item.tokens for item in items]
        grams = [set(_grams(t, self.n)) if len(t) >= self.n else None for t in wanted]
        best: list[tuple[int, str | None]] = [(0, None)] * len(items)
        for record in self.records:
            tokens = record.tokens
            mine = set(_grams(tokens, self.n))
            line = f" {' '.join(tokens)} "
            for i, item_grams in enumerate(grams):
                count = (
                    len(item_grams & mine)
                    if item_grams is not None
                    else int(f" {' '.join(wanted[i])} " in line)
                )
                if count > best[i][0]:
                    best[i] = (count, record.where)
        return [where for _, where in best]


def check(items: Sequence[EvalText], records: Iterable[TrainText], n: int, threshold: float) -> list[Overlap]:
    """Every item's overlap with the training records; contaminated items name their nearest record."""
    index = TrainingNgrams(records, n)
    out = []
    for item in items:
        tokens = item.tokens
        share = index.share(tokens)
        out.append(Overlap(item, len(tokens), share, share > threshold))
    dirty = [i for i, o in enumerate(out) if o.contaminated]
    for i, where in zip(dirty, index.nearest([out[i].item for i in dirty]), strict=True):
        out[i] = Overlap(out[i].item, out[i].tokens, out[i].share, True, where)
    return out


def percent(share: float) -> str:
    return f"{100 * share:.0f}%"
