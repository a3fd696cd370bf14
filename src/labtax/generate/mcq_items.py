"""Knowledge eval items: multiple-choice questions written from a leaf's document chunks.

1. generate_mcq: sample i writes one question with four options A-D and the letter of the
   correct one, grounded in chunk i mod n. The options are then shuffled with a per-sample
   seed, so the correct letter is spread evenly (a teacher that always marks "A" would
   otherwise hand a student that always answers "A" full marks).
2. evaluate_mcq: is the item answerable from the chunk, with exactly the marked option correct?

Generation runs in rounds: each round asks for the items still missing, scaled by the
previous round's yield, until `eval.mcq_per_leaf` items pass or `eval.mcq_max_candidates`
candidates were written. Sample numbers continue across rounds, so every call is cached and a
rerun or a resume asks nothing twice. A reply whose question copies a prompt template's text (the
format example of generate_mcq.j2, the judge's principles) is dropped as `copies_template`
(heldout.py) before it is judged.

3. cloze (cloze.py): where the teacher's rounds end short of `eval.mcq_per_leaf` (a weak teacher,
   or its budget spent), cloze items built from the leaf's document fill the rest, with no call
   (`eval.mcq_cloze`, default true). Each item says how it was made (`made_by`).

These items are written under `<output>/eval/` and are never trained on.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from labtax.generate import cloze
from labtax.generate.clean_sets import CLEAN_STAGE, IN_TRAINING
from labtax.generate.dedup import NearDuplicates
from labtax.generate.documents import Chunk
from labtax.generate.filters import judge_yes_no
from labtax.generate.heldout import COPIES_TEMPLATE, copies_template
from labtax.generate.items import Item, keep_new
from labtax.generate.stats import LeafStats
from labtax.models.calls import Caller, gather
from labtax.taxonomy import Leaf

STAGES = ("generate_mcq", "evaluate_mcq")
LETTERS = "ABCD"
MIN_YIELD = 0.25  # the yield assumed when planning a round after a round that kept nothing

# "A. x", "(b) x", "Option C: x"
_OPTION = re.compile(r"^\s*\**(?:[Oo]ption\s+)?\(?([A-Da-d])[.):]\**\s+(.+?)\s*$", re.MULTILINE)
_ANSWER = re.compile(
    r"^\s*\**(?:correct\s+)?answer\**\s*[:\-]\s*\**\s*\(?([A-Da-d])\b", re.IGNORECASE | re.MULTILINE
)


@dataclass(frozen=True)
class McqOutcome:
    """The kept items of a leaf and how the rounds went (for the manifest)."""

    items: list[Item]
    target: int
    candidates: int
    rounds: int
    cloze: int = 0  # of `items`, those built from the document (the rest the teacher wrote)

    @property
    def made_by(self) -> dict[str, int]:
        return {"teacher": len(self.items) - self.cloze, "cloze": self.cloze}

    @property
    def target_met(self) -> bool:
        return len(self.items) >= self.target

    def as_dict(self, budget: int) -> dict[str, Any]:
        return {
            "target": self.target,
            "kept": len(self.items),
            "candidates": self.candidates,
            "rounds": self.rounds,
            "target_met": self.target_met,
            "budget": budget,
            "budget_spent": not self.target_met and self.candidates >= budget,
        }


def parse_mcq(text: str) -> tuple[str, list[str], int] | None:
    """(question, four options, index of the correct one) from "Question: ...\\nA. ...\\n...\\nAnswer: C";
    None when any part is missing, an option repeats, or the letters are not A to D in order."""
    body = re.sub(r"^\s*\**question\**\s*:", "", text.strip(), count=1, flags=re.IGNORECASE)
    options = _OPTION.findall(body)[:4]
    answer = _ANSWER.search(body)
    if len(options) < 4 or answer is None or [letter.upper() for letter, _ in options] != list(LETTERS):
        return None
    question = body[: _OPTION.search(body).start()].strip()  # type: ignore[union-attr]
    choices = [value.strip() for _, value in options]
    if not question or len({c.lower() for c in choices}) < 4:
        return None
    return question, choices, LETTERS.index(answer.group(1).upper())


def shuffled(choices: list[str], answer: int, key: str) -> tuple[list[str], int]:
    """The options in a seeded random order, and where the correct one went."""
    order = list(range(len(choices)))
    random.Random(key).shuffle(order)
    return [choices[i] for i in order], order.index(answer)


async def generate_mcq(
    leaf: Leaf, chunks: list[Chunk], caller: Caller, samples: range, max_tokens: int, stats: LeafStats
) -> list[str]:
    """The teacher's replies for `samples` (sample i is grounded in chunk i mod n)."""
    stats.stage(STAGES[0])

    async def one(sample: int) -> str:
        chunk = chunks[sample % len(chunks)]
        fields = {
            "domain": leaf.domain or "",
            "document_outline": leaf.document_outline or "",
            "chunk": chunk.text,
        }
        return await caller.complete(STAGES[0], fields, sample=sample, max_tokens=max_tokens, stats=stats)

    return await gather(one(i) for i in samples)


def keep_parsed(
    leaf: Leaf,
    chunks: list[Chunk],
    replies: list[str],
    first: int,
    seed: int,
    dedup: NearDuplicates,
    stats: LeafStats,
    templates: Path,
) -> list[Item]:
    """Replies that parse into a new (not near-duplicate) item copying no template (of the prompts
    folder `templates`), with shuffled options."""

    def make_item(sample: int, question: str, parsed: tuple[str, list[str], int]) -> Item:
        choices, answer = shuffled(parsed[1], parsed[2], f"{seed}\0{leaf.path}\0mcq\0{sample}")
        chunk = chunks[sample % len(chunks)]
        return Item(
            sample,
            question,
            choices[answer],
            context=chunk.text,
            source=chunk.reference,
            choices=tuple(choices),
            correct=answer,
        )

    stage = stats.stage(STAGES[0])
    kept: list[Item] = []
    for sample, reply in enumerate(replies, first):  # one at a time: a template copy is dropped first
        parsed = parse_mcq(reply)
        if parsed is not None and copies_template(parsed[0], templates):
            stage.generated += 1
            stage.drop(COPIES_TEMPLATE, make_item(sample, parsed[0], parsed))
            continue
        kept += keep_new(
            [reply],
            (),
            stage,
            dedup,
            question_of=lambda parsed: parsed[0],
            make_item=make_item,
            first=sample,
            parse=parse_mcq,
        )
    return kept


async def evaluate_mcq(items: list[Item], caller: Caller, stats: LeafStats) -> list[Item]:
    def fields(item: Item) -> dict[str, Any]:
        return {
            "chunk": item.context,
            "question": item.question,
            "choices": list(item.choices),
            "answer": item.answer,
        }

    # judge() counts generated and dropped items across calls but sets `kept` to this round's.
    earlier = stats.stages[STAGES[1]].kept if STAGES[1] in stats.stages else 0
    kept = await judge_yes_no(
        STAGES[1], items, caller, stats, fields_of=fields, score="mcq", content=("question",)
    )
    stats.stages[STAGES[1]].kept += earlier
    return kept


def round_size(missing: int, kept: int, tried: int, budget_left: int) -> int:
    """Candidates to ask for next: the missing items divided by the yield so far."""
    rate = max(kept / tried, MIN_YIELD) if tried else 1.0
    return max(0, min(budget_left, math.ceil(missing / rate)))


async def run_mcq(
    leaf: Leaf,
    chunks: list[Chunk],
    caller: Caller,
    settings: dict[str, Any],
    stats: LeafStats,
    clean: Callable[[Sequence[str]], bool] | None = None,
) -> McqOutcome:
    """Rounds of generate_mcq + evaluate_mcq until the leaf has its items or the budget is spent;
    `clean` (clean_sets.clean_test) leaves out items the leaf's own training data holds."""
    target, budget = int(settings["mcq_per_leaf"]), int(settings["mcq_max_candidates"])
    dedup = NearDuplicates(float(settings["dedup_threshold"]), [s.question for s in leaf.seed_examples])
    kept: list[Item] = []
    tried = rounds = 0
    while (
        chunks
        and len(kept) < target
        and (size := round_size(target - len(kept), len(kept), tried, budget - tried)) > 0
    ):
        samples = range(tried, tried + size)
        replies = await generate_mcq(leaf, chunks, caller, samples, int(settings["mcq_max_tokens"]), stats)
        candidates = keep_parsed(
            leaf, chunks, replies, tried, caller.seed, dedup, stats, caller.templates.folder
        )
        kept += _clean(await evaluate_mcq(candidates, caller, stats), clean, stats)
        tried, rounds = tried + size, rounds + 1
    kept = kept[:target]
    filled = (
        cloze_filled(leaf, chunks, target - len(kept), caller.seed, stats, clean)
        if settings.get("mcq_cloze", True)
        else []
    )
    return McqOutcome(kept + filled, target, tried, rounds, len(filled))


def _clean(items: list[Item], clean: Callable[[Sequence[str]], bool] | None, stats: LeafStats) -> list[Item]:
    """The teacher's items that the leaf's training data does not hold (the others counted as dropped)."""
    if clean is None:
        return items
    stage = stats.stage(CLEAN_STAGE)
    kept = []
    for item in items:
        stage.generated += 1
        if clean((item.question, item.answer)):
            kept.append(item)
            stage.kept += 1
        else:
            stage.drop(IN_TRAINING, item)
    return kept


def cloze_filled(
    leaf: Leaf,
    chunks: list[Chunk],
    wanted: int,
    seed: int,
    stats: LeafStats,
    clean: Callable[[Sequence[str]], bool] | None = None,
) -> list[Item]:
    """`wanted` cloze items (fewer when the document has fewer) with their options shuffled."""
    key = f"{seed}\0{leaf.path}"
    stage = stats.stage(cloze.STAGE)
    items = cloze.cloze_items(chunks, wanted, key, stage, clean) if wanted > 0 else []
    shuffled_items = []
    for item in items:
        choices, answer = shuffled(list(item.choices), 0, f"{key}\0cloze\0{item.sample}")
        shuffled_items.append(replace(item, choices=tuple(choices), correct=answer))
    return shuffled_items
