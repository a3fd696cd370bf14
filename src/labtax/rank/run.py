"""`labtax rank`: select leaves, gather candidate answers, rank them with the teacher, write pairs.

Leaves are selected as `labtax generate` selects them (changed leaves, --base, --all, LEAF...)
and read from generate's output. Every teacher call goes through the call cache in the output
folder (OUTPUT/.cache/calls.sqlite), so ranking an unchanged leaf again costs no call, and a
killed run resumes from its finished calls. A leaf that fails keeps its previous pairs and is
reported; the others are written. The split files are rebuilt from every leaf's pairs.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from labtax.config import Config, load_config
from labtax.errors import LabtaxError, leaf_failure
from labtax.files import folder_lock, remove_stale_temps
from labtax.generate.leaves import Selection, select_leaves
from labtax.generate.output import eval_path, output_path, read_manifest
from labtax.models.cache import CACHE_NAME, CacheError, CallCache
from labtax.models.calls import Caller, Progress, gather
from labtax.models.progress import StageProgress
from labtax.models.registry import make_teacher, teacher_specs
from labtax.models.templates import Templates
from labtax.preferences import preference_row, write_preferences
from labtax.rank.candidates import distinct, gather_candidates, samples_wanted, student_answers
from labtax.rank.output import rebuild_splits, remove_pairs, shown, write_manifest
from labtax.rank.questions import Question, read_questions
from labtax.rank.ranking import LIST_STAGE, PAIR_STAGE, RankStats, rank_list, rank_pairs
from labtax.rank.splits import check_shares, split_of
from labtax.taxonomy import Leaf, load_leaf

STUDENT_PLACEHOLDER = "(the student's answer)"  # the dry run counts it as one more distinct candidate


@dataclass(frozen=True)
class RankOptions:
    """Command-line choices; None means "take labtax.yaml's value (or its default)"."""

    root: Path | None = None
    leaves: tuple[str, ...] = ()
    all_leaves: bool = False
    base: str | None = None
    candidates: int | None = None
    method: str | None = None
    student: str | None = None
    teacher: str | None = None
    output: str | None = None
    dry_run: bool = False
    show_progress: bool = True


@dataclass
class RankResult:
    selection: Selection
    output: Path
    ranked: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # leaf path -> reason
    empty: list[str] = field(default_factory=list)  # selected leaves with no generated records
    removed: list[str] = field(default_factory=list)
    plan: list[dict[str, Any]] = field(default_factory=list)
    manifest: dict[str, Any] = field(default_factory=dict)
    wall_s: float = 0.0


@dataclass(frozen=True)
class _Run:
    """What every step of one run reads: the config, its two sections, the folders."""

    config: Config
    settings: dict[str, Any]  # rank section
    generate: dict[str, Any]  # generate section, its teacher replaced by rank.teacher when set
    source: Path  # generate's output
    output: Path
    shares: dict[str, float]  # rank.splits, checked


def rank(options: RankOptions, console: Console | None = None) -> RankResult:
    """Run (or with dry_run, plan) ranking; see the module docstring. A run holds the output folder's
    lock from reading the manifest to writing it, so two runs never interleave."""
    console = console or Console(stderr=True)
    run = _setup(options)
    if not options.leaves:  # --all or the changed leaves: over a missing taxonomy both would do nothing
        run.config.existing_taxonomy_root()
    if options.dry_run:
        return _rank(run, options, console)
    with folder_lock(run.output, "labtax rank"):
        remove_stale_temps(run.output)
        return _rank(run, options, console)


def _setup(options: RankOptions) -> _Run:
    flags = {
        "candidates": options.candidates,
        "method": options.method,
        "student": options.student,
        "teacher": options.teacher,
        "output": options.output,
    }
    config = load_config(options.root, overrides={"rank": {k: v for k, v in flags.items() if v is not None}})
    settings = config.section("rank")
    shares = check_shares(settings["splits"])
    generate = {
        **config.section("generate"),
        **({"teacher": settings["teacher"]} if settings["teacher"] else {}),
    }
    source = (config.root / (settings["input"] or config.section("generate")["output"])).resolve()
    return _Run(config, settings, generate, source, (config.root / settings["output"]).resolve(), shares)


def _rank(run: _Run, options: RankOptions, console: Console) -> RankResult:
    manifest = read_manifest(run.output)
    taxonomy = run.config.data["taxonomy_root"]
    selection = select_leaves(
        run.config.root,
        taxonomy,
        leaves=options.leaves,
        all_leaves=options.all_leaves,
        base=options.base,
        known=list(manifest["leaves"]),
    )
    result = RankResult(selection, run.output)
    work = _read_leaves(run, selection.generate, result)
    if options.dry_run:
        result.plan = [plan_leaf(leaf, questions, run.settings) for leaf, questions in work]
        return result
    stale = [p for p in (*selection.remove, *result.empty) if p in manifest["leaves"]]
    gone = [p for p in manifest["leaves"] if not (run.config.root / p).is_file()]
    if not work and not stale and not gone:
        return result
    started = time.monotonic()
    outcomes = _rank_leaves(run, work, console, options.show_progress) if work else []
    _store(run, work, outcomes, manifest, result)
    result.removed = remove_pairs(run.output, sorted({*stale, *gone}), manifest)
    result.wall_s = round(time.monotonic() - started, 3)
    manifest["last_run"] = {"leaves": result.ranked, "removed": result.removed, "wall_s": result.wall_s}
    rebuild_splits(run.output, manifest, run.shares)
    write_manifest(run.output, manifest)
    result.manifest = manifest
    stop = next((outcome for outcome in outcomes if isinstance(outcome, CacheError)), None)
    if (
        stop is not None
    ):  # no leaf is to blame: the run stops with the cache's own message (the rest is stored)
        raise stop
    return result


def _read_leaves(run: _Run, paths: list[str], result: RankResult) -> list[tuple[Leaf, list[Question]]]:
    """The selected leaves and their questions; a leaf that cannot be read fails alone, one without
    generated records is listed in result.empty."""
    work = []
    taxonomy = run.config.data["taxonomy_root"]
    for path in paths:
        try:
            leaf = load_leaf(run.config.root, path, taxonomy)
            heldout = eval_path(run.source, path, taxonomy, "heldout")  # the test questions
            questions = read_questions(leaf, output_path(run.source, path, taxonomy), heldout)
        except LabtaxError as exc:
            result.failed[path] = f"{path}: {exc.message.removeprefix(path + ': ')}"
            continue
        if questions:
            work.append((leaf, questions))
        else:
            result.empty.append(path)
    return work


def plan_leaf(leaf: Leaf, questions: list[Question], settings: dict[str, Any]) -> dict[str, Any]:
    """The most work ranking `leaf` can take: candidates, further samples, comparisons (ranker calls)."""
    count = int(settings["candidates"])
    student = (
        STUDENT_PLACEHOLDER if settings["student"] is not None else None
    )  # its answer is not known before the run
    samples = [samples_wanted(q, student, count) for q in questions]
    sizes = [
        min(count, len(distinct(q.known)) + int(student is not None) + n)
        for q, n in zip(questions, samples, strict=True)
    ]
    comparisons = sum(n * (n - 1) if settings["method"] == "pairs" else int(n >= 2) for n in sizes)
    return {
        "leaf": leaf.path,
        "questions": len(questions),
        "candidates": sum(sizes),
        "samples": sum(samples),
        "comparisons": comparisons,
        "calls_max": sum(samples) + comparisons,
        "student_answers": len(questions) if student else 0,
    }


def _rank_leaves(
    run: _Run, work: list[tuple[Leaf, list[Question]]], console: Console, show: bool
) -> list[Any]:
    """Each leaf's (rows, stats, wall seconds), or the exception that stopped it."""
    cache = CallCache(
        run.output / CACHE_NAME
    )  # first: a cache that cannot be used stops the run before any call
    try:
        with StageProgress(console, show) as progress:
            students = _students(run, [q for _, questions in work for q in questions], cache, progress)
            return asyncio.run(_rank_all(run, work, cache, console, progress, students))
    finally:
        cache.close()


def _students(
    run: _Run, questions: list[Question], cache: CallCache, progress: Progress
) -> dict[str, str] | None:
    """The student's answers by question id (None: no --student). CPU work, done before the teacher starts."""
    spec = run.settings["student"]
    return (
        None
        if spec is None
        else student_answers(spec, questions, int(run.settings["max_tokens"]), cache, progress)
    )


async def _rank_all(
    run: _Run,
    work: list[tuple[Leaf, list[Question]]],
    cache: CallCache,
    console: Console,
    progress: Any,
    students: dict[str, str] | None,
) -> list[Any]:
    teacher = make_teacher(run.generate, cache)
    await teacher.start()
    try:
        console.print(teacher.describe(), markup=False, highlight=False, soft_wrap=True)
        sampling = {
            "temperature": float(run.generate["sampling"]["temperature"]),
            "top_p": float(run.generate["sampling"]["top_p"]),
        }
        templates = Templates(run.config.prompts_dir)
        # Verdicts are calibrated as generate's judges are (generate.calibrate; see ranking.rank_pairs).
        caller = Caller(
            teacher,
            cache,
            templates,
            sampling,
            int(run.generate["seed"]),
            progress,
            bool(run.generate["calibrate"]),
        )
        # Questions in flight are bounded: each asks up to 2 * C(K, 2) verdicts at once, and thousands of
        # calls queued on the teacher's slots cost more to wake than to send. Twice the slots keeps them
        # all busy.
        slots = asyncio.Semaphore(2 * int(run.generate["concurrency"]) * len(teacher_specs(run.generate)))
        return await asyncio.gather(
            *(_one_leaf(run, leaf, questions, caller, students, slots) for leaf, questions in work),
            return_exceptions=True,
        )
    except asyncio.CancelledError:  # Ctrl-C: say so at once
        console.print("interrupted: stopping the teacher; finished calls are in the cache", style="yellow")
        raise
    finally:
        await teacher.close()


async def _one_leaf(
    run: _Run,
    leaf: Leaf,
    questions: list[Question],
    caller: Caller,
    students: dict[str, str] | None,
    slots: asyncio.Semaphore,
) -> tuple[list[dict[str, Any]], RankStats, float]:
    stats = RankStats()
    started = time.monotonic()

    async def one(question: Question) -> list[dict[str, Any]]:
        async with slots:
            return await _one_question(
                run,
                leaf,
                question,
                caller,
                stats,
                None if students is None else students.get(question.question_id, ""),
            )

    try:
        rows = await gather(one(q) for q in questions)
    except CacheError:
        raise
    except LabtaxError as exc:
        raise LabtaxError(f"{leaf.path}: {exc.message}", exit_code=exc.exit_code) from None
    return [row for question_rows in rows for row in question_rows], stats, time.monotonic() - started


async def _one_question(
    run: _Run, leaf: Leaf, question: Question, caller: Caller, stats: RankStats, student: str | None
) -> list[dict[str, Any]]:
    found = await gather_candidates(leaf, question, caller, run.settings, run.generate, stats.calls, student)
    stats.questions += 1
    stats.candidates += len(found.answers)
    if len(found.answers) < 2:
        return []
    texts = [c.text for c in found.answers]
    method = run.settings["method"]
    preferences = await (
        rank_pairs(question, texts, caller, stats)
        if method == "pairs"
        else rank_list(question, texts, caller, stats)
    )
    stats.pairs += len(preferences)
    stage = PAIR_STAGE if method == "pairs" else LIST_STAGE
    split = split_of(question.question_id, run.shares, question.heldout)
    reference_source = (
        "teacher"
        if question.reference is not None
        else next((c.source for c in found.answers if c.text == (found.reference or "").strip()), None)
    )
    return [
        preference_row(
            question.prompt,
            texts[p.chosen],
            texts[p.rejected],
            leaf=leaf.path,
            question_id=question.question_id,
            split=split,
            reference=found.reference or "",
            ranking={"method": method, "order": None, "agreement": None, **p.ranking},
            provenance={
                "chosen": found.answers[p.chosen].source,
                "rejected": found.answers[p.rejected].source,
                "reference": reference_source,
                "question": question.origin,
                "ranker": caller.teacher.name,
                "template": caller.template_hash(stage),
            },
        )
        for p in preferences
    ]


def _store(
    run: _Run,
    work: list[tuple[Leaf, list[Question]]],
    outcomes: list[Any],
    manifest: dict[str, Any],
    result: RankResult,
) -> None:
    taxonomy = run.config.data["taxonomy_root"]
    for (leaf, questions), outcome in zip(work, outcomes, strict=True):
        if isinstance(outcome, BaseException):  # Ctrl-C stops the run; finished calls are in the cache
            result.failed[leaf.path] = leaf_failure(leaf.path, outcome)
            continue
        rows, stats, wall = outcome
        path = output_path(run.output, leaf.path, taxonomy)
        write_preferences(path, rows)
        calls = stats.calls
        manifest["leaves"][leaf.path] = {
            "output": path.relative_to(run.output).as_posix(),
            "input": shown(output_path(run.source, leaf.path, taxonomy), run.config.root),
            **stats.as_dict(),
            "heldout_questions": sum(q.heldout for q in questions),  # test questions, never trained on
            "method": run.settings["method"],
            "candidates_wanted": int(run.settings["candidates"]),
            "leaf_hash": leaf.content_hash,
            "teacher_calls": calls.calls - calls.cache_hits,
            "cache_hits": calls.cache_hits,
            "wall_s": round(wall, 3),
        }
        result.ranked.append(leaf.path)
