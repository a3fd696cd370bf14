"""What the stages pass along: generated items, and parsing of the teacher's replies.

A reply that does not parse (missing tag, empty part) gives None, never an exception:
the stage drops it and counts it as "unparseable".
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from labtax.generate.dedup import NearDuplicates
from labtax.taxonomy import Leaf, SeedExample

# Reasons an item is dropped (keys of the manifest's "dropped" counts).
UNPARSEABLE = "unparseable"
NEAR_DUPLICATE = "near_duplicate"
REJECTED = "rejected"
BELOW_THRESHOLD = "below_threshold"

_TAGS = ("Context", "Instruction", "Question", "Answer")


@dataclass
class Item:
    """One synthetic example on its way through the stages."""

    sample: int
    question: str
    answer: str = ""
    context: str | None = None
    source: str | None = None
    scores: dict[str, Any] = field(default_factory=dict)
    choices: tuple[str, ...] = ()  # multiple-choice eval items: the four options ...
    correct: int | None = None  # ... and the index of the right one (`answer` holds its text)
    # knowledge: "abstractive" (the teacher's answer) or "extractive" (copied from the chunk)
    answers: str | None = None
    made_by: str | None = None  # multiple-choice eval items: "teacher" (None) or "cloze"


def parse_tagged(text: str, tags: tuple[str, ...]) -> dict[str, str] | None:
    """Split "Tag: value" sections; every tag of `tags` must be present once, non-empty, in order.

    Text after the last wanted section is cut at the next known tag (the model started a second item).
    """
    pattern = re.compile(rf"^\s*\**({'|'.join(_TAGS)})\**\s*:", re.IGNORECASE | re.MULTILINE)
    marks = [(m.group(1).capitalize(), m.start(), m.end()) for m in pattern.finditer(text)]
    found: dict[str, str] = {}
    position = 0
    for tag in tags:
        index = next((i for i in range(position, len(marks)) if marks[i][0] == tag), None)
        if index is None or index != position:
            return None
        end = marks[index + 1][1] if index + 1 < len(marks) else len(text)
        value = text[marks[index][2] : end].strip()
        if not value:
            return None
        found[tag.lower()] = value
        position = index + 1
    return found


def pick_seeds(leaf: Leaf, count: int, seed: int, sample: int) -> list[SeedExample]:
    """The seed examples shown in one prompt: a per-sample draw from this leaf only (taxonomy-driven
    sampling)."""
    rng = random.Random(f"{seed}\0{leaf.path}\0{sample}")
    seeds = list(leaf.seed_examples)
    return rng.sample(seeds, k=min(count, len(seeds)))


def seed_fields(seeds: list[SeedExample]) -> list[dict[str, str | None]]:
    """Seed examples as template data (plain values, never template code)."""
    return [{"question": s.question, "answer": s.answer, "context": s.context} for s in seeds]


def parse_reply(text: str, tags: tuple[str, ...]) -> dict[str, str] | None:
    """`parse_tagged`, leniently: a reply that left out its first tag (a teacher that answers
    "Write a haiku about rain." when asked to start with "Instruction:") still parses."""
    parsed = parse_tagged(text, tags)
    if parsed is None and tags and text.strip():
        parsed = parse_tagged(f"{tags[0]}:\n{text.strip()}", tags)
    return parsed


def keep_new(
    replies: list[str],
    tags: tuple[str, ...],
    stage: Any,
    dedup: NearDuplicates,
    question_of: Callable[[dict[str, str]], str],
    make_item: Callable[[int, str, Any], Item],
    first: int = 0,
    parse: Callable[[str], Any] | None = None,
) -> list[Item]:
    """The replies that parse (every tag of `tags`, or by `parse`) and whose question is no
    near-duplicate of a seed or of an earlier reply, as items; the others are counted as dropped on
    `stage` (a StageStats). Replies are samples `first`, `first + 1`, ... taken in sample order, so
    the filter is deterministic."""
    kept = []
    for sample, reply in enumerate(replies, first):
        stage.generated += 1
        parsed = parse(reply) if parse else parse_reply(reply, tags)
        if parsed is None:
            stage.drop(UNPARSEABLE, raw=reply, sample=sample)
            continue
        question = question_of(parsed)
        item = make_item(sample, question, parsed)
        original = dedup.closest(question)
        if original is not None:
            stage.drop(NEAR_DUPLICATE, item, duplicate_of=original)
            continue
        dedup.add(question)
        kept.append(item)
    stage.kept += len(kept)
    return kept
