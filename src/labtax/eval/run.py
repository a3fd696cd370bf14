"""`labtax eval`: every model asked for, on every set asked for, scored and aggregated.

Models: one (`--model`), or a training run's base model and each phase's chosen checkpoint
(`--run`). Per model: multiple-choice accuracy (knowledge, benchmark), then greedy answers to
the held-out and seed prompts (cached per checkpoint). The judge grades all answers at the end,
so an embedded judge is loaded once. Results are aggregated per leaf, per branch and overall,
and each leaf whose score fell against the previous phase or the base model is flagged.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from rich.console import Console

from labtax.config import Config, load_config
from labtax.errors import LabtaxError
from labtax.eval import mcq, reference
from labtax.eval.judge import Grade, Judge, judge_section
from labtax.eval.sets import SETS, McqItem, PromptItem, benchmark_items, generated_sets, seed_items
from labtax.eval.student import Student, check_causal, fingerprint, resolve_model
from labtax.generate.cache import CallCache, call_key
from labtax.generate.output import EVAL_DIR
from labtax.generate.report import StageProgress

CACHE_NAME = ".cache/calls.sqlite"
SCORED = ("mcq_accuracy", "judge_score")  # the per-leaf scores watched for regressions


@dataclass(frozen=True)
class EvalOptions:
    """Command-line choices; None means labtax.yaml's value (or its default)."""

    root: Path | None = None
    model: str | None = None
    run: Path | None = None
    input: Path | None = None
    sets: tuple[str, ...] | None = None
    judge: str | None = None
    output: Path | None = None
    benchmark: Path | None = None
    shots: int | None = None
    reward_model: Path | None = None
    preferences: Path | None = None
    show_progress: bool = True


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
    item: PromptItem | None = None  # prompts: what was asked
    answer: str = ""
    grade: Grade | None = None


@dataclass
class Sets:
    mcq: list[McqItem] = field(default_factory=list)
    benchmark: list[McqItem] = field(default_factory=list)
    prompts: list[PromptItem] = field(default_factory=list)
    reward: list[PromptItem] = field(default_factory=list)  # --reward-model: test prompts of `labtax rank`, answered, not judged
    missing: list[dict[str, str]] = field(default_factory=list)


# ---- what to evaluate ----------------------------------------------------------------------------


def models_to_evaluate(model: str | None, run: Path | None) -> list[ModelSpec]:
    if run is None:
        spec = model or "embedded"
        return [ModelSpec(Path(spec).name if spec != "embedded" else "embedded", str(resolve_model(spec)), "base")]
    from labtax.train import journal
    from labtax.train.config import TRAIN_PHASES
    from labtax.train.schedule import objective

    if not journal.path(run).is_file():
        raise LabtaxError(f"{run}: not a training run (no {journal.NAME}); give the output_dir of `labtax train`")
    data = journal.read(run)
    models = [ModelSpec("base", data["model"], "base")]
    for phase in TRAIN_PHASES:
        entry = data["phases"].get(phase, {})
        if entry.get("chosen") and objective(entry) != "reward":  # a reward model writes no answers
            models.append(ModelSpec(phase, entry["chosen"]["checkpoint"], phase, entry["chosen"]))
    return models


def load_sets(config: Config, input_dir: Path, sets: tuple[str, ...], benchmark: Path | None) -> Sets:
    """The items of the chosen sets, and the leaves that have none (reported, not fatal)."""
    out = Sets()
    mcq_items, heldout = generated_sets(input_dir / EVAL_DIR) if (input_dir / EVAL_DIR).is_dir() else ([], [])
    if "knowledge" in sets:
        out.mcq = mcq_items
    if "skills" in sets:
        out.prompts += heldout
    if "seeds" in sets:
        out.prompts += seed_items(config)
    if "benchmark" in sets and benchmark is not None:
        out.benchmark = benchmark_items(benchmark)
    out.missing = _missing(config, sets, mcq_items, heldout, input_dir)
    return out


def _missing(config: Config, sets: tuple[str, ...], mcq_items: list[McqItem], heldout: list[PromptItem], input_dir: Path) -> list[dict[str, str]]:
    from labtax.taxonomy import branch_of, find_leaves

    have = {i.leaf for i in mcq_items} | {i.leaf for i in heldout}
    missing = []
    for qna in find_leaves(config.taxonomy_root):
        leaf = qna.relative_to(config.root).as_posix()
        kind = "knowledge" if branch_of(leaf, config.data["taxonomy_root"]) == "knowledge" else "skills"
        if kind in sets and leaf not in have:
            what = "multiple-choice items" if kind == "knowledge" else "held-out prompts"
            missing.append({"leaf": leaf, "set": kind, "why": f"no {what} in {input_dir / EVAL_DIR}"})
    return missing


# ---- one model -----------------------------------------------------------------------------------


def score_model(spec: ModelSpec, sets: Sets, settings: dict[str, Any], cache: CallCache, progress: StageProgress) -> list[Outcome]:
    """Multiple choice and answers of one model (the judge grades the answers later)."""
    student = Student.load(spec.path)
    try:
        outcomes = _choices(student, sets.mcq + sets.benchmark, settings, progress)
        asked = sets.prompts + sets.reward
        answers = cached_answers(student, asked, settings, cache, progress)
        outcomes += [Outcome(i.set, i.leaf, i.branch, item=i, answer=a) for i, a in zip(asked, answers, strict=True)]
    finally:
        del student
        gc.collect()
    return outcomes


def _choices(student: Student, items: list[McqItem], settings: dict[str, Any], progress: StageProgress) -> list[Outcome]:
    progress.planned("multiple choice", len(items))
    by_set: dict[str, list[McqItem]] = defaultdict(list)
    for item in items:
        by_set[item.set].append(item)
    outcomes = []
    for group in by_set.values():  # shots come from the same set and leaf
        picks = mcq.predictions(student, group, int(settings["shots"]), batch_size=int(settings["batch_size"]))
        outcomes += [Outcome(i.set, i.leaf, i.branch, correct=p == i.answer) for i, p in zip(group, picks, strict=True)]
        for _ in group:
            progress.done("multiple choice")
    return outcomes


def cached_answers(student: Student, items: list[PromptItem], settings: dict[str, Any], cache: CallCache, progress: StageProgress) -> list[str]:
    """Greedy answers; those this checkpoint already gave come from the cache (resume, reruns)."""
    model = fingerprint(student.path)
    limit = int(settings["max_answer_tokens"])
    keys = [call_key(kind="student_answer", model=model, prompt=list(i.prompt), max_tokens=limit) for i in items]
    found = {k: v["text"] for k in keys if (v := cache.get(k)) is not None}
    todo = [(k, i) for k, i in zip(keys, items, strict=True) if k not in found]
    progress.planned("student answers", len(items))
    for _ in range(len(items) - len(todo)):
        progress.done("student answers")
    size = int(settings["batch_size"])
    for start in range(0, len(todo), size):
        chunk = todo[start : start + size]
        for (key, _), text in zip(chunk, student.answers([list(i.prompt) for _, i in chunk], limit, size), strict=True):
            cache.put(key, {"text": text})
            found[key] = text
            progress.done("student answers")
    return [found[k] for k in keys]


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
    answered = [o for o in outcomes if o.item is not None]
    grades = [float(o.grade.grade) for o in answered if o.grade and o.grade.grade is not None]
    weighted = [o.grade.expected for o in answered if o.grade and o.grade.expected is not None]
    answers, refs = [o.answer for o in answered], [o.item.reference for o in answered]  # type: ignore[union-attr]
    return {
        "mcq_accuracy": _mean([float(c) for c in choices]),
        "mcq_items": len(choices),
        "judge_score": _mean(grades),
        "judge_score_weighted": _mean(weighted),
        "judge_items": len(answered),
        "bleu": reference.bleu(answers, refs),
        **reference.rouge(answers, refs),
        "benchmark_accuracy": _mean([float(c) for c in bench]),
        "benchmark_items": len(bench),
    }


def _grouped(outcomes: list[Outcome], key: str) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        groups[getattr(o, key)].append(o)
    return {name: metrics(group) for name, group in sorted(groups.items())}


def model_entry(spec: ModelSpec, outcomes: list[Outcome], reward: dict[str, Any] | None = None) -> dict[str, Any]:
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
        "metrics": {**metrics(held_out), **{k: v for k, v in metrics(bench).items() if k.startswith("benchmark")},
                    "reward_deviation": None, **(reward or {})},
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
                    if scores.get(metric) is not None and before.get(metric) is not None and scores[metric] < before[metric]:
                        flags.append({"model": model["name"], "leaf": leaf, "metric": metric, "value": scores[metric],
                                      "against": against["name"], "before": before[metric]})
                        scores.setdefault("regressed", [])
                        if metric not in scores["regressed"]:
                            scores["regressed"].append(metric)
    return flags


# ---- the command ---------------------------------------------------------------------------------


def settings_of(config: Config, options: EvalOptions) -> dict[str, Any]:
    settings = dict(config.section("eval"))
    if options.shots is not None:
        settings["shots"] = options.shots
    if options.judge is not None:
        settings["judge"] = options.judge
    if options.sets is not None:
        unknown = sorted(set(options.sets) - set(SETS))
        if unknown:
            raise LabtaxError(f"--sets: unknown set(s) {', '.join(unknown)}; choose from {', '.join(SETS)}")
        settings["sets"] = list(options.sets)
    return settings


def output_dir(config: Config, options: EvalOptions, settings: dict[str, Any]) -> Path:
    if options.output is not None:
        return options.output.resolve()
    return (options.run / "eval").resolve() if options.run else (config.root / settings["output"]).resolve()


def evaluate(options: EvalOptions, console: Console | None = None) -> dict[str, Any]:
    """Run the evaluation, write eval.json, eval.md and eval.png, and return eval.json's content."""
    from labtax.eval.report import write_reports

    console = console or Console(stderr=True)
    config = load_config(options.root)
    options = with_run_reward_model(options)
    settings = settings_of(config, options)
    input_dir = (options.input or config.root / config.section("generate")["output"]).resolve()
    models = models_to_evaluate(options.model, options.run.resolve() if options.run else None)
    for spec in models:  # a wrong folder is named before any judge or student work starts
        check_causal(spec.path, Path(spec.path))
    sets = load_sets(config, input_dir, tuple(settings["sets"]), options.benchmark)
    prefs = preferences_dir(config, options)
    scorer = None
    if prefs is not None:  # a wrong reward model or preferences folder is named before any work starts
        from labtax.eval.reward import RewardModel

        sets.reward = reward_prompts(prefs)
        scorer = RewardModel.load(options.reward_model)
    out = output_dir(config, options, settings)
    started = time.monotonic()
    cache = CallCache(out / CACHE_NAME)
    try:
        with StageProgress(console, options.show_progress) as progress:
            judge = make_judge(config, settings, cache, progress)
            scored = asyncio.run(score_all(judge, models, sets, settings, cache, progress))
    finally:
        cache.close()
    rewards = reward_scores(scorer, prefs, scored) if prefs is not None else None
    entries = [model_entry(spec, outcomes, rewards and rewards["models"][i]) for i, (spec, outcomes) in enumerate(scored)]
    result = {
        "version": 1,
        "input": str(input_dir),
        "run": str(options.run.resolve()) if options.run else None,
        "sets": settings["sets"],
        "judge": judge.teacher.name,
        "shots": int(settings["shots"]),
        "reward_model": rewards and rewards["summary"],
        "models": entries,
        "regressions": regressions(entries),
        "missing": sets.missing,
        "wall_s": round(time.monotonic() - started, 3),
        "judge_calls": {"total": judge.stats.calls, "cache_hits": judge.stats.cache_hits},
    }
    write_reports(out, result)
    return {**result, "output": str(out)}


def with_run_reward_model(options: EvalOptions) -> EvalOptions:
    """--run of a schedule with a reward phase: its reward model and preferences folder, unless given."""
    if options.run is None or options.reward_model is not None:
        return options
    from labtax.train import journal
    from labtax.train.schedule import reward_model

    data = journal.read(options.run.resolve())
    found = reward_model(data)
    if found is None:
        return options
    prefs = options.preferences or Path(data.get("config", {}).get("preferences_dir", "preferences"))
    return replace(options, reward_model=Path(found), preferences=prefs)


def preferences_dir(config: Config, options: EvalOptions) -> Path | None:
    """With a reward model: where `labtax rank` wrote its splits (--preferences, else rank.output)."""
    if options.reward_model is None:
        return None
    return (options.preferences or config.root / config.section("rank")["output"]).resolve()


def reward_prompts(prefs: Path) -> list[PromptItem]:
    """The test split's questions as prompts with their reference answers."""
    from labtax.eval import reward

    return [PromptItem(p.question_id, "reward", p.leaf, "", p.prompt, p.reference) for p in reward.reward_prompts(prefs)]


def reward_scores(model: Any, prefs: Path, scored: list[tuple[ModelSpec, list[Outcome]]]) -> dict[str, Any]:
    """The reward model's test pair accuracy and, per model, the reward deviation of its answers."""
    from labtax.eval.reward import RewardPrompt, deviation, split_accuracy

    summary = {"path": str(model.path.resolve()), "preferences": str(prefs), **split_accuracy(model, prefs)}
    per_model = []
    for _, outcomes in scored:
        asked = [o for o in outcomes if o.set == "reward"]
        prompts = [RewardPrompt(o.item.id, o.leaf, o.item.prompt, o.item.reference) for o in asked]  # type: ignore[union-attr]
        per_model.append(deviation(model, prompts, [o.answer for o in asked]))
    return {"summary": summary, "models": per_model}


def make_judge(config: Config, settings: dict[str, Any], cache: CallCache, progress: StageProgress) -> Judge:
    section = judge_section(config.section("generate"), settings)
    folder = section.get("prompts_dir")
    prompts = (config.root / folder).resolve() if folder else None
    if prompts is not None and not (prompts / "judge_answer.j2").is_file():
        prompts = None  # a user's own prompt folder without a judge prompt: the bundled one
    return Judge(section, cache, prompts, progress)


async def score_all(judge: Judge, models: list[ModelSpec], sets: Sets, settings: dict[str, Any], cache: CallCache,
                    progress: StageProgress) -> list[tuple[ModelSpec, list[Outcome]]]:
    """Every model's outcomes, graded. The judge is started first, so an unreachable one fails
    before any student works; students run in a worker thread, off the judge's event loop."""
    async def students() -> list[tuple[ModelSpec, list[Outcome]]]:
        return [(spec, await asyncio.to_thread(score_model, spec, sets, settings, cache, progress)) for spec in models]

    if not sets.prompts:  # nothing to grade: the judge is never started
        return await students()
    async with judge:
        scored = await students()
        await grade_answers(judge, [o for _, outcomes in scored for o in outcomes])
    return scored

