"""Knowledge-SDG: grounded question/answer pairs from a leaf's documents, then two judges.

1. generate_qa: sample i writes one question and answer grounded in chunk i mod n (so the
   work is spread over the document), with the leaf's seed Q&A as examples; near-duplicate
   questions are dropped. Extractive answers (answer first): sample i copies a fact (facts.py)
   from chunk i mod n as the answer and the teacher writes only the question.
2. evaluate_faithfulness: is every fact of the answer in the chunk? (yes/no). An extractive
   answer is the chunk's own words: faithful by construction, no call.
3. evaluate_relevance: is the question about the chunk's subject, answered by it? (yes/no); for an
   extractive item: answered by the copied sentence?
Records keep the chunk they were grounded in. Chunks too long for the teacher's context window
(with the prompt and max_tokens.qa) are split first.

`knowledge_answers: auto` starts abstractive and turns extractive for the rest of a leaf's rounds
once a round ends with the leaf still empty: a teacher too weak to restate facts faithfully (the
judge rejects its answers) still gives grounded records, a strong one keeps LAB's abstractive data.
"""

from __future__ import annotations

import asyncio
from typing import Any

from labtax.errors import LabtaxError
from labtax.generate.dedup import NearDuplicates
from labtax.generate.documents import Chunk, fit_chunks
from labtax.generate.facts import facts, pick_fact
from labtax.generate.filters import judge_yes_no
from labtax.generate.items import (
    Item,
    keep_new,
    pick_seeds,
    seed_fields,
)
from labtax.generate.rounds import in_rounds
from labtax.generate.stats import LeafStats
from labtax.models.calls import Caller, gather
from labtax.taxonomy import Leaf

STAGES = ("generate_qa", "evaluate_faithfulness", "evaluate_relevance")
EXTRACTIVE_TEMPLATE = "generate_qa_extractive"
DEFAULT_CONTEXT_TOKENS = 4096  # a server that does not say its context window
MIN_PASSAGE_TOKENS = 16


async def generate_qa(
    leaf: Leaf,
    chunks: list[Chunk],
    caller: Caller,
    settings: dict[str, Any],
    stats: LeafStats,
    dedup: NearDuplicates,
    first: int,
    count: int,
) -> list[Item]:
    """Samples first .. first+count-1; `dedup` holds the seed questions and those of earlier rounds."""
    stage = stats.stage(STAGES[0])

    async def one(sample: int) -> str:
        chunk = chunks[sample % len(chunks)]
        seeds = pick_seeds(leaf, int(settings["seeds_per_prompt"]), caller.seed, sample)
        fields = {
            "domain": leaf.domain or "",
            "document_outline": leaf.document_outline or "",
            "chunk": chunk.text,
            "seeds": seed_fields(seeds),
        }
        return await caller.complete(
            STAGES[0], fields, sample=sample, max_tokens=int(settings["max_tokens"]["qa"]), stats=stats
        )

    replies = await gather(one(i) for i in range(first, first + count))

    def grounded_item(sample: int, question: str, parsed: dict[str, str]) -> Item:
        chunk = chunks[sample % len(chunks)]  # the chunk sample `sample` was asked about
        return Item(
            sample,
            question,
            parsed["answer"],
            context=chunk.text,
            source=chunk.reference,
            answers="abstractive",
        )

    # de-duplication is CPU work: off the event loop, so other leaves' calls keep flowing
    return await asyncio.to_thread(
        keep_new,
        replies,
        ("Question", "Answer"),
        stage,
        dedup,
        question_of=lambda parsed: parsed["question"],
        make_item=grounded_item,
        first=first,
    )


def fact_for(
    leaf: Leaf, chunks: list[Chunk], chunk_facts: list[list[str]], seed: int, sample: int
) -> tuple[Chunk, str]:
    """Sample i's chunk and fact: chunk i mod n (or the next one holding a fact), its facts walked
    round in a seeded order, one more fact per visit."""
    n = len(chunks)
    index = next(c % n for c in range(sample, sample + n) if chunk_facts[c % n])
    fact = pick_fact(chunk_facts[index], f"{seed}\0{leaf.path}\0{index}", sample // n)
    assert fact is not None  # chunk `index` holds facts
    return chunks[index], fact


async def generate_extractive(
    leaf: Leaf,
    chunks: list[Chunk],
    chunk_facts: list[list[str]],
    caller: Caller,
    settings: dict[str, Any],
    stats: LeafStats,
    dedup: NearDuplicates,
    first: int,
    count: int,
) -> list[Item]:
    """Samples first .. first+count-1, answer first: a fact copied from a chunk, and the teacher's
    question to it."""
    stage = stats.stage(STAGES[0])
    picked = {i: fact_for(leaf, chunks, chunk_facts, caller.seed, i) for i in range(first, first + count)}

    async def one(sample: int) -> str:
        fields = {
            "domain": leaf.domain or "",
            "document_outline": leaf.document_outline or "",
            "fact": picked[sample][1],
        }
        return await caller.complete(
            STAGES[0],
            fields,
            sample=sample,
            max_tokens=int(settings["max_tokens"]["question"]),
            stats=stats,
            template=EXTRACTIVE_TEMPLATE,
        )

    replies = await gather(one(i) for i in range(first, first + count))

    def extracted_item(sample: int, question: str, parsed: dict[str, str]) -> Item:
        chunk, fact = picked[sample]
        return Item(sample, question, fact, context=chunk.text, source=chunk.reference, answers="extractive")

    return await asyncio.to_thread(
        keep_new,
        replies,
        ("Question",),
        stage,
        dedup,
        question_of=lambda parsed: parsed["question"],
        make_item=extracted_item,
        first=first,
    )


def copied_faithfully(items: list[Item], stats: LeafStats) -> list[Item]:
    """Extractive answers pass the faithfulness stage without a call: they are the chunk's own words."""
    stage = stats.stage(STAGES[1])
    stage.generated += len(items)
    stage.kept += len(items)
    for item in items:
        item.scores["faithfulness"] = True
    return items


async def evaluate_faithfulness(items: list[Item], caller: Caller, stats: LeafStats) -> list[Item]:
    def fields(item: Item) -> dict[str, Any]:
        return {"chunk": item.context, "question": item.question, "answer": item.answer}

    return await judge_yes_no(
        STAGES[1], items, caller, stats, fields_of=fields, score="faithfulness", content=("answer",)
    )


async def evaluate_relevance(leaf: Leaf, items: list[Item], caller: Caller, stats: LeafStats) -> list[Item]:
    def fields(item: Item) -> dict[str, Any]:
        # judged on the copied sentence: a shorter, sharper prompt
        copied = item.answer if item.answers == "extractive" else ""
        return {
            "domain": leaf.domain or "",
            "document_outline": leaf.document_outline or "",
            "chunk": item.context,
            "question": item.question,
            "copied_answer": copied,
        }

    return await judge_yes_no(
        STAGES[2], items, caller, stats, fields_of=fields, score="relevance", content=("question",)
    )


def approx_tokens(text: str) -> int:
    """A token count that errs high: 3 UTF-8 bytes per token (English BPE averages about 4)."""
    return len(text.encode("utf-8")) // 3 + 1


def fit_to_context(leaf: Leaf, chunks: list[Chunk], caller: Caller, settings: dict[str, Any]) -> list[Chunk]:
    """The chunks, split where the generate_qa prompt with the leaf's longest seeds plus max_tokens.qa
    would not fit the teacher's context window (never truncated)."""
    context = caller.teacher.context_tokens or int(settings.get("context_tokens") or DEFAULT_CONTEXT_TOKENS)
    longest = sorted(leaf.seed_examples, key=lambda s: -len(s.question + s.answer + (s.context or "")))
    fields = {
        "domain": leaf.domain or "",
        "document_outline": leaf.document_outline or "",
        "chunk": "",
        "seeds": seed_fields(longest[: int(settings["seeds_per_prompt"])]),
    }
    prompt = approx_tokens(caller.templates.render(STAGES[0], **fields).text)
    budget = context - int(settings["max_tokens"]["qa"]) - prompt
    if budget < MIN_PASSAGE_TOKENS:
        raise LabtaxError(
            f"the teacher's context ({context} tokens) leaves {budget} tokens for a passage after the "
            f"prompt ({prompt}) and max_tokens.qa; "
            "raise generate.context_tokens or lower max_tokens.qa or seeds_per_prompt"
        )
    return fit_chunks(chunks, budget, approx_tokens)


async def run_knowledge(
    leaf: Leaf, chunks: list[Chunk], caller: Caller, settings: dict[str, Any], stats: LeafStats
) -> list[Item]:
    """The knowledge stages for one leaf, in rounds (see rounds.py); the surviving items in sample order."""
    if not chunks:
        return []
    chunks = fit_to_context(leaf, chunks, caller, settings)
    dedup = NearDuplicates(float(settings["dedup_threshold"]), [s.question for s in leaf.seed_examples])
    setting = str(settings["knowledge_answers"])
    # only where they may be copied
    chunk_facts = [] if setting == "abstractive" else [facts(chunk.text) for chunk in chunks]
    has_facts = any(chunk_facts)
    if setting == "extractive" and not has_facts:
        raise LabtaxError(
            "knowledge_answers is extractive, but the leaf's documents hold no prose sentence to copy "
            "as an answer (only headings, tables, formulas or fragments); "
            "set generate.knowledge_answers to auto or abstractive"
        )
    rounds: list[tuple[str, int]] = []  # (answers, kept) of each round so far

    async def one_round(first: int, count: int) -> list[Item]:
        answers = round_answers(setting, rounds, has_facts)
        if answers == "extractive":
            items = await generate_extractive(
                leaf, chunks, chunk_facts, caller, settings, stats, dedup, first, count
            )
            items = copied_faithfully(items, stats)
        else:
            items = await generate_qa(leaf, chunks, caller, settings, stats, dedup, first, count)
            items = await evaluate_faithfulness(items, caller, stats)
        items = await evaluate_relevance(leaf, items, caller, stats)
        rounds.append((answers, len(items)))
        return items

    return await in_rounds(one_round, settings, stats)


def round_answers(setting: str, rounds: list[tuple[str, int]], has_facts: bool) -> str:
    """How the next round writes its answers. auto: abstractive until a round ends with the leaf
    still empty, extractive from then on (when the documents hold facts to copy)."""
    if setting != "auto":
        return setting
    if has_facts and rounds and (rounds[-1][0] == "extractive" or not sum(kept for _, kept in rounds)):
        return "extractive"
    return "abstractive"
