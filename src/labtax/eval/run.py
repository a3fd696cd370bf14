"""`labtax eval`: every model asked for, on every set asked for, scored and aggregated.

Models: one (`--model`), or a training run's base model and each phase's chosen checkpoint
(`--run`). Per model: multiple-choice accuracy (knowledge, benchmark), then greedy answers to
the held-out and seed prompts (cached per checkpoint). The judge grades all answers at the end,
so an embedded judge is loaded once. Results are aggregated per leaf, per branch and overall,
and each leaf whose score fell against the previous phase or the base model is flagged.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from rich.console import Console

from labtax.config import Config, load_config
from labtax.errors import LabtaxError
from labtax.eval import reward
from labtax.eval.contamination import contamination
from labtax.eval.scoring import ModelSpec, Outcome, Sets, make_judge, model_entry, regressions, score_all
from labtax.eval.sets import SETS, McqItem, PromptItem, benchmark_items, generated_sets, seed_items
from labtax.eval.summary import write_reports
from labtax.generate.output import EVAL_DIR
from labtax.models.cache import CACHE_NAME, CallCache
from labtax.models.progress import StageProgress
from labtax.models.reward import RewardModel, split_accuracy
from labtax.models.student import check_causal, resolve_model
from labtax.phases import TRAIN_PHASES
from labtax.taxonomy import branch_of, find_leaves
from labtax.train import journal
from labtax.train.schedule import objective, reward_model


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


# ---- what to evaluate ----------------------------------------------------------------------------


def models_to_evaluate(model: str | None, run: Path | None) -> list[ModelSpec]:
    if run is None:
        spec = model or "embedded"
        return [
            ModelSpec(Path(spec).name if spec != "embedded" else "embedded", str(resolve_model(spec)), "base")
        ]
    if not journal.path(run).is_file():
        raise LabtaxError(
            f"{run}: not a training run (no {journal.NAME}); give the output_dir of `labtax train`"
        )
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


def _missing(
    config: Config,
    sets: tuple[str, ...],
    mcq_items: list[McqItem],
    heldout: list[PromptItem],
    input_dir: Path,
) -> list[dict[str, str]]:
    have = {i.leaf for i in mcq_items} | {i.leaf for i in heldout}
    missing = []
    for qna in find_leaves(config.taxonomy_root):
        leaf = qna.relative_to(config.root).as_posix()
        kind = "knowledge" if branch_of(leaf, config.data["taxonomy_root"]) == "knowledge" else "skills"
        if kind in sets and leaf not in have:
            what = "multiple-choice items" if kind == "knowledge" else "held-out prompts"
            missing.append({"leaf": leaf, "set": kind, "why": f"no {what} in {input_dir / EVAL_DIR}"})
    return missing


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
    console = console or Console(stderr=True)
    config = load_config(options.root)
    options = with_run_reward_model(options)
    settings = settings_of(config, options)
    input_dir = (options.input or config.root / config.section("generate")["output"]).resolve()
    models = models_to_evaluate(options.model, options.run.resolve() if options.run else None)
    for spec in models:  # a wrong folder is named before any judge or student work starts
        check_causal(spec.path, Path(spec.path))
    sets = load_sets(config, input_dir, tuple(settings["sets"]), options.benchmark)
    clean = contamination(config, input_dir, options.run.resolve() if options.run else None, settings)
    prefs = preferences_dir(config, options)
    scorer = None
    if prefs is not None:  # a wrong reward model or preferences folder is named before any work starts
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
    entries = [
        model_entry(spec, outcomes, rewards and rewards["models"][i])
        for i, (spec, outcomes) in enumerate(scored)
    ]
    result = {
        "version": 1,
        "input": str(input_dir),
        "run": str(options.run.resolve()) if options.run else None,
        "sets": settings["sets"],
        "judge": judge.teacher.name,
        "shots": int(settings["shots"]),
        "reward_model": rewards and rewards["summary"],
        "models": entries,
        "regressions": regressions(entries, float(settings["regression_min_drop"])),
        "missing": sets.missing,
        "contamination": clean,
        "wall_s": round(time.monotonic() - started, 3),
        "judge_calls": {"total": judge.stats.calls, "cache_hits": judge.stats.cache_hits},
    }
    write_reports(out, result)
    return {**result, "output": str(out)}


def with_run_reward_model(options: EvalOptions) -> EvalOptions:
    """--run of a schedule with a reward phase: its reward model and preferences folder, unless given."""
    if options.run is None or options.reward_model is not None:
        return options
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
    return [
        PromptItem(p.question_id, "reward", p.leaf, "", p.prompt, p.reference)
        for p in reward.reward_prompts(prefs)
    ]


def reward_scores(model: Any, prefs: Path, scored: list[tuple[ModelSpec, list[Outcome]]]) -> dict[str, Any]:
    """The reward model's test pair accuracy and, per model, the reward deviation of its answers."""
    summary = {"path": str(model.path.resolve()), "preferences": str(prefs), **split_accuracy(model, prefs)}
    per_model = []
    for _, outcomes in scored:
        asked = [o for o in outcomes if o.set == "reward"]
        prompts = [reward.RewardPrompt(o.item.id, o.leaf, o.item.prompt, o.item.reference) for o in asked]  # type: ignore[union-attr]
        per_model.append(reward.deviation(model, prompts, [o.answer for o in asked]))
    return {"summary": summary, "models": per_model}
