"""Knowledge-SDG: grounded question/answer pairs from a leaf's documents, then two judges.

1. generate_qa: sample i writes one question and answer grounded in chunk i mod n (so the
   work is spread over the document), with the leaf's seed Q&A as examples; near-duplicate
   questions are dropped.
2. evaluate_faithfulness: is every fact of the answer in the chunk? (yes/no)
3. evaluate_relevance: is the question about the chunk's subject, answered by it? (yes/no)
Records keep the chunk they were grounded in. Chunks too long for the teacher's context window
(with the prompt and max_tokens.qa) are split first.
"""

from __future__ import annotations

import asyncio
from typing import Any

from labtax.generate.calls import Caller, LeafStats, gather
from labtax.generate.dedup import NearDuplicates
from labtax.errors import LabtaxError
from labtax.generate.documents import Chunk, fit_chunks
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
DEFAULT_CONTEXT_TOKENS = 4096  # a server that does not say its context window
MIN_PASSAGE_TOKENS = 16


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
        return Item(sample, question, parsed["answer"], context=chunk.text, source=chunk.reference)

    # de-duplication is CPU work: off the event loop, so other leaves' calls keep flowing
    return await asyncio.to_thread(keep_new, replies, ("Question", "Answer"), stage, dedup, question_of=lambda parsed: parsed["question"], make_item=grounded_item, first=first)


async def evaluate_faithfulness(items: list[Item], caller: Caller, stats: LeafStats) -> list[Item]:
    def fields(item: Item) -> dict[str, Any]:
        return {"chunk": item.context, "question": item.question, "answer": item.answer}

    return await judge_yes_no(STAGES[1], items, caller, stats, fields_of=fields, score="faithfulness", content=("answer",))


async def evaluate_relevance(leaf: Leaf, items: list[Item], caller: Caller, stats: LeafStats) -> list[Item]:
    def fields(item: Item) -> dict[str, Any]:
        return {"domain": leaf.domain or "", "document_outline": leaf.document_outline or "", "chunk": item.context, "question": item.question}

    return await judge_yes_no(STAGES[2], items, caller, stats, fields_of=fields, score="relevance", content=("question",))


def approx_tokens(text: str) -> int:
    """A token count that errs high: 3 UTF-8 bytes per token (English BPE averages about 4)."""
    return len(text.encode("utf-8")) // 3 + 1


def fit_to_context(leaf: Leaf, chunks: list[Chunk], caller: Caller, settings: dict[str, Any]) -> list[Chunk]:
    """The chunks, split where the generate_qa prompt with the leaf's longest seeds plus max_tokens.qa
    would not fit the teacher's context window (never truncated)."""
    context = caller.teacher.context_tokens or int(settings.get("context_tokens") or DEFAULT_CONTEXT_TOKENS)
    longest = sorted(leaf.seed_examples, key=lambda s: -len(s.question + s.answer + (s.context or "")))
    fields = {"domain": leaf.domain or "", "document_outline": leaf.document_outline or "", "chunk": "",
              "seeds": seed_fields(longest[: int(settings["seeds_per_prompt"])])}
    prompt = approx_tokens(caller.templates.render(STAGES[0], **fields).text)
    budget = context - int(settings["max_tokens"]["qa"]) - prompt
    if budget < MIN_PASSAGE_TOKENS:
        raise LabtaxError(f"the teacher's context ({context} tokens) leaves {budget} tokens for a passage after the prompt ({prompt}) "
                          "and max_tokens.qa; raise generate.context_tokens or lower max_tokens.qa or seeds_per_prompt")
    return fit_chunks(chunks, budget, approx_tokens)


async def run_knowledge(leaf: Leaf, chunks: list[Chunk], caller: Caller, settings: dict[str, Any], stats: LeafStats) -> list[Item]:
    """The knowledge stages for one leaf, in rounds (see rounds.py); the surviving items in sample order."""
    if not chunks:
        return []
    chunks = fit_to_context(leaf, chunks, caller, settings)
    dedup = NearDuplicates(float(settings["dedup_threshold"]), [s.question for s in leaf.seed_examples])

    async def one_round(first: int, count: int) -> list[Item]:
        items = await generate_qa(leaf, chunks, caller, settings, stats, dedup, first, count)
        items = await evaluate_faithfulness(items, caller, stats)
        return await evaluate_relevance(leaf, items, caller, stats)

    return await in_rounds(one_round, settings, stats)
