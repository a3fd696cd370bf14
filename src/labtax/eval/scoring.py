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

from labtax import bootstrap
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
    id: str = ""  # the item's id: pairs the same item across models and epochs


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
            Outcome(i.set, i.leaf, i.branch, item=i, answer=a, id=i.id)
            for i, a in zip(asked, answers, strict=True)
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
            Outcome(i.set, i.leaf, i.branch, correct=p == i.answer, correct_cloze=c == i.answer, id=i.id)
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


def item_values(outcomes: list[Outcome]) -> dict[str, dict[str, float]]:
    """Per item, the value each item metric averages (item id -> 1/0 for a multiple-choice item, the
    judge's grade of an answer): what paired comparisons of models and epochs resample. Compact:
    a metric without items is left out."""
    values: dict[str, dict[str, float]] = defaultdict(dict)
    for o in outcomes:
        if o.correct is not None:
            values["benchmark_accuracy" if o.set == "benchmark" else "mcq_accuracy"][o.id] = int(o.correct)
        if o.correct_cloze is not None:
            name = "benchmark_accuracy_cloze" if o.set == "benchmark" else "mcq_accuracy_cloze"
            values[name][o.id] = int(o.correct_cloze)
        elif o.item is not None and o.grade is not None:
            if o.grade.grade is not None:
                values["judge_score"][o.id] = o.grade.grade
            if o.grade.expected is not None:
                values["judge_score_weighted"][o.id] = o.grade.expected
    return dict(values)


def stored_items(outcomes: list[Outcome]) -> dict[str, dict[str, float]]:
    """item_values as eval.json and the run journal keep them (weighted grades to 4 decimals)."""
    return {k: {i: round(v, 4) for i, v in m.items()} for k, m in item_values(outcomes).items()}


def metrics(outcomes: list[Outcome]) -> dict[str, Any]:
    """The metrics of a group of outcomes (a metric with no items is null) and, under `intervals`,
    each item mean's 95 % bootstrap interval with its item count (labtax.bootstrap)."""
    values = {k: list(v.values()) for k, v in item_values(outcomes).items()}
    found = {k: bootstrap.interval(v) for k, v in values.items()}
    means = {k: (i.mean if i else None) for k, i in found.items()}
    answered = [o for o in outcomes if o.item is not None]
    answers, refs = [o.answer for o in answered], [o.item.reference for o in answered]  # type: ignore[union-attr]
    return {
        "mcq_accuracy": means.get("mcq_accuracy"),
        "mcq_accuracy_cloze": means.get("mcq_accuracy_cloze"),
        "mcq_items": len(values.get("mcq_accuracy", [])),
        "judge_score": means.get("judge_score"),
        "judge_score_weighted": means.get("judge_score_weighted"),
        "judge_items": len(answered),
        "bleu": reference.bleu(answers, refs),
        **reference.rouge(answers, refs),
        "benchmark_accuracy": means.get("benchmark_accuracy"),
        "benchmark_accuracy_cloze": means.get("benchmark_accuracy_cloze"),
        "benchmark_items": len(values.get("benchmark_accuracy", [])),
        "intervals": {k: i.as_dict() for k, i in sorted(found.items()) if i is not None},
    }


def _grouped(outcomes: list[Outcome], key: str, items: bool = False) -> dict[str, dict[str, Any]]:
    """Metrics per leaf, branch or subject; with `items`, each group's per-item values too (what the
    regressions pair)."""
    groups: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        groups[getattr(o, key)].append(o)
    return {
        name: {**metrics(group), **({"items": stored_items(group)} if items else {})}
        for name, group in sorted(groups.items())
    }


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
        "by_leaf": _grouped(held_out, "leaf", items=True),
        "by_branch": _grouped(held_out, "branch"),
        "seeds": {"metrics": metrics(seeds), "by_leaf": _grouped(seeds, "leaf")},
        "by_subject": _grouped(bench, "leaf", items=True),
    }


def judge_scale(metric: str) -> float:
    """What turns a difference of `metric` into the 0-1 scale of regression_min_drop (grades 1-10: 9)."""
    return 9.0 if metric.startswith("judge") else 1.0


def regressions(models: list[dict[str, Any]], min_drop: float = 0.0) -> list[dict[str, Any]]:
    """Leaves whose score fell against the previous model (phase) or the base model, significantly:
    the paired bootstrap interval of the difference on the leaf's items (the same items for both
    models) lies wholly below -min_drop (on a 0-1 scale; judge grades / 9). Each model's by_leaf
    entries get a `regressed` list of the metrics that fell."""
    flags = []
    for index, model in enumerate(models[1:], 1):
        for against in {models[index - 1]["name"]: models[index - 1], models[0]["name"]: models[0]}.values():
            for leaf, scores in model["by_leaf"].items():
                before = against["by_leaf"].get(leaf, {})
                for metric in SCORED:
                    diff = bootstrap.paired(
                        before.get("items", {}).get(metric, {}), scores.get("items", {}).get(metric, {})
                    )
                    if diff is None or diff.high is None or diff.high >= -min_drop * judge_scale(metric):
                        continue
                    flags.append(
                        {
                            "model": model["name"],
                            "leaf": leaf,
                            "metric": metric,
                            "value": scores[metric],
                            "against": against["name"],
                            "before": before[metric],
                            "difference": diff.mean,
                            "interval": diff.as_dict(),
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
