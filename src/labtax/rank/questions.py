"""The questions `labtax rank` ranks answers to, read from one leaf's generate output.

A question is a prompt (the chat turns before the answer, as the training records hold them). Its
known answers: the teacher's kept answer (`<leaf>.jsonl`) and the answers a judge rated low
(`<leaf>.dropped.jsonl`, stages evaluate_pairs and evaluate_faithfulness). A judge drops the whole
pair, so most dropped answers belong to questions no record keeps: those questions are ranked too
(their answers are the negatives a reward model most needs), with the teacher's first further
sample as their reference. Answers are grouped by question id, so a dropped answer to a kept
question joins that question's candidates.

The test questions are generate's held-out prompts (`eval/<leaf>.heldout.jsonl`, skill leaves only),
which `labtax mix` never trains on: each is a question whose known answer is its held-out reference
(the teacher's kept answer, set aside). A held-out prompt that a kept record also asks has been
trained on, so it stays that record's question (generate's clean sets and mix's refusal make this
rare).
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
# Where a question comes from (a pair's provenance.question): rebuilding the splits reads it, so a
# held-out prompt stays in test and no other question ever lands there.
RECORD, HELDOUT = "record", "heldout"


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
    heldout: bool = False  # a held-out prompt of generate, never trained on: a test question

    @property
    def user_turn(self) -> str:
        return self.prompt[-1]["content"]

    @property
    def origin(self) -> str:
        """heldout (a held-out prompt), record (a kept record's) or dropped (only a judge's drop holds it)."""
        return HELDOUT if self.heldout else RECORD if self.reference is not None else DROPPED


def question_id(leaf_path: str, prompt: list[dict[str, str]]) -> str:
    """Stable id of a question: its leaf and its prompt (every pair of a question shares a split)."""
    blob = json.dumps([leaf_path, prompt], ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:32]


def read_questions(leaf: Leaf, records: Path, heldout: Path | None = None) -> list[Question] | None:
    """The leaf's questions in file order (kept records, then held-out prompts from `heldout` where
    that file exists, then dropped answers' questions), or None when generate wrote no records file
    for it (the leaf was never generated)."""
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
    if heldout is not None and heldout.is_file():
        _add_heldout(questions, leaf, heldout)
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


def _add_heldout(questions: dict[str, Question], leaf: Leaf, path: Path) -> None:
    """The held-out prompts of `path` as test questions, their reference the teacher's kept answer."""
    for lineno, row in _rows(path, "eval-item.schema.json", "eval-item"):
        prompt = row.get("prompt") or []
        if row.get("set") != "skills" or prompt[-1]["role"] != "user":
            raise LabtaxError(
                f'{path}:{lineno}:1: error[eval-item] a held-out item needs "set": "skills", '
                "a prompt ending on a user turn and a reference"
            )
        key = question_id(leaf.path, prompt)
        if key in questions:  # a kept record asks it (trained on: no test question), or an earlier item
            continue
        question = _question_of(leaf, prompt[-1]["content"], row.get("context"))
        _add(
            questions,
            leaf,
            prompt,
            question,
            row.get("context"),
            Candidate(row["reference"], TEACHER),
            reference=row["reference"],
        )
        questions[key].heldout = True


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
