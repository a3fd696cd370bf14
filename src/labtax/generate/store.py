"""What a generate run writes per leaf: training records, eval items, dropped candidates, and the
leaf's manifest entry (with what producing its data cost)."""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path
from typing import Any

from labtax.config import Config
from labtax.errors import LabtaxError, leaf_failure
from labtax.generate import knowledge, skills
from labtax.generate.clean_sets import IN_TRAINING, clean_heldout
from labtax.generate.cloze import STAGE as CLOZE
from labtax.generate.heldout import COPIES_TEMPLATE, half_width, heldout_problem
from labtax.generate.mcq_items import STAGES as MCQ_STAGES
from labtax.generate.mcq_items import McqOutcome
from labtax.generate.output import (
    EVAL_KINDS,
    dropped_path,
    dropped_record,
    eval_path,
    heldout_record,
    hold_out,
    mcq_record,
    output_path,
    record,
    write_or_remove,
    write_records,
)
from labtax.generate.plan import rate_key
from labtax.generate.stats import LeafStats
from labtax.models.calls import Caller
from labtax.taxonomy import Leaf
from labtax.taxonomy.git import head_commit

log = logging.getLogger("labtax.generate")
MIN_RATE_CALLS = 8  # runs with fewer new teacher calls say little about the teacher's rate


def store_outcomes(
    config: Config,
    section: dict[str, Any],
    evaluation: dict[str, Any],
    leaves: list[Leaf],
    outcomes: list[Any],
    output: Path,
    manifest: dict[str, Any],
) -> tuple[dict[str, str], list[str]]:
    """Write each leaf's outcome (its items, or the exception that stopped it) and its manifest entry;
    returns the leaves that failed (path -> message) and those that kept no record."""
    failed: dict[str, str] = {}
    empty: list[str] = []
    commit = head_commit(config.root)
    for leaf, outcome in zip(leaves, outcomes, strict=True):
        if isinstance(outcome, BaseException):  # Ctrl-C stops the run; finished calls are in the cache
            failed[leaf.path] = leaf_failure(leaf.path, outcome)
            log.error("%s", failed[leaf.path], exc_info=None if isinstance(outcome, LabtaxError) else outcome)
            continue
        if not store_leaf(config, section, evaluation, leaf, outcome, output, manifest, commit):
            empty.append(leaf.path)
    return failed, empty


def store_leaf(
    config: Config,
    section: dict[str, Any],
    evaluation: dict[str, Any],
    leaf: Leaf,
    outcome: tuple[list[Any], McqOutcome | None, LeafStats, Caller, float],
    output: Path,
    manifest: dict[str, Any],
    commit: str | None,
) -> int:
    """Write one leaf's records, eval items, dropped candidates and manifest entry; returns the items kept."""
    items, mcq_outcome, stats, caller, wall = outcome
    provenance = _provenance(leaf, stats, caller, section, commit)
    path = output_path(output, leaf.path, config.data["taxonomy_root"])
    records, evals, filtered = eval_split(
        evaluation,
        leaf,
        [record(leaf, item, provenance) for item in items],
        mcq_outcome,
        provenance,
        caller.templates.folder,
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
    entry["eval"] = eval_entry(evaluation, evals, mcq_outcome, filtered, stats)
    manifest["leaves"][leaf.path] = {
        **entry,
        **_generation_cost(entry, manifest["leaves"].get(leaf.path)),
    }
    log.info(
        "%s: %s records, %s eval items (%s teacher calls, %s cache hits)",
        leaf.path,
        len(records),
        sum(map(len, evals.values())),
        stats.calls - stats.cache_hits,
        stats.cache_hits,
    )
    return len(items)


def _provenance(
    leaf: Leaf, stats: LeafStats, caller: Caller, section: dict[str, Any], commit: str | None
) -> dict[str, Any]:
    """What made the leaf's records: commit, leaf hash, teacher, template hashes, sampling, seed."""
    stages = (
        (*knowledge.STAGES, knowledge.EXTRACTIVE_TEMPLATE, *MCQ_STAGES)
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
    return provenance


def eval_split(
    evaluation: dict[str, Any],
    leaf: Leaf,
    records: list[dict[str, Any]],
    outcome: McqOutcome | None,
    provenance: dict[str, Any],
    templates: Path | None = None,
) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]], Counter[str]]:
    """A leaf's training records, its eval items (multiple choice for knowledge, held-out pairs for
    skills) and, for skills, how many kept pairs each held-out filter turned away (heldout.py; they stay
    training records: the training stages kept them)."""
    evals: dict[str, list[dict[str, Any]]] = dict.fromkeys(EVAL_KINDS, [])
    filtered: Counter[str] = Counter()
    if outcome is not None:
        evals["mcq"] = [mcq_record(leaf, item, provenance) for item in outcome.items]
        return records, evals, filtered
    problems = {r["id"]: heldout_problem(r, templates) if templates else None for r in records}
    if "contamination_ngram" in evaluation:  # a pair the other records or the seeds cover: not held out
        clean = clean_heldout(leaf, records, evaluation)
        problems |= {i: IN_TRAINING for i, p in problems.items() if p is None and i not in clean}
    filtered.update(p for p in problems.values() if p)
    records, held = hold_out(
        records,
        float(evaluation["holdout_fraction"]),
        f"{provenance['seed']}:{leaf.path}:holdout",
        count=int(evaluation.get("holdout_per_leaf", 0)),
        eligible=lambda r: problems[r["id"]] is None,
    )
    evals["heldout"] = [heldout_record(r) for r in held]
    return records, evals, filtered


def eval_entry(
    evaluation: dict[str, Any],
    evals: dict[str, list[dict[str, Any]]],
    outcome: McqOutcome | None,
    filtered: Counter[str],
    stats: LeafStats,
) -> dict[str, Any]:
    """The manifest's `eval` of a leaf: its items, how each was made, the 95 % half-width they give at
    50 % accuracy (heldout.half_width), what each filter dropped, and the multiple-choice rounds."""
    items = len(evals["mcq"]) + len(evals["heldout"])
    dropped = Counter(filtered)
    if outcome is not None:
        made_by = outcome.made_by
        teacher, built = stats.stages.get(MCQ_STAGES[0]), stats.stages.get(CLOZE)
        dropped[COPIES_TEMPLATE] += teacher.dropped[COPIES_TEMPLATE] if teacher else 0
        dropped.update(built.dropped if built else {})
    else:
        made_by = {"heldout": len(evals["heldout"])}
    return {
        "heldout": len(evals["heldout"]),
        "mcq": outcome.as_dict(int(evaluation["mcq_max_candidates"])) if outcome else None,
        "items": items,
        "half_width_95": half_width(items),
        "made_by": made_by,
        "dropped": {reason: n for reason, n in sorted(dropped.items()) if n},
    }


def note_rate(manifest: dict[str, Any], section: dict[str, Any], leaves: list[Leaf], wall_s: float) -> None:
    """Teacher calls per second of this run, for the estimates of later dry runs (runs with few new
    calls say little)."""
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
