"""A question's candidate answers: the known ones (teacher's kept answer, the judge's dropped
answer), the student's greedy answer, then further teacher samples until there are K.

A skills sample is asked exactly as generate asked the kept answer (the leaf's response persona
template, the leaf's seed examples) at another temperature; a knowledge sample answers the
question from its chunk (prompts/rank_answer.j2). Identical answers count once, so no pair
ever has the same text on both sides.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from labtax.generate import skills
from labtax.generate.items import parse_reply, pick_seeds, seed_fields
from labtax.models.cache import CallCache
from labtax.models.calls import Caller, CallStats, Progress, gather
from labtax.models.student import Student, cached_answers
from labtax.rank.questions import STUDENT, TEACHER, Candidate, Question
from labtax.taxonomy import Leaf

KNOWLEDGE_STAGE = "rank_answer"
STUDENT_STAGE = "student answers"
STUDENT_BATCH = 8


@dataclass(frozen=True)
class Candidates:
    """The answers to rank (distinct texts, at most K) and the row's reference: the teacher's kept
    answer, else (a question only the judge's drop holds) its first further teacher sample."""

    answers: list[Candidate]
    reference: str | None


def samples_wanted(question: Question, student: str | None, count: int) -> int:
    """Further teacher samples to ask: enough for `count` distinct candidates with the known answers
    and the student's, and at least one for a question without a kept answer (it becomes the reference)."""
    have = len(distinct([*question.known, *([Candidate(student, STUDENT)] if student is not None else [])]))
    return max(count - have, 0 if question.reference is not None else 1)


async def gather_candidates(
    leaf: Leaf,
    question: Question,
    caller: Caller,
    settings: dict[str, Any],
    generate: dict[str, Any],
    stats: CallStats,
    student: str | None,
) -> Candidates:
    """The question's candidates; `settings` is the rank section, `generate` the generate section."""
    temperatures = [float(t) for t in settings["temperatures"]]
    count = samples_wanted(question, student, int(settings["candidates"]))
    texts = await gather(
        _sample(
            leaf,
            question,
            caller,
            generate,
            stats,
            i,
            temperatures[i % len(temperatures)],
            int(settings["max_tokens"]),
        )
        for i in range(count)
    )
    samples = [
        Candidate(text, f"{TEACHER}@{temperatures[i % len(temperatures)]}") for i, text in enumerate(texts)
    ]
    reference = question.reference or next((s.text for s in samples if s.text.strip()), None)
    first = samples[:1] if question.reference is None else []  # the reference is always a candidate
    ordered = [
        *first,
        *question.known,
        *([Candidate(student, STUDENT)] if student is not None else []),
        *samples,
    ]
    return Candidates(distinct(ordered)[: int(settings["candidates"])], reference)


def distinct(candidates: list[Candidate]) -> list[Candidate]:
    """Non-blank candidates, the first of each text (compared without surrounding whitespace)."""
    seen: set[str] = set()
    kept = []
    for candidate in candidates:
        key = candidate.text.strip()
        if key and key not in seen:
            seen.add(key)
            kept.append(Candidate(key, candidate.source))
    return kept


async def _sample(
    leaf: Leaf,
    question: Question,
    caller: Caller,
    generate: dict[str, Any],
    stats: CallStats,
    sample: int,
    temperature: float,
    max_tokens: int,
) -> str:
    """One further teacher answer ("" when the reply holds none)."""
    if leaf.is_knowledge:
        fields = {
            "domain": leaf.domain or "",
            "document_outline": leaf.document_outline or "",
            "chunk": question.context or "",
            "question": question.question,
        }
        reply = await caller.complete(
            KNOWLEDGE_STAGE,
            fields,
            sample=sample,
            max_tokens=max_tokens,
            stats=stats,
            temperature=temperature,
        )
    else:
        seeds = pick_seeds(leaf, int(generate["seeds_per_prompt"]), caller.seed, sample)
        fields = {
            "task_description": leaf.task_description or "",
            "seeds": seed_fields(seeds),
            "instruction": question.question,
            "context": question.context,
        }
        template = skills.persona_template(skills.persona_of(leaf, generate))
        reply = await caller.complete(
            skills.STAGES[2],
            fields,
            sample=sample,
            max_tokens=max_tokens,
            stats=stats,
            template=template,
            temperature=temperature,
        )
    parsed = parse_reply(reply, ("Answer",))
    return parsed["answer"] if parsed else ""


def student_answers(
    spec: str, questions: list[Question], max_tokens: int, cache: CallCache, progress: Progress
) -> dict[str, str]:
    """The student's greedy answer to each question (by question id). Answers this checkpoint gave
    before come from the cache, under the key `labtax eval` uses for the same answer."""
    student = Student.load(spec)
    answers = cached_answers(
        student, [q.prompt for q in questions], max_tokens, STUDENT_BATCH, cache, progress, STUDENT_STAGE
    )
    return {q.question_id: answer for q, answer in zip(questions, answers, strict=True)}
