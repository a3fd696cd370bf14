"""Clean sets in eval.json: per leaf, how many evaluation items were checked against the training
files, how many are contaminated and the largest overlap (the n-gram measure of
labtax.mix.contamination, the one `labtax mix` refuses by)."""

from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from labtax.config import Config
from labtax.errors import LabtaxError
from labtax.files import jsonl_rows
from labtax.generate.output import EVAL_DIR
from labtax.mix.contamination import eval_texts, message_texts
from labtax.overlap import Overlap, TrainText, check
from labtax.phases import LAB_PHASES
from labtax.train import journal


def training_dir(config: Config, run: Path | None) -> Path:
    """The phase files a run trained on (its journal's data_dir), else the mix output of labtax.yaml."""
    if run is not None and journal.path(run).is_file():
        data_dir = journal.read(run).get("config", {}).get("data_dir")
        if data_dir:
            return Path(data_dir)
    return (config.root / config.section("mix")["output"]).resolve()


def training_texts(folder: Path) -> tuple[list[TrainText], list[str]]:
    """The training records of the phase files in `folder` (kt1.jsonl, kt2.jsonl, st.jsonl; not the
    validation files, which are never trained on), each with its path:line, and the files read."""
    records, files = [], []
    for phase in LAB_PHASES:
        path = folder / f"{phase}.jsonl"
        if not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise LabtaxError(f"{path}: cannot read this training file ({exc})") from None
        files.append(str(path))
        for lineno, row in jsonl_rows(text, str(path), "phase-file"):
            records.append(TrainText(f"{path}:{lineno}", message_texts(row.get("messages") or [])))
    return records, files


def contamination(
    config: Config, input_dir: Path, run: Path | None, settings: dict[str, Any]
) -> dict[str, Any]:
    """eval.json's `contamination`: the generated evaluation items of `input_dir` against the training
    files; `checked` false (with why) when there are none to check against."""
    started = time.monotonic()
    n, threshold = int(settings["contamination_ngram"]), float(settings["contamination_threshold"])
    folder = training_dir(config, run)
    records, files = training_texts(folder)
    out: dict[str, Any] = {"data": str(folder), "files": files, "ngram": n, "threshold": threshold}
    if not files:
        why = f"no training files (kt1.jsonl, kt2.jsonl, st.jsonl) in {folder}; run `labtax mix` first"
        return {**out, "checked": False, "why": why, "items": 0, "contaminated": 0, "by_leaf": {}}
    overlaps = check(eval_texts(input_dir / EVAL_DIR), records, n, threshold)
    by_leaf = {leaf: _leaf(found) for leaf, found in sorted(_group(overlaps).items())}
    return {
        **out,
        "checked": True,
        "why": None,
        "items": len(overlaps),
        "contaminated": sum(o.contaminated for o in overlaps),
        "by_leaf": by_leaf,
        "wall_s": round(time.monotonic() - started, 3),
    }


def _group(overlaps: list[Overlap]) -> dict[str, list[Overlap]]:
    groups: dict[str, list[Overlap]] = defaultdict(list)
    for o in overlaps:
        groups[o.item.leaf].append(o)
    return groups


def _leaf(overlaps: list[Overlap]) -> dict[str, Any]:
    worst = max(overlaps, key=lambda o: o.share)
    return {
        "items": len(overlaps),
        "contaminated": sum(o.contaminated for o in overlaps),
        "max_overlap": round(worst.share, 4),
        "worst_item": worst.item.where if worst.share > 0 else None,
        "contaminated_items": [
            {"item": o.item.where, "record": o.record} for o in overlaps if o.contaminated
        ],
    }
