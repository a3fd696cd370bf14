"""Skills-SDG: the four LAB stages for foundational and compositional leaves.

1. generate_instructions: one call per new instruction (the weak embedded model repeats its
   examples when asked for several at once); near-duplicates of the seeds or of earlier
   instructions are dropped (ROUGE-L).
2. evaluate_instructions: keep the instructions the teacher judges relevant, harmless, answerable.
3. generate_responses: answer each kept instruction in the style of the leaf's examples, as the
   leaf's persona (LAB's dual personas): precise, or creative (its own template and temperature)
   for the leaves generate.response_personas names.
4. evaluate_pairs: a 3-point rating; pairs below `pair_threshold` are dropped.
"""

from __future__ import annotations

import asyncio
from pathlib import PurePosixPath
from typing import Any

from labtax.generate.dedup import NearDuplicates
from labtax.generate.filters import judge, judge_yes_no
from labtax.generate.items import (
    BELOW_THRESHOLD,
    UNPARSEABLE,
    Item,
    keep_new,
    parse_tagged,
    pick_seeds,
    seed_fields,
)
from labtax.generate.rounds import in_rounds
from labtax.generate.stats import LeafStats
from labtax.models.calls import Caller, gather
from labtax.taxonomy import Leaf
from labtax.taxonomy.documents import glob_match

STAGES = ("generate_instructions", "evaluate_instructions", "generate_responses", "evaluate_pairs")
SCORES = ["1", "2", "3"]


async def generate_instructions(
    leaf: Leaf,
    caller: Caller,
    settings: dict[str, Any],
    stats: LeafStats,
    dedup: NearDuplicates,
    first: int,
    count: int,
) -> list[Item]:
    """Samples first .. first+count-1; `dedup` holds the seeds and the instructions of earlier rounds."""
    grounded = leaf.has_context
    stage = stats.stage(STAGES[0])

    async def one(sample: int) -> str:
        seeds = pick_seeds(leaf, int(settings["seeds_per_prompt"]), caller.seed, sample)
        fields = {
            "task_description": leaf.task_description or "",
            "seeds": seed_fields(seeds),
            "grounded": grounded,
        }
        return await caller.complete(
            STAGES[0],
            fields,
            sample=sample,
            max_tokens=int(settings["max_tokens"]["instruction"]),
            stats=stats,
        )

    replies = await gather(one(i) for i in range(first, first + count))
    return await asyncio.to_thread(  # de-duplication is CPU work: off the event loop, calls keep flowing
        keep_new,
        replies,
        ("Context", "Instruction") if grounded else ("Instruction",),
        stage,
        dedup,
        question_of=lambda parsed: _first_paragraph(parsed["instruction"]),
        make_item=lambda sample, question, parsed: Item(sample, question, context=parsed.get("context")),
        first=first,
    )


async def evaluate_instructions(
    leaf: Leaf, items: list[Item], caller: Caller, stats: LeafStats
) -> list[Item]:
    def fields(item: Item) -> dict[str, Any]:
        return {
            "task_description": leaf.task_description or "",
            "instruction": item.question,
            "context": item.context,
        }

    return await judge_yes_no(
        STAGES[1], items, caller, stats, fields_of=fields, score="instruction", content=("instruction",)
    )


def persona_of(leaf: Leaf, settings: dict[str, Any]) -> str:
    """The leaf's response persona: the first generate.response_personas pattern matching its folder
    (relative to the taxonomy root), else "precise"."""
    parts = PurePosixPath(leaf.folder).parts
    relative = "/".join(parts[parts.index(leaf.branch) :]) if leaf.branch in parts else leaf.folder
    return next(
        (
            persona
            for pattern, persona in settings["response_personas"].items()
            if glob_match(relative, pattern)
        ),
        "precise",
    )


def persona_template(persona: str) -> str:
    return STAGES[2] if persona == "precise" else f"{STAGES[2]}_{persona}"


async def generate_responses(
    leaf: Leaf, items: list[Item], caller: Caller, settings: dict[str, Any], stats: LeafStats
) -> list[Item]:
    stage = stats.stage(STAGES[2])
    template = persona_template(stats.persona or "precise")
    temperature = float(settings["sampling"]["creative_temperature"]) if stats.persona == "creative" else None

    async def one(item: Item) -> str:
        seeds = pick_seeds(leaf, int(settings["seeds_per_prompt"]), caller.seed, item.sample)
        fields = {
            "task_description": leaf.task_description or "",
            "seeds": seed_fields(seeds),
            "instruction": item.question,
            "context": item.context,
        }
        return await caller.complete(
            STAGES[2],
            fields,
            sample=item.sample,
            max_tokens=int(settings["max_tokens"]["response"]),
            stats=stats,
            template=template,
            temperature=temperature,
        )

    replies = await gather(one(item) for item in items)
    kept = []
    for item, reply in zip(items, replies, strict=True):
        stage.generated += 1
        answer = _strip_answer_tag(reply)
        if not answer:
            stage.drop(UNPARSEABLE, item, raw=reply)
            continue
        item.answer = answer
        kept.append(item)
    stage.kept += len(kept)
    return kept


async def evaluate_pairs(
    leaf: Leaf, items: list[Item], caller: Caller, settings: dict[str, Any], stats: LeafStats
) -> list[Item]:
    threshold = int(settings["pair_threshold"])

    def fields(item: Item) -> dict[str, Any]:
        return {
            "task_description": leaf.task_description or "",
            "instruction": item.question,
            "context": item.context,
            "response": item.answer,
        }

    return await judge(
        STAGES[3],
        items,
        caller,
        stats,
        fields_of=fields,
        options=SCORES,
        passes=lambda label: int(label) >= threshold,
        score="pair",
        value_of=int,
        failed_reason=BELOW_THRESHOLD,
        content=("response",),
    )


async def run_skills(leaf: Leaf, caller: Caller, settings: dict[str, Any], stats: LeafStats) -> list[Item]:
    """All four stages for one skills leaf, in rounds (see rounds.py); the surviving items in sample order."""
    dedup = NearDuplicates(float(settings["dedup_threshold"]), [s.question for s in leaf.seed_examples])
    stats.persona = persona_of(leaf, settings)

    async def one_round(first: int, count: int) -> list[Item]:
        items = await generate_instructions(leaf, caller, settings, stats, dedup, first, count)
        items = await evaluate_instructions(leaf, items, caller, stats)
        items = await generate_responses(leaf, items, caller, settings, stats)
        return await evaluate_pairs(leaf, items, caller, settings, stats)

    return await in_rounds(one_round, settings, stats)


def _strip_answer_tag(reply: str) -> str:
    """A response without a leading "Answer:" tag, cut where the model starts a new instruction."""
    text = reply.strip()
    parsed = parse_tagged(text, ("Answer",))
    if parsed is not None:
        return parsed["answer"]
    cut = parse_tagged("Answer: " + text, ("Answer",))
    return cut["answer"] if cut else ""


def _first_paragraph(text: str) -> str:
    """An instruction ends at the first blank line (what follows is the model talking on)."""
    return text.strip().split("\n\n", 1)[0].strip()
