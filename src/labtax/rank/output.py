"""What `labtax rank` writes besides each leaf's pairs: the split files rebuilt from every leaf's
pairs, the manifest with its totals, and the removal of pairs whose leaf is gone."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from labtax.files import write_text_atomic
from labtax.preferences import SPLITS, read_preferences, split_path, write_preferences
from labtax.rank.questions import HELDOUT
from labtax.rank.splits import TEST, split_of

MANIFEST = "manifest.json"
MANIFEST_VERSION = 1


def remove_pairs(output: Path, leaf_paths: list[str], manifest: dict[str, Any]) -> list[str]:
    """Delete the pairs of leaves that no longer exist or no longer have generated records."""
    removed = []
    for leaf_path in leaf_paths:
        entry = manifest["leaves"].pop(leaf_path, None)
        path = output / entry["output"] if entry and entry.get("output") else None
        if path is not None and path.is_file():
            path.unlink()
            removed.append(path.relative_to(output).as_posix())
    return removed


def rebuild_splits(output: Path, manifest: dict[str, Any], shares: dict[str, float]) -> dict[str, int]:
    """Write reward.jsonl, dpo.jsonl, val.jsonl and test.jsonl from every leaf's pairs (each checked),
    re-deciding each question's split under the current shares (a held-out prompt's pairs, and only
    theirs, go to test); note the counts in the manifest."""
    by_split: dict[str, list[dict[str, Any]]] = {split: [] for split in SPLITS}
    for entry in manifest["leaves"].values():
        path = output / entry["output"]
        rows = read_preferences(path, missing_ok=True)
        counts: Counter[str] = Counter()
        moved = False
        tested = set()
        for row in rows:
            heldout = row.get("provenance", {}).get("question") == HELDOUT
            split = split_of(row["question_id"], shares, heldout)
            if split == TEST:
                tested.add(row["question_id"])
            moved |= row.get("split") != split
            row["split"] = split
            by_split[split].append(row)
            counts[split] += 1
        if moved:
            write_preferences(path, rows)
        entry["pairs"] = len(rows)
        entry["splits"] = {split: counts[split] for split in SPLITS}
        entry["test_questions"] = len(tested)  # each a held-out prompt
    for split, rows in by_split.items():
        write_preferences(split_path(output, split), rows)
    return {split: len(rows) for split, rows in by_split.items()}


def write_manifest(output: Path, manifest: dict[str, Any]) -> None:
    manifest["version"] = MANIFEST_VERSION
    manifest["leaves"] = dict(sorted(manifest["leaves"].items()))
    entries = list(manifest["leaves"].values())
    keys = (
        "questions",
        "candidates",
        "comparisons",
        "consistent_verdicts",
        "inconsistent_verdicts",
        "unanswered_verdicts",
        "dropped_rankings",
        "pairs",
        "heldout_questions",
        "test_questions",
    )
    manifest["totals"] = {
        "leaves": len(entries),
        **{key: sum(int(e.get(key, 0)) for e in entries) for key in keys},
        "splits": {split: sum(int(e.get("splits", {}).get(split, 0)) for e in entries) for split in SPLITS},
    }
    write_text_atomic(
        output / MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    )


def shown(path: Path, root: Path) -> str:
    """`path` relative to the repository root where it lies inside it (the manifest moves with the
    repository)."""
    return (
        path.relative_to(root.resolve()).as_posix()
        if path.is_relative_to(root.resolve())
        else path.as_posix()
    )
