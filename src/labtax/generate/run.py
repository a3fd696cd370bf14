"""`labtax generate`: select leaves, run their stages against one teacher, write the output set.

Leaves run concurrently (the teacher bounds the calls in flight); within a leaf the stages
run in order. A leaf that fails keeps its previous output and is reported with its stage;
the others are written. Every teacher call goes through the on-disk cache first.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from labtax.config import Config, load_config
from labtax.errors import ConfigError, LabtaxError
from labtax.files import folder_lock, remove_stale_temps
from labtax.generate import knowledge, mcq_items, skills
from labtax.generate.documents import Chunk, leaf_chunks
from labtax.generate.leaves import Selection, select_leaves
from labtax.generate.output import (
    EVAL_KINDS,
    dropped_path,
    dropped_record,
    eval_path,
    heldout_record,
    hold_out,
    mcq_record,
    output_path,
    read_manifest,
    record,
    remove_outputs,
    write_manifest,
    write_or_remove,
    write_records,
)
from labtax.generate.plan import plan_run, rate_key
from labtax.generate.stats import LeafStats
from labtax.models.cache import CACHE_NAME, CacheError, CallCache
from labtax.models.calls import Caller
from labtax.models.progress import StageProgress
from labtax.models.registry import make_teacher
from labtax.models.templates import Templates
from labtax.taxonomy import Leaf, load_leaf
from labtax.taxonomy.git import head_commit
from labtax.taxonomy.tree import unread_link

log = logging.getLogger("labtax.generate")
LOG_NAME = "generate.log"
MIN_RATE_CALLS = 8


@dataclass(frozen=True)
class GenerateOptions:
    """Command-line choices; None means "take labtax.yaml's value (or its default)"."""

    root: Path | None = None
    leaves: tuple[str, ...] = ()
    all_leaves: bool = False
    base: str | None = None
    teacher: str | tuple[str, ...] | None = None  # several URLs: servers of the same model
    model: str | None = None
    num_instructions: int | None = None
    target: int | None = None
    output: str | None = None
    concurrency: int | None = None
    seed: int | None = None
    dry_run: bool = False
    show_progress: bool = True


@dataclass
class GenerateResult:
    selection: Selection
    output: Path
    removed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # leaf path -> "stage: reason"
    empty: list[str] = field(default_factory=list)  # leaves generated now that kept no record
    manifest: dict[str, Any] = field(default_factory=dict)
    plan: list[dict[str, Any]] = field(default_factory=list)
    wall_s: float = 0.0


def generate(options: GenerateOptions, console: Console | None = None) -> GenerateResult:
    """Run (or with dry_run, plan) generation; see the module docstring. A run holds the output
    folder's lock from reading the manifest to writing it, so two runs never interleave."""
    console = console or Console(stderr=True)
    config = _config(options)
    output = (config.root / config.section("generate")["output"]).resolve()
    if not options.leaves:  # --all or the changed leaves: over a missing taxonomy both would do nothing
        config.existing_taxonomy_root()
    if options.dry_run:
        return _generate(config, options, output, console)
    with folder_lock(output, "labtax generate"):
        remove_stale_temps(output)  # half-written files of a run killed mid-write
        return _generate(config, options, output, console)


def _generate(config: Config, options: GenerateOptions, output: Path, console: Console) -> GenerateResult:
    section = config.section("generate")
    evaluation = {
        **config.section("eval"),
        "dedup_threshold": section["dedup_threshold"],
    }  # the eval items generate writes
    manifest = read_manifest(output)
    selection = select_leaves(
        config.root,
        config.data["taxonomy_root"],
        leaves=options.leaves,
        all_leaves=options.all_leaves,
        base=options.base,
        known=list(manifest["leaves"]),
    )
    result = GenerateResult(selection, output)
    leaves = _load_leaves(config, selection.generate, result)
    chunks = _documents(config, section, leaves, result)
    leaves = [leaf for leaf in leaves if leaf.path not in result.failed]
    if options.dry_run:
        result.plan = plan_run(
            _with_mcq(section, evaluation),
            leaves,
            chunks,
            output / CACHE_NAME,
            Templates(config.prompts_dir),
            manifest,
        )
        return result
    remove = sorted({*selection.remove, *_gone(config, manifest)})
    if not leaves and not remove and not result.failed:
        return result
    started = time.monotonic()
    with _LogFile(output):
        log.info(
            "run: %s leaves to generate, %s to remove, teacher %s",
            len(leaves),
            len(remove),
            section["teacher"],
        )
        for reason in result.failed.values():
            log.error("%s", reason)
        features: dict[str, Any] = {}
        outcomes = (
            asyncio.run(
                _generate_all(
                    config,
                    section,
                    evaluation,
                    leaves,
                    chunks,
                    output,
                    console,
                    options.show_progress,
                    features,
                )
            )
            if leaves
            else []
        )
        if leaves:
            manifest["teacher_features"] = features
        _store(config, section, evaluation, leaves, outcomes, output, manifest, result)
        result.removed = remove_outputs(output, remove, config.data["taxonomy_root"], manifest)
        result.wall_s = round(time.monotonic() - started, 3)
        manifest["last_run"] = {
            "leaves": [leaf.path for leaf in leaves],
            "removed": remove,
            "wall_s": result.wall_s,
            "teacher": section["teacher"],
        }
        _note_rate(manifest, section, leaves, result.wall_s)
        write_manifest(output, manifest)
        log.info("done in %.1f s; failed: %s", result.wall_s, result.failed or "none")
    result.manifest = manifest
    stop = next((outcome for outcome in outcomes if isinstance(outcome, CacheError)), None)
    if (
        stop is not None
    ):  # no leaf is to blame: the run stops with the cache's own message (the rest is stored)
        raise stop
    return result


def _load_leaves(config: Config, paths: list[str], result: GenerateResult) -> list[Leaf]:
    """The selected leaves; one that cannot be read (or is a link labtax never reads) fails alone."""
    leaves = []
    for path in paths:
        try:
            leaves.append(load_leaf(config.root, path, config.data["taxonomy_root"]))
        except LabtaxError as exc:
            result.failed[path] = f"{path}: stage setup: {exc.message.removeprefix(path + ': ')}"
    return leaves


def _gone(config: Config, manifest: dict[str, Any]) -> list[str]:
    """Leaves the manifest has outputs for that no longer exist (deleted, or now a link that is not read):
    their outputs go whenever the manifest is written, so no later mix trains on them."""
    taxonomy = config.root / config.data["taxonomy_root"]
    return [
        path
        for path in manifest["leaves"]
        if not (config.root / path).is_file() or unread_link(config.root / path, taxonomy)
    ]


def _config(options: GenerateOptions) -> Config:
    teacher = options.teacher
    if isinstance(teacher, tuple):
        teacher = None if not teacher else teacher[0] if len(teacher) == 1 else list(teacher)
    flags = {
        "teacher": teacher,
        "model": options.model,
        "num_instructions": options.num_instructions,
        "target_per_leaf": options.target,
        "output": options.output,
        "concurrency": options.concurrency,
        "seed": options.seed,
    }
    config = load_config(
        options.root, overrides={"generate": {k: v for k, v in flags.items() if v is not None}}
    )
    section = config.section("generate")
    if section["chunk_overlap"] >= section["chunk_tokens"]:
        raise ConfigError(
            f"generate.chunk_overlap ({section['chunk_overlap']}) must be smaller than generate.chunk_tokens ({section['chunk_tokens']})"
        )
    return config


def _with_mcq(section: dict[str, Any], evaluation: dict[str, Any]) -> dict[str, Any]:
    """The generate settings plus the multiple-choice eval settings (for the plan's bounds and replay)."""
    return {**section, **{k: v for k, v in evaluation.items() if k.startswith("mcq_")}}


async def _generate_all(
    config: Config,
    section: dict[str, Any],
    evaluation: dict[str, Any],
    leaves: list[Leaf],
    chunks: dict[str, Any],
    output: Path,
    console: Console,
    show: bool,
    features: dict[str, Any],
) -> list[Any]:
    """Each leaf's items and stats, or the exception that stopped it; `features` gets what the teacher supports."""
    cache = CallCache(output / CACHE_NAME)  # first: a cache that cannot be used stops the run before any call
    teacher = make_teacher(section, cache)
    try:
        await teacher.start()
    except BaseException:
        cache.close()
        raise
    try:
        console.print(
            teacher.describe(), markup=False, highlight=False, soft_wrap=True
        )  # one line, however long
        features.update(teacher.features())
        with StageProgress(console, show) as progress:
            sampling = {
                "temperature": float(section["sampling"]["temperature"]),
                "top_p": float(section["sampling"]["top_p"]),
            }
            templates = Templates(config.prompts_dir)
            caller = Caller(
                teacher,
                cache,
                templates,
                sampling,
                int(section["seed"]),
                progress,
                bool(section["calibrate"]),
            )
            return await asyncio.gather(
                *(_one_leaf(leaf, chunks.get(leaf.path, []), caller, section, evaluation) for leaf in leaves),
                return_exceptions=True,
            )
    except asyncio.CancelledError:  # Ctrl-C: say so at once; the teacher stops at its next token
        console.print("interrupted: stopping the teacher; finished calls are in the cache", style="yellow")
        raise
    finally:
        cache.close()
        await teacher.close()


async def _one_leaf(
    leaf: Leaf, chunks: list[Any], caller: Caller, section: dict[str, Any], evaluation: dict[str, Any]
) -> tuple[list[Any], mcq_items.McqOutcome | None, LeafStats, Caller, float]:
    stats = LeafStats()
    started = time.monotonic()
    outcome = None
    try:
        if leaf.is_knowledge:
            items = await knowledge.run_knowledge(leaf, chunks, caller, section, stats)
            outcome = await mcq_items.run_mcq(leaf, chunks, caller, evaluation, stats)
        else:
            items = await skills.run_skills(leaf, caller, section, stats)
    except CacheError:
        raise
    except LabtaxError as exc:
        raise LabtaxError(
            f"{leaf.path}: stage {stats.current or 'setup'}: {exc.message}", exit_code=exc.exit_code
        ) from None
    return items, outcome, stats, caller, time.monotonic() - started


def _documents(
    config: Config, section: dict[str, Any], leaves: list[Leaf], result: GenerateResult
) -> dict[str, list[Chunk]]:
    """The chunks of every knowledge leaf; a leaf whose documents cannot be read fails alone."""
    chunks = {}
    extensions = tuple(config.section("lint")["document_extensions"])
    for leaf in (leaf for leaf in leaves if leaf.is_knowledge):
        try:
            chunks[leaf.path] = leaf_chunks(
                config.root, leaf, int(section["chunk_tokens"]), int(section["chunk_overlap"]), extensions
            )
        except LabtaxError as exc:
            result.failed[leaf.path] = f"{leaf.path}: stage documents: {exc.message}"  # logged with the run
    return chunks


def _store(
    config: Config,
    section: dict[str, Any],
    evaluation: dict[str, Any],
    leaves: list[Leaf],
    outcomes: list[Any],
    output: Path,
    manifest: dict[str, Any],
    result: GenerateResult,
) -> None:
    commit = head_commit(config.root)
    for leaf, outcome in zip(leaves, outcomes, strict=True):
        if isinstance(outcome, BaseException):
            if not isinstance(outcome, Exception):
                raise outcome  # Ctrl-C and friends stop the run (finished calls are in the cache)
            # A bug hit while generating one leaf fails that leaf only: the others are still stored.
            expected = isinstance(outcome, LabtaxError)
            message = (
                outcome.message
                if expected
                else f"{leaf.path}: internal error: {type(outcome).__name__}: {outcome} (please report this)"
            )
            result.failed[leaf.path] = message
            log.error("%s", message, exc_info=None if expected else outcome)
            continue
        items, mcq_outcome, stats, caller, wall = outcome
        stages = (
            (*knowledge.STAGES, knowledge.EXTRACTIVE_TEMPLATE, *mcq_items.STAGES)
            if leaf.is_knowledge
            else skills.STAGES
        )
        provenance = {
            "taxonomy_commit": commit,
            "leaf_hash": leaf.content_hash,
            "teacher": caller.teacher.name,
            "templates": {stage: caller.template_hash(stage) for stage in stages},
            "sampling": {**caller.sampling, "max_tokens": section["max_tokens"]},
            "seed": caller.seed,
        }
        if stats.persona is not None:  # the template and temperature of the leaf's response persona
            provenance["persona"] = stats.persona
            provenance["templates"][skills.STAGES[2]] = caller.template_hash(
                skills.persona_template(stats.persona)
            )
        path = output_path(output, leaf.path, config.data["taxonomy_root"])
        records, evals = _eval_split(
            evaluation, leaf, [record(leaf, item, provenance) for item in items], mcq_outcome, provenance
        )
        write_records(path, records)
        for kind, rows in evals.items():
            write_or_remove(eval_path(output, leaf.path, config.data["taxonomy_root"], kind), rows)
        drops = [
            dropped_record(leaf, name, drop, provenance)
            for name, s in stats.stages.items()
            for drop in s.dropped_items
        ]
        write_records(dropped_path(path), drops)
        entry = _entry(
            leaf, stats, len(items), len(records), path.relative_to(output).as_posix(), provenance, wall
        )
        entry["eval"] = {
            "heldout": len(evals["heldout"]),
            "mcq": mcq_outcome.as_dict(int(evaluation["mcq_max_candidates"])) if mcq_outcome else None,
        }
        manifest["leaves"][leaf.path] = {
            **entry,
            **_generation_cost(entry, manifest["leaves"].get(leaf.path)),
        }
        if not items:
            result.empty.append(leaf.path)
        log.info(
            "%s: %s records, %s eval items (%s teacher calls, %s cache hits)",
            leaf.path,
            len(records),
            sum(map(len, evals.values())),
            stats.calls - stats.cache_hits,
            stats.cache_hits,
        )


def _eval_split(
    evaluation: dict[str, Any],
    leaf: Leaf,
    records: list[dict[str, Any]],
    outcome: mcq_items.McqOutcome | None,
    provenance: dict[str, Any],
) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    """A leaf's training records and its eval items: multiple choice (knowledge) or held-out pairs (skills)."""
    evals: dict[str, list[dict[str, Any]]] = dict.fromkeys(EVAL_KINDS, [])
    if outcome is not None:
        evals["mcq"] = [mcq_record(leaf, item, provenance) for item in outcome.items]
    else:
        fraction = float(evaluation["holdout_fraction"])
        records, held = hold_out(records, fraction, f"{provenance['seed']}:{leaf.path}:holdout")
        evals["heldout"] = [heldout_record(r) for r in held]
    return records, evals


def _note_rate(manifest: dict[str, Any], section: dict[str, Any], leaves: list[Leaf], wall_s: float) -> None:
    """Teacher calls per second of this run, for the estimates of later dry runs (runs with few new calls say little)."""
    calls = sum(int(manifest["leaves"].get(leaf.path, {}).get("teacher_calls", 0)) for leaf in leaves)
    if calls >= MIN_RATE_CALLS and wall_s > 0:
        manifest.setdefault("rates", {})[rate_key(section)] = round(calls / wall_s, 3)


def _entry(
    leaf: Leaf,
    stats: LeafStats,
    kept: int,
    records: int,
    relative: str,
    provenance: dict[str, Any],
    wall: float,
) -> dict[str, Any]:
    """A leaf's manifest entry. `kept`: what passed every stage (what the rounds aim at the target);
    `records`: the training records, once held-out eval pairs are set aside."""
    return {
        "output": relative,
        "branch": leaf.branch,
        "records": records,
        "target": stats.target,
        "kept": kept,
        "candidates": stats.candidates,
        "rounds": stats.rounds,
        "target_met": kept >= stats.target,
        "stages": {name: s.as_dict() for name, s in stats.stages.items()},
        "leaf_hash": leaf.content_hash,
        "taxonomy_commit": provenance["taxonomy_commit"],
        "teacher": provenance["teacher"],
        "templates": provenance["templates"],
        "calls": stats.calls,
        "teacher_calls": stats.calls - stats.cache_hits,
        "cache_hits": stats.cache_hits,
        "tokens": {"prompt": stats.prompt_tokens, "completion": stats.completion_tokens},
        "truncated_replies": stats.truncated,
        "wall_s": round(wall, 3),
    }


def _generation_cost(entry: dict[str, Any], previous: dict[str, Any] | None) -> dict[str, Any]:
    """What producing the leaf's data cost: this run's teacher calls and wall time, or, when this run
    was served from the cache (no teacher call), the cost an earlier run of the same leaf recorded."""
    if entry["teacher_calls"] == 0 and previous and previous.get("leaf_hash") == entry["leaf_hash"]:
        calls = previous.get("generated_teacher_calls", previous.get("teacher_calls", 0))
        if calls:
            return {
                "generated_wall_s": previous.get("generated_wall_s", previous.get("wall_s")),
                "generated_teacher_calls": calls,
            }
    return {"generated_wall_s": entry["wall_s"], "generated_teacher_calls": entry["teacher_calls"]}


class _QuietFileHandler(logging.FileHandler):
    """A log file that stays silent when it cannot be written (a full disk): logging would print a
    traceback on stderr for every line. The run's own writes fail with a located message instead."""

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's name
        pass

    def close(self) -> None:
        try:
            super().close()
        except OSError:  # the last flush failed: the same silence
            pass


class _LogFile:
    """Attach `<output>/generate.log` to the labtax.generate logger for the duration of a run."""

    def __init__(self, output: Path) -> None:
        self.output = output
        self.handler: logging.Handler | None = None

    def __enter__(self) -> None:
        self.output.mkdir(parents=True, exist_ok=True)
        self.handler = _QuietFileHandler(self.output / LOG_NAME, encoding="utf-8")
        self.handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        log.addHandler(self.handler)
        log.setLevel(logging.INFO)

    def __exit__(self, *exc: object) -> None:
        if self.handler is not None:
            log.removeHandler(self.handler)
            self.handler.close()
