"""Clean sets: how much of an evaluation item's text a training set already holds, by word n-grams.

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
from pathlib import Path
from typing import Any

from labtax.errors import EXIT_FINDINGS, LabtaxError
from labtax.schemas import checked_rows

WORD = re.compile(r"[^\W_]+")  # letters and digits: punctuation, underscores and spaces only split words
EVAL_FILES = (("*.mcq.jsonl", "knowledge"), ("*.heldout.jsonl", "skills"))


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


def eval_texts(folder: Path) -> list[EvalText]:
    """The generated evaluation items under `folder` (generate's eval/): multiple-choice items as
    question + correct choice, held-out prompts as their last user turn + reference answer."""
    items = []
    for pattern, kind in EVAL_FILES:
        for path in sorted(folder.rglob(pattern)) if folder.is_dir() else []:
            text = path.read_text(encoding="utf-8")
            for lineno, row in checked_rows(text, str(path), "eval-item.schema.json", "eval-item", "(item)"):
                items.append(
                    EvalText(f"{path}:{lineno}", str(row.get("leaf") or path.name), kind, _texts(row))
                )
    return items


def _texts(row: dict[str, Any]) -> tuple[str, ...]:
    if "prompt" in row:
        users = [t["content"] for t in row["prompt"] if t.get("role") == "user"]
        return (*users[-1:], str(row.get("reference", "")))
    return (row["question"], row["choices"][row["answer"]])


def message_texts(messages: Iterable[dict[str, Any]]) -> tuple[str, ...]:
    """The texts of a chat record's turns, in order (what the student reads and is trained on)."""
    return tuple(str(m.get("content", "")) for m in messages if isinstance(m, dict))


def percent(share: float) -> str:
    return f"{100 * share:.0f}%"


def refuse_contaminated(overlaps: Sequence[Overlap], n: int, threshold: float) -> None:
    """Stop at the first contaminated item: one located line naming the item and the training record."""
    dirty = [o for o in overlaps if o.contaminated]
    if not dirty:
        return
    first = dirty[0]
    more = f" ({len(dirty) - 1} more contaminated item(s) after this one)" if len(dirty) > 1 else ""
    raise LabtaxError(
        f"{first.item.where}:1: error[contamination] {percent(first.share)} of this evaluation item's "
        f"{first.tokens} words fall in {n}-grams of the training record {first.record} (at most "
        f"{percent(threshold)} allowed, eval.contamination_threshold); it would measure memory, not "
        f"learning: rewrite or drop the item or the record; nothing written{more}",
        EXIT_FINDINGS,
    )
