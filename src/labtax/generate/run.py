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
from labtax.generate.clean_sets import clean_test, leaf_training
from labtax.generate.documents import Chunk, leaf_chunks
from labtax.generate.heldout import with_holdout
from labtax.generate.leaves import Selection, select_leaves
from labtax.generate.output import read_manifest, remove_outputs, write_manifest
from labtax.generate.plan import plan_run
from labtax.generate.runlog import LogFile
from labtax.generate.stats import LeafStats
from labtax.generate.store import note_rate, store_outcomes
from labtax.models.cache import CACHE_NAME, CacheError, CallCache
from labtax.models.calls import Caller
from labtax.models.progress import StageProgress
from labtax.models.registry import make_teacher
from labtax.models.templates import Templates
from labtax.taxonomy import Leaf, load_leaf
from labtax.taxonomy.tree import unread_link

log = logging.getLogger("labtax.generate")


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
    with LogFile(output):
        outcomes = _run(
            config, evaluation, leaves, chunks, remove, manifest, result, console, options.show_progress
        )
    result.manifest = manifest
    stop = next((outcome for outcome in outcomes if isinstance(outcome, CacheError)), None)
    if (
        stop is not None
    ):  # no leaf is to blame: the run stops with the cache's own message (the rest is stored)
        raise stop
    return result


def _run(
    config: Config,
    evaluation: dict[str, Any],
    leaves: list[Leaf],
    chunks: dict[str, list[Chunk]],
    remove: list[str],
    manifest: dict[str, Any],
    result: GenerateResult,
    console: Console,
    show: bool,
) -> list[Any]:
    """Generate `leaves`, store what they kept, remove the outputs of `remove`, write the manifest;
    returns each leaf's outcome (items, or the exception that stopped it)."""
    section = config.section("generate")
    output = result.output
    started = time.monotonic()
    log.info(
        "run: %s leaves to generate, %s to remove, teacher %s", len(leaves), len(remove), section["teacher"]
    )
    for reason in result.failed.values():
        log.error("%s", reason)
    features: dict[str, Any] = {}
    outcomes = []
    if leaves:
        outcomes = asyncio.run(
            _generate_all(config, section, evaluation, leaves, chunks, output, console, show, features)
        )
        manifest["teacher_features"] = features
    failed, empty = store_outcomes(config, section, evaluation, leaves, outcomes, output, manifest)
    result.failed.update(failed)
    result.empty += empty
    result.removed = remove_outputs(output, remove, config.data["taxonomy_root"], manifest)
    result.wall_s = round(time.monotonic() - started, 3)
    manifest["last_run"] = {
        "leaves": [leaf.path for leaf in leaves],
        "removed": remove,
        "wall_s": result.wall_s,
        "teacher": section["teacher"],
    }
    note_rate(manifest, section, leaves, result.wall_s)
    write_manifest(output, manifest)
    log.info("done in %.1f s; failed: %s", result.wall_s, result.failed or "none")
    return outcomes


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
            f"generate.chunk_overlap ({section['chunk_overlap']}) must be smaller than "
            f"generate.chunk_tokens ({section['chunk_tokens']})"
        )
    return config


def _with_mcq(section: dict[str, Any], evaluation: dict[str, Any]) -> dict[str, Any]:
    """The generate settings plus the eval settings generate reads (for the plan's bounds and replay)."""
    return {**section, **{k: v for k, v in evaluation.items() if k.startswith(("mcq_", "holdout_"))}}


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
    """Each leaf's items and stats, or the exception that stopped it; `features` gets what the teacher
    supports."""
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
            training = leaf_training(leaf, [(item.question, item.answer) for item in items])
            clean = clean_test(training, evaluation)
            outcome = await mcq_items.run_mcq(leaf, chunks, caller, evaluation, stats, clean)
        else:
            items = await skills.run_skills(leaf, caller, with_holdout(section, evaluation), stats)
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
