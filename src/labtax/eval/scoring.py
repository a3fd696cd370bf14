"""Scoring models on evaluation sets: multiple choice, greedy answers graded by the judge, and the
metrics of a group of outcomes (overall, per leaf, per branch), with the leaves that regressed.

`labtax eval` (eval.run) and the training selectors (eval.checkpoint) both score through here.
"""

from __future__ import annotations

import asyncio
import gc
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from labtax.config import Config
from labtax.eval import mcq, reference
from labtax.eval.judge import Grade, Judge, judge_section
from labtax.eval.sets import McqItem, PromptItem
from labtax.models.cache import CallCache
from labtax.models.progress import StageProgress
from labtax.models.student import Student, cached_answers

SCORED = ("mcq_accuracy", "judge_score")  # the per-leaf scores watched for regressions


@dataclass(frozen=True)
class ModelSpec:
    name: str
    path: str
    phase: str  # "base", or the phase whose chosen checkpoint this is
    chosen: dict[str, Any] | None = None  # the run journal's record of why it was chosen


@dataclass
class Outcome:
    """One item answered by one model."""

    set: str
    leaf: str
    branch: str
    correct: bool | None = None  # multiple choice
    correct_cloze: bool | None = None  # multiple choice, cloze formulation (mcq.py)
    item: PromptItem | None = None  # prompts: what was asked
    answer: str = ""
    grade: Grade | None = None


@dataclass
class Sets:
    mcq: list[McqItem] = field(default_factory=list)
    benchmark: list[McqItem] = field(default_factory=list)
    prompts: list[PromptItem] = field(default_factory=list)
    # --reward-model: test prompts of `labtax rank`, answered, not judged
    reward: list[PromptItem] = field(default_factory=list)
    missing: list[dict[str, str]] = field(default_factory=list)


# ---- one model -----------------------------------------------------------------------------------


def score_model(
    spec: ModelSpec, sets: Sets, settings: dict[str, Any], cache: CallCache, progress: StageProgress
) -> list[Outcome]:
    """Multiple choice and answers of one model (the judge grades the answers later)."""
    student = Student.load(spec.path)
    try:
        outcomes = _choices(student, sets.mcq + sets.benchmark, settings, progress)
        asked = sets.prompts + sets.reward
        answers = cached_answers(
            student,
            [list(i.prompt) for i in asked],
            int(settings["max_answer_tokens"]),
            int(settings["batch_size"]),
            cache,
            progress,
        )
        outcomes += [
            Outcome(i.set, i.leaf, i.branch, item=i, answer=a) for i, a in zip(asked, answers, strict=True)
        ]
    finally:
        del student
        gc.collect()
    return outcomes


def _choices(
    student: Student, items: list[McqItem], settings: dict[str, Any], progress: StageProgress
) -> list[Outcome]:
    progress.planned("multiple choice", len(items))
    by_set: dict[str, list[McqItem]] = defaultdict(list)
    for item in items:
        by_set[item.set].append(item)
    outcomes = []
    for group in by_set.values():  # shots come from the same set and leaf
        shots, batch = int(settings["shots"]), int(settings["batch_size"])
        picks = mcq.predictions(student, group, shots, batch_size=batch)
        cloze = mcq.predictions(student, group, shots, batch_size=batch, cloze=True)
        outcomes += [
            Outcome(i.set, i.leaf, i.branch, correct=p == i.answer, correct_cloze=c == i.answer)
            for i, p, c in zip(group, picks, cloze, strict=True)
        ]
        for _ in group:
            progress.done("multiple choice")
    return outcomes


async def grade_answers(judge: Judge, outcomes: list[Outcome]) -> None:
    asked = [o for o in outcomes if o.item is not None and o.set != "reward"]  # the reward model scores those
    grades = await judge.grade_all([(o.item.question, o.item.reference, o.answer) for o in asked])  # type: ignore[union-attr]
    for outcome, grade in zip(asked, grades, strict=True):
        outcome.grade = grade


# ---- aggregation ---------------------------------------------------------------------------------


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def metrics(outcomes: list[Outcome]) -> dict[str, Any]:
    """The metrics of a group of outcomes; a metric with no items is null."""
    choices = [o.correct for o in outcomes if o.correct is not None and o.set != "benchmark"]
    bench = [o.correct for o in outcomes if o.correct is not None and o.set == "benchmark"]
    cloze = [o.correct_cloze for o in outcomes if o.correct_cloze is not None and o.set != "benchmark"]
    bench_cloze = [o.correct_cloze for o in outcomes if o.correct_cloze is not None and o.set == "benchmark"]
    answered = [o for o in outcomes if o.item is not None]
    grades = [float(o.grade.grade) for o in answered if o.grade and o.grade.grade is not None]
    weighted = [o.grade.expected for o in answered if o.grade and o.grade.expected is not None]
    answers, refs = [o.answer for o in answered], [o.item.reference for o in answered]  # type: ignore[union-attr]
    return {
        "mcq_accuracy": _mean([float(c) for c in choices]),
        "mcq_accuracy_cloze": _mean([float(c) for c in cloze]),
        "mcq_items": len(choices),
        "judge_score": _mean(grades),
        "judge_score_weighted": _mean(weighted),
        "judge_items": len(answered),
        "bleu": reference.bleu(answers, refs),
        **reference.rouge(answers, refs),
        "benchmark_accuracy": _mean([float(c) for c in bench]),
        "benchmark_accuracy_cloze": _mean([float(c) for c in bench_cloze]),
        "benchmark_items": len(bench),
    }


def _grouped(outcomes: list[Outcome], key: str) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        groups[getattr(o, key)].append(o)
    return {name: metrics(group) for name, group in sorted(groups.items())}


def model_entry(
    spec: ModelSpec, outcomes: list[Outcome], reward: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A model's eval.json entry: held-out sets (knowledge, skills) overall, per leaf and per branch;
    the seed examples on their own (trained on); benchmark subjects on their own; the reward
    deviation where a reward model scored its answers."""
    held_out = [o for o in outcomes if o.set in ("knowledge", "skills")]
    seeds = [o for o in outcomes if o.set == "seeds"]
    bench = [o for o in outcomes if o.set == "benchmark"]
    return {
        "name": spec.name,
        "path": spec.path,
        "phase": spec.phase,
        "chosen": spec.chosen,
        "metrics": {
            **metrics(held_out),
            **{k: v for k, v in metrics(bench).items() if k.startswith("benchmark")},
            "reward_deviation": None,
            **(reward or {}),
        },
        "by_leaf": _grouped(held_out, "leaf"),
        "by_branch": _grouped(held_out, "branch"),
        "seeds": {"metrics": metrics(seeds), "by_leaf": _grouped(seeds, "leaf")},
        "by_subject": _grouped(bench, "leaf"),
    }


def regressions(models: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Leaves whose score fell against the previous model (phase) or the base model; each model's
    by_leaf entries get a `regressed` list of the metrics that fell."""
    flags = []
    for index, model in enumerate(models[1:], 1):
        for against in {models[index - 1]["name"]: models[index - 1], models[0]["name"]: models[0]}.values():
            for leaf, scores in model["by_leaf"].items():
                before = against["by_leaf"].get(leaf, {})
                for metric in SCORED:
                    if (
                        scores.get(metric) is not None
                        and before.get(metric) is not None
                        and scores[metric] < before[metric]
                    ):
                        flags.append(
                            {
                                "model": model["name"],
                                "leaf": leaf,
                                "metric": metric,
                                "value": scores[metric],
                                "against": against["name"],
                                "before": before[metric],
                            }
                        )
                        scores.setdefault("regressed", [])
                        if metric not in scores["regressed"]:
                            scores["regressed"].append(metric)
    return flags


def make_judge(config: Config, settings: dict[str, Any], cache: CallCache, progress: StageProgress) -> Judge:
    section = judge_section(config.section("generate"), settings)
    prompts = config.prompts_dir
    if prompts is not None and not (prompts / "judge_answer.j2").is_file():
        prompts = None  # a user's own prompt folder without a judge prompt: the bundled one
    return Judge(section, cache, prompts, progress)


async def score_all(
    judge: Judge,
    models: list[ModelSpec],
    sets: Sets,
    settings: dict[str, Any],
    cache: CallCache,
    progress: StageProgress,
) -> list[tuple[ModelSpec, list[Outcome]]]:
    """Every model's outcomes, graded. The judge is started first, so an unreachable one fails
    before any student works; students run in a worker thread, off the judge's event loop."""

    async def students() -> list[tuple[ModelSpec, list[Outcome]]]:
        return [
            (spec, await asyncio.to_thread(score_model, spec, sets, settings, cache, progress))
            for spec in models
        ]

    if not sets.prompts:  # nothing to grade: the judge is never started
        return await students()
    async with judge:
        scored = await students()
        await grade_answers(judge, [o for _, outcomes in scored for o in outcomes])
    return scored
