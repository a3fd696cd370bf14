"""Reading seed examples out of a parsed leaf, tolerant of any shape (the schema reports bad shapes)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

Path = tuple[str | int, ...]
_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)


@dataclass(frozen=True)
class Pair:
    """One question/answer with where it sits; `context` is the passage it belongs to, if any."""

    at: Path
    question: str
    answer: str
    context: str


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def pairs(data: Any) -> Iterator[Pair]:
    """Every question/answer pair: skill seeds, or knowledge questions_and_answers under their context."""
    seeds = data.get("seed_examples") if isinstance(data, dict) else None
    for i, seed in enumerate(seeds if isinstance(seeds, list) else []):
        if not isinstance(seed, dict):
            continue
        qas = seed.get("questions_and_answers")
        if isinstance(qas, list):
            for j, qa in enumerate(qas):
                if isinstance(qa, dict):
                    yield Pair(
                        ("seed_examples", i, "questions_and_answers", j),
                        _text(qa.get("question")),
                        _text(qa.get("answer")),
                        _text(seed.get("context")),
                    )
        else:
            yield Pair(
                ("seed_examples", i),
                _text(seed.get("question")),
                _text(seed.get("answer")),
                _text(seed.get("context")),
            )


def texts(data: Any) -> Iterator[tuple[Path, str, str]]:
    """(path, role, text) for every context, question and answer string."""
    seeds = data.get("seed_examples") if isinstance(data, dict) else None
    for i, seed in enumerate(seeds if isinstance(seeds, list) else []):
        if not isinstance(seed, dict):
            continue
        if isinstance(seed.get("context"), str):
            yield ("seed_examples", i, "context"), "context", seed["context"]
    for pair in pairs(data):
        for role in ("question", "answer"):
            if getattr(pair, role):
                yield (*pair.at, role), role, getattr(pair, role)


def normalise(text: str) -> str:
    """Lower case, punctuation and spacing removed: what a duplicate looks like to a reader."""
    return " ".join(_NOT_WORD.sub(" ", text.casefold()).split())


@dataclass(frozen=True)
class Prepared:
    """A pair with its normalised texts, computed once per file for LT301 and LT302."""

    pair: Pair
    question: str
    answer: str
    context: str
    words: frozenset[str]


def prepared(source: Any) -> list[Prepared]:
    """Normalised pairs of `source` (a LeafSource), cached on it: two rules use them."""
    cached = source.__dict__.get("_prepared")
    if cached is None:
        cached = []
        for pair in pairs(source.data):
            question, answer = normalise(pair.question), normalise(pair.answer)
            cached.append(
                Prepared(
                    pair, question, answer, normalise(pair.context), frozenset(f"{question} {answer}".split())
                )
            )
        source.__dict__["_prepared"] = cached
    return cached
