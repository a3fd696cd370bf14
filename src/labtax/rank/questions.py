"""The questions `labtax rank` ranks answers to, read from one leaf's generate output.

A question is a prompt (the chat turns before the answer, as the training records hold them). Its
known answers: the teacher's kept answer (`<leaf>.jsonl`) and the answers a judge rated low
(`<leaf>.dropped.jsonl`, stages evaluate_pairs and evaluate_faithfulness). A judge drops the whole
pair, so most dropped answers belong to questions no record keeps: those questions are ranked too
(their answers are the negatives a reward model most needs), with the teacher's first further
sample as their reference. Answers are grouped by question id, so a dropped answer to a kept
question joins that question's candidates.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labtax.errors import LabtaxError
from labtax.generate.output import dropped_path
from labtax.schemas import checked_rows
from labtax.taxonomy import Leaf, chat_messages

# Stages whose drops are a question with an answer a judge found wanting (other drops have no
# answer yet, or a question that is itself bad: not a question worth ranking answers to).
JUDGED_ANSWER_STAGES = ("evaluate_pairs", "evaluate_faithfulness")
TEACHER, DROPPED, STUDENT = "teacher", "dropped", "student"


@dataclass(frozen=True)
class Candidate:
    """One answer and where it came from: teacher, teacher@T (a further sample), dropped, student."""

    text: str
    source: str


@dataclass
class Question:
    """A prompt and its answers so far; `reference` is the teacher's kept answer (None until a
    question without one gets its first further sample)."""

    leaf: str
    question_id: str
    prompt: list[dict[str, str]]
    question: str  # the instruction or question alone (a grounded skill's context is in `context`)
    context: str | None  # a grounded skill's context, a knowledge question's chunk
    reference: str | None
    knowledge: bool = False
    known: list[Candidate] = field(default_factory=list)

    @property
    def user_turn(self) -> str:
        return self.prompt[-1]["content"]


def question_id(leaf_path: str, prompt: list[dict[str, str]]) -> str:
    """Stable id of a question: its leaf and its prompt (every pair of a question shares a split)."""
    blob = json.dumps([leaf_path, prompt], ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:32]


def read_questions(leaf: Leaf, records: Path) -> list[Question] | None:
    """The leaf's questions in file order (kept records first), or None when generate wrote no
    records file for it (the leaf was never generated)."""
    if not records.is_file():
        return None
    questions: dict[str, Question] = {}
    for lineno, row in _rows(records, "record.schema.json", "record"):
        *prompt, answer = row["messages"]
        if answer["role"] != "assistant" or prompt[-1]["role"] != "user":
            raise LabtaxError(
                f"{records}:{lineno}:1: error[record] messages must end on a user turn "
                "and the assistant's answer"
            )
        question = _question_of(leaf, prompt[-1]["content"], row.get("context"))
        _add(
            questions,
            leaf,
            prompt,
            question,
            row.get("context"),
            Candidate(answer["content"], TEACHER),
            reference=answer["content"],
        )
    dropped = dropped_path(records)
    for _, row in _rows(dropped, "dropped.schema.json", "dropped") if dropped.is_file() else ():
        if (
            row["stage"] in JUDGED_ANSWER_STAGES
            and str(row.get("question") or "").strip()
            and str(row.get("answer") or "").strip()
        ):
            prompt = chat_messages(leaf, row["question"], row["answer"], row.get("context"))[:-1]
            _add(
                questions,
                leaf,
                prompt,
                row["question"],
                row.get("context"),
                Candidate(row["answer"], DROPPED),
                reference=None,
            )
    return list(questions.values())


def _add(
    questions: dict[str, Question],
    leaf: Leaf,
    prompt: list[dict[str, str]],
    question: str,
    context: str | None,
    answer: Candidate,
    reference: str | None,
) -> None:
    key = question_id(leaf.path, prompt)
    found = questions.setdefault(
        key, Question(leaf.path, key, prompt, question, context, reference, leaf.is_knowledge)
    )
    found.reference = found.reference or reference
    found.known.append(answer)


def _question_of(leaf: Leaf, user: str, context: str | None) -> str:
    """The instruction alone: a grounded skill's user turn is its context, a blank line, the instruction."""
    return user.removeprefix(f"{context}\n\n") if context and not leaf.is_knowledge else user


def _rows(path: Path, schema: str, rule: str) -> Any:
    """(line, row) of a JSONL file, each checked against `schema`; the first bad line is a located error."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise LabtaxError(f"{path}: error[{rule}] not UTF-8 text (byte {exc.start})") from None
    yield from checked_rows(
        text, str(path), schema, rule, advice="; run `labtax generate` for this leaf again"
    )
