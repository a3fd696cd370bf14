"""Judge scores (MT-Bench-style single-answer grading): a judge model grades each answer 1-10
against the constitution's principles and the reference answer (prompts/judge_answer.j2).

The grade is read by constrained choice over the labels "1".."10", through the same cached,
resumable caller as `labtax generate`: a rerun of an evaluation asks the judge nothing twice. The
labels are nested ("1" begins "10"): every backend splits the mass of a first "1" by what follows
it, so a reply "10" is a 10 (models/teacher.py `nested_options`; docs/eval.md, "How a 10 is read").
Where the judge's label log-probabilities are known, the probability-weighted mean grade is
reported beside the argmax: it separates answers a small judge would give the same label.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labtax.models.cache import CallCache
from labtax.models.calls import Caller, CallStats, Progress, gather
from labtax.models.registry import make_teacher
from labtax.models.teacher import LOGPROB_FLOOR
from labtax.models.templates import Templates

STAGE = "judge_answer"
GRADES = [str(g) for g in range(1, 11)]


@dataclass(frozen=True)
class Grade:
    grade: int | None  # the judge's label; None when its reply named none
    expected: float | None  # probability-weighted mean grade, where log-probabilities are known


def expected_grade(logprobs: dict[str, float] | None) -> float | None:
    """sum(p(g) * g) over the grades the judge scored, p renormalised over them."""
    known = {g: lp for g, lp in (logprobs or {}).items() if g in GRADES and lp > LOGPROB_FLOOR}
    if not known:
        return None
    top = max(known.values())
    weights = {g: math.exp(lp - top) for g, lp in known.items()}
    return sum(int(g) * w for g, w in weights.items()) / sum(weights.values())


def judge_section(generate: dict[str, Any], evaluation: dict[str, Any]) -> dict[str, Any]:
    """The teacher settings of the judge: generate's, with eval.judge / eval.judge_model when set."""
    section = dict(generate)
    if evaluation.get("judge"):
        section["teacher"] = evaluation["judge"]
        section["model"] = evaluation.get("judge_model")
    elif evaluation.get("judge_model"):
        section["model"] = evaluation["judge_model"]
    return section


class Judge:
    """Grades (question, reference, answer) triples; open with `async with`."""

    def __init__(
        self, section: dict[str, Any], cache: CallCache, prompts_dir: Path | None, progress: Progress
    ) -> None:
        self.teacher = make_teacher(section)
        self.caller = Caller(
            self.teacher,
            cache,
            Templates(prompts_dir),
            {"temperature": 0.0, "top_p": 1.0},
            int(section["seed"]),
            progress,
            calibrate=False,
        )
        self.stats = CallStats()

    async def __aenter__(self) -> Judge:
        await self.teacher.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.teacher.close()

    async def grade(self, question: str, reference: str, answer: str) -> Grade:
        fields = {"question": question, "reference": reference, "answer": answer or "(no answer)"}
        label, logprobs = await self.caller.choose_scored(STAGE, fields, GRADES, stats=self.stats)
        return Grade(int(label) if label in GRADES else None, expected_grade(logprobs))

    async def grade_all(self, triples: list[tuple[str, str, str]]) -> list[Grade]:
        return await gather(self.grade(*t) for t in triples)
