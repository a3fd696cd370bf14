"""Knowledge-SDG: grounded question/answer pairs from a leaf's documents, then two judges.

1. generate_qa: sample i writes one question and answer grounded in chunk i mod n (so the
   work is spread over the document), with the leaf's seed Q&A as examples; near-duplicate
   questions are dropped.
2. evaluate_faithfulness: is every fact of the answer in the chunk? (yes/no)
3. evaluate_relevance: is the question about the chunk's subject, answered by it? (yes/no)
Records keep the chunk they were grounded in.
"""

from __future__ import annotations

from typing import Any

from labtax.generate.calls import Caller, LeafStats, gather
from labtax.generate.dedup import NearDuplicates
from labtax.generate.documents import Chunk
from labtax.generate.items import (
    Item,
    keep_new,
    pick_seeds,
    seed_fields,
)
from labtax.generate.judge import judge_yes_no
from labtax.generate.rounds import in_rounds
from labtax.taxonomy import Leaf

STAGES = ("generate_qa", "evaluate_faithfulness", "evaluate_relevance")


async def generate_qa(leaf: Leaf, chunks: list[Chunk], caller: Caller, settings: dict[str, Any], stats: LeafStats, dedup: NearDuplicates, first: int, count: int) -> list[Item]:
    """Samples first .. first+count-1; `dedup` holds the seed questions and those of earlier rounds."""
    stage = stats.stage(STAGES[0])

    async def one(sample: int) -> str:
        chunk = chunks[sample % len(chunks)]
        seeds = pick_seeds(leaf, int(settings["seeds_per_prompt"]), caller.seed, sample)
        fields = {"domain": leaf.domain or "", "document_outline": leaf.document_outline or "", "chunk": chunk.text, "seeds": seed_fields(seeds)}
        return await caller.complete(STAGES[0], fields, sample=sample, max_tokens=int(settings["max_tokens"]["qa"]), stats=stats)

    replies = await gather(one(i) for i in range(first, first + count))

    def grounded_item(sample: int, question: str, parsed: dict[str, str]) -> Item:
        chunk = chunks[sample % len(chunks)]  # the chunk sample `sample` was asked about
        return Item(sample, question, parsed["answer"], context=chunk.text, source=chunk.source)

    return keep_new(replies, ("Question", "Answer"), stage, dedup, question_of=lambda parsed: parsed["question"], make_item=grounded_item, first=first)


async def evaluate_faithfulness(items: list[Item], caller: Caller, stats: LeafStats) -> list[Item]:
    def fields(item: Item) -> dict[str, Any]:
        return {"chunk": item.context, "question": item.question, "answer": item.answer}

    return await judge_yes_no(STAGES[1], items, caller, stats, fields_of=fields, score="faithfulness", content=("answer",))


async def evaluate_relevance(leaf: Leaf, items: list[Item], caller: Caller, stats: LeafStats) -> list[Item]:
    def fields(item: Item) -> dict[str, Any]:
        return {"domain": leaf.domain or "", "document_outline": leaf.document_outline or "", "chunk": item.context, "question": item.question}

    return await judge_yes_no(STAGES[2], items, caller, stats, fields_of=fields, score="relevance", content=("question",))


async def run_knowledge(leaf: Leaf, chunks: list[Chunk], caller: Caller, settings: dict[str, Any], stats: LeafStats) -> list[Item]:
    """The knowledge stages for one leaf, in rounds (see rounds.py); the surviving items in sample order."""
    if not chunks:
        return []
    dedup = NearDuplicates(float(settings["dedup_threshold"]), [s.question for s in leaf.seed_examples])

    async def one_round(first: int, count: int) -> list[Item]:
        items = await generate_qa(leaf, chunks, caller, settings, stats, dedup, first, count)
        items = await evaluate_faithfulness(items, caller, stats)
        return await evaluate_relevance(leaf, items, caller, stats)

    return await in_rounds(one_round, settings, stats)
