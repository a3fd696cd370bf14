"""The output set: one JSONL per leaf plus manifest.json, written atomically.

`generated/<leaf folder under the taxonomy root>.jsonl` holds one record per line (schema:
schemas/record.schema.json). The manifest is merged across runs: leaves generated now
replace their entries, deleted leaves lose theirs together with their JSONL file.
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path, PurePosixPath
from typing import Any

from labtax.files import write_text_atomic
from labtax.generate.items import Item
from labtax.taxonomy import Leaf, chat_messages

MANIFEST = "manifest.json"
EVAL_DIR = "eval"  # evaluation items: never read by `labtax mix`
EVAL_KINDS = ("mcq", "heldout")
MANIFEST_VERSION = 1


def output_path(output: Path, leaf_path: str, taxonomy_root: str) -> Path:
    """generated/<leaf folder relative to the taxonomy root>.jsonl for a qna.yaml path."""
    folder = PurePosixPath(leaf_path).parent
    relative = folder.relative_to(PurePosixPath(taxonomy_root)) if folder.is_relative_to(taxonomy_root) else folder
    return output / f"{relative.as_posix()}.jsonl"


def record(leaf: Leaf, item: Item, provenance: dict[str, Any]) -> dict[str, Any]:
    """One JSONL record: chat turns as `chat_messages` builds them; the grounding stays in `context`."""
    identity = json.dumps([leaf.path, leaf.content_hash, item.sample, item.question, item.answer], ensure_ascii=False)
    return {
        "id": hashlib.sha256(identity.encode("utf-8")).hexdigest()[:32],
        "leaf": leaf.path,
        "branch": leaf.branch,
        "messages": chat_messages(leaf, item.question, item.answer, item.context),
        "context": item.context,
        "source": item.source,
        "scores": dict(item.scores),
        "provenance": provenance,
    }


def eval_path(output: Path, leaf_path: str, taxonomy_root: str, kind: str) -> Path:
    """generated/eval/<leaf folder>.<kind>.jsonl: a leaf's evaluation items ("mcq" or "heldout")."""
    return output_path(output / EVAL_DIR, leaf_path, taxonomy_root).with_suffix(f".{kind}.jsonl")


def mcq_record(leaf: Leaf, item: Item, provenance: dict[str, Any]) -> dict[str, Any]:
    """A multiple-choice eval item, with the field names of the public MMLU data sets."""
    identity = json.dumps([leaf.path, leaf.content_hash, "mcq", item.sample, item.question, list(item.choices)], ensure_ascii=False)
    return {
        "id": hashlib.sha256(identity.encode("utf-8")).hexdigest()[:32],
        "set": "knowledge",
        "leaf": leaf.path,
        "branch": leaf.branch,
        "question": item.question,
        "choices": list(item.choices),
        "answer": item.correct,
        "context": item.context,
        "source": item.source,
        "provenance": provenance,
    }


def heldout_record(record_: dict[str, Any]) -> dict[str, Any]:
    """A kept skills record turned into a held-out prompt (the chat turns before the answer) and its reference."""
    *prompt, answer = record_["messages"]
    return {"id": record_["id"], "set": "skills", "leaf": record_["leaf"], "branch": record_["branch"], "prompt": prompt,
            "reference": answer["content"], "context": record_["context"], "scores": record_["scores"], "provenance": record_["provenance"]}


def hold_out(records: list[dict[str, Any]], fraction: float, key: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(kept for training, held out for evaluation): a seeded share `fraction` of `records`,
    at least one where there are two or more, never all of them."""
    count = min(len(records) - 1, max(1, round(fraction * len(records)))) if len(records) >= 2 and fraction > 0 else 0
    order = sorted(records, key=lambda r: r["id"])
    random.Random(key).shuffle(order)
    held = {r["id"] for r in order[:count]}
    return [r for r in records if r["id"] not in held], [r for r in records if r["id"] in held]


def write_records(path: Path, records: list[dict[str, Any]]) -> None:
    write_text_atomic(path, "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in records))


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


def remove_outputs(output: Path, leaf_paths: list[str], taxonomy_root: str, manifest: dict[str, Any]) -> list[str]:
    """Delete the JSONL files (records and eval items) and manifest entries of leaves that no longer exist; return the files removed."""
    removed = []
    for leaf_path in leaf_paths:
        paths = [output_path(output, leaf_path, taxonomy_root)] + [eval_path(output, leaf_path, taxonomy_root, k) for k in EVAL_KINDS]
        for path in (p for p in paths if p.is_file()):
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
    write_text_atomic(output / MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False, sort_keys=True) + "\n")
