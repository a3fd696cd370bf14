"""The output set: one JSONL per leaf plus manifest.json, written atomically.

`generated/<leaf folder under the taxonomy root>.jsonl` holds one record per line (schema:
schemas/record.schema.json); `<leaf folder>.dropped.jsonl` next to it holds every candidate a
stage dropped, with the stage, the reason, the judge's verdict and the same provenance (schema:
schemas/dropped.schema.json), so a review can see what was thrown away and why. The manifest is
merged across runs: leaves generated now replace their entries, deleted leaves lose theirs
together with their JSONL file.
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path, PurePosixPath
from typing import Any, Callable

from labtax.files import write_text_atomic
from labtax.generate.heldout import holdout_count
from labtax.generate.items import Item
from labtax.generate.stats import Dropped
from labtax.taxonomy import Leaf, chat_messages

MANIFEST = "manifest.json"
EVAL_DIR = "eval"  # evaluation items: never read by `labtax mix`
EVAL_KINDS = ("mcq", "heldout")
MANIFEST_VERSION = 1
DROPPED_SUFFIX = ".dropped.jsonl"


def output_path(output: Path, leaf_path: str, taxonomy_root: str) -> Path:
    """generated/<leaf folder relative to the taxonomy root>.jsonl for a qna.yaml path."""
    folder = PurePosixPath(leaf_path).parent
    relative = (
        folder.relative_to(PurePosixPath(taxonomy_root)) if folder.is_relative_to(taxonomy_root) else folder
    )
    return output / f"{relative.as_posix()}.jsonl"


def record(leaf: Leaf, item: Item, provenance: dict[str, Any]) -> dict[str, Any]:
    """One JSONL record: chat turns as `chat_messages` builds them; the grounding stays in `context`."""
    identity = json.dumps(
        [leaf.path, leaf.content_hash, item.sample, item.question, item.answer], ensure_ascii=False
    )
    return {
        "id": hashlib.sha256(identity.encode("utf-8")).hexdigest()[:32],
        "leaf": leaf.path,
        "branch": leaf.branch,
        "messages": chat_messages(leaf, item.question, item.answer, item.context),
        "context": item.context,
        "source": item.source,
        "scores": dict(item.scores),
        "provenance": {**provenance, "answers": item.answers} if item.answers else provenance,
    }


def eval_path(output: Path, leaf_path: str, taxonomy_root: str, kind: str) -> Path:
    """generated/eval/<leaf folder>.<kind>.jsonl: a leaf's evaluation items ("mcq" or "heldout")."""
    return output_path(output / EVAL_DIR, leaf_path, taxonomy_root).with_suffix(f".{kind}.jsonl")


def mcq_record(leaf: Leaf, item: Item, provenance: dict[str, Any]) -> dict[str, Any]:
    """A multiple-choice eval item, with the field names of the public MMLU data sets."""
    identity = json.dumps(
        [leaf.path, leaf.content_hash, "mcq", item.sample, item.question, list(item.choices)],
        ensure_ascii=False,
    )
    return {
        "id": hashlib.sha256(identity.encode("utf-8")).hexdigest()[:32],
        "set": "knowledge",
        "leaf": leaf.path,
        "branch": leaf.branch,
        "question": item.question,
        "choices": list(item.choices),
        "answer": item.correct,
        "made_by": item.made_by or "teacher",
        "context": item.context,
        "source": item.source,
        "provenance": provenance,
    }


def dropped_path(records_path: Path) -> Path:
    """<leaf>.dropped.jsonl next to <leaf>.jsonl."""
    return records_path.with_name(records_path.name.removesuffix(".jsonl") + DROPPED_SUFFIX)


def is_dropped_file(path: Path) -> bool:
    return path.name.endswith(DROPPED_SUFFIX)


def dropped_record(leaf: Leaf, stage: str, drop: Dropped, provenance: dict[str, Any]) -> dict[str, Any]:
    """One line of <leaf>.dropped.jsonl: what the candidate was when `stage` dropped it, and why."""
    item = drop.item
    question, answer = (item.question, item.answer) if item else ("", "")
    identity = json.dumps(
        [leaf.path, leaf.content_hash, stage, drop.sample, question, answer, drop.raw], ensure_ascii=False
    )
    return {
        "id": hashlib.sha256(identity.encode("utf-8")).hexdigest()[:32],
        "leaf": leaf.path,
        "branch": leaf.branch,
        "stage": stage,
        "reason": drop.reason,
        "verdict": drop.verdict,
        "sample": drop.sample,
        "question": question,
        "answer": answer,
        "raw": drop.raw,
        "duplicate_of": drop.duplicate_of,
        "context": item.context if item else None,
        "source": item.source if item else None,
        "scores": dict(item.scores) if item else {},
        "provenance": provenance,
    }


def heldout_record(record_: dict[str, Any]) -> dict[str, Any]:
    """A kept skills record turned into a held-out prompt (the chat turns before the answer) and its
    reference."""
    *prompt, answer = record_["messages"]
    return {
        "id": record_["id"],
        "set": "skills",
        "leaf": record_["leaf"],
        "branch": record_["branch"],
        "prompt": prompt,
        "reference": answer["content"],
        "made_by": "heldout",
        "context": record_["context"],
        "scores": record_["scores"],
        "provenance": record_["provenance"],
    }


def hold_out(
    records: list[dict[str, Any]],
    fraction: float,
    key: str,
    count: int = 0,
    eligible: Callable[[dict[str, Any]], bool] | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(kept for training, held out for evaluation): a seeded draw of `count` records, or of the share
    `fraction` (at least one) when that is more, never all of them (heldout.holdout_count); only
    records `eligible` accepts are drawn."""
    wanted = holdout_count(len(records), count, fraction)
    order = sorted(records, key=lambda r: r["id"])
    random.Random(key).shuffle(order)
    chosen = {r["id"] for r in [r for r in order if eligible is None or eligible(r)][:wanted]}
    return [r for r in records if r["id"] not in chosen], [r for r in records if r["id"] in chosen]


def write_records(path: Path, records: list[dict[str, Any]]) -> None:
    write_text_atomic(
        path, "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in records)
    )


def write_or_remove(path: Path, records: list[dict[str, Any]]) -> None:
    """Write `records`, or remove the file when there are none (no stale items of an earlier run)."""
    if records:
        write_records(path, records)
    elif path.is_file():
        path.unlink()


def read_manifest(output: Path) -> dict[str, Any]:
    """The manifest of earlier runs, or an empty one (a damaged manifest is rebuilt, not fatal)."""
    try:
        data = json.loads((output / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"version": MANIFEST_VERSION, "leaves": {}}
    if not isinstance(data, dict) or not isinstance(data.get("leaves"), dict):
        return {"version": MANIFEST_VERSION, "leaves": {}}
    return data


def remove_outputs(
    output: Path, leaf_paths: list[str], taxonomy_root: str, manifest: dict[str, Any]
) -> list[str]:
    """Delete the JSONL files (records, their dropped candidates, eval items) and manifest entries of
    leaves that no longer exist; return the files removed."""
    removed = []
    for leaf_path in leaf_paths:
        records = output_path(output, leaf_path, taxonomy_root)
        dropped_path(records).unlink(missing_ok=True)
        for path in [records, *(eval_path(output, leaf_path, taxonomy_root, kind) for kind in EVAL_KINDS)]:
            if path.is_file():
                path.unlink()
                removed.append(path.relative_to(output).as_posix())
            _prune_empty_dirs(path.parent, output)
        manifest["leaves"].pop(leaf_path, None)
    return removed


def _prune_empty_dirs(folder: Path, stop: Path) -> None:
    while folder != stop and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent


def write_manifest(output: Path, manifest: dict[str, Any]) -> None:
    manifest["version"] = MANIFEST_VERSION
    manifest["leaves"] = dict(sorted(manifest["leaves"].items()))
    leaves = manifest["leaves"].values()
    manifest["totals"] = {
        "leaves": len(manifest["leaves"]),
        "records": sum(int(entry.get("records", 0)) for entry in leaves),
    }
    write_text_atomic(
        output / MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    )
