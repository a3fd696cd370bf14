"""The preference file format (schemas/preference.schema.json) and its reader.

`labtax rank` writes it; `labtax train` (reward and dpo objectives) and `labtax eval
--reward-model` read it through `read_preferences`, which checks every line before anything
trains: a bad line is a located error, `path:line:col: error[preference] ...`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from labtax.errors import LabtaxError
from labtax.files import jsonl_rows, write_text_atomic
from labtax.schemas import is_valid, validator

SCHEMA = "preference.schema.json"
RULE = "preference"
SPLITS = ("reward", "dpo", "val", "test")  # reward model train, preference-tuning train, validation, test


def split_path(folder: Path, split: str) -> Path:
    """The file holding one split of every leaf's pairs."""
    return folder / f"{split}.jsonl"


def problem(row: dict[str, Any]) -> str | None:
    """What is wrong with one preference row (None when nothing is)."""
    # The quick yes/no first (a Rust validator where installed): most rows are valid, and the
    # full validator, which words the error, costs about a millisecond a row.
    errors = (
        []
        if is_valid(SCHEMA, row)
        else sorted(validator(SCHEMA).iter_errors(row), key=lambda e: list(e.absolute_path))
    )
    if errors:
        where = ".".join(map(str, errors[0].absolute_path)) or "(top level)"
        what = (
            "an empty answer"
            if errors[0].validator in ("pattern", "minItems") and errors[0].absolute_path
            else errors[0].message
        )
        return f"{where}: {what}"
    if row["prompt"][-1]["role"] != "user":
        return "prompt: the conversation must end on a user turn"
    if row["chosen"][0]["content"].strip() == row["rejected"][0]["content"].strip():
        return "chosen and rejected are the same answer"
    return None


def read_preferences(path: Path, missing_ok: bool = False) -> list[dict[str, Any]]:
    """Every pair of a preferences file, each checked; the first bad line raises a located error."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if missing_ok:
            return []
        raise LabtaxError(f"{path}: missing; run `labtax rank` first (or set preferences_dir)") from None
    except UnicodeDecodeError as exc:
        raise LabtaxError(f"{path}: error[{RULE}] not UTF-8 text (byte {exc.start})") from None
    rows = []
    for lineno, row in jsonl_rows(text, str(path), RULE):
        wrong = problem(row)
        if wrong:
            raise LabtaxError(f"{path}:{lineno}:1: error[{RULE}] {wrong}")
        rows.append(row)
    return rows


def preference_row(prompt: list[dict[str, str]], chosen: str, rejected: str, **about: Any) -> dict[str, Any]:
    """One preference row: TRL's conversational prompt/chosen/rejected, then `about` (leaf,
    question_id, split, reference, ranking, provenance)."""
    return {
        "prompt": prompt,
        "chosen": [{"role": "assistant", "content": chosen}],
        "rejected": [{"role": "assistant", "content": rejected}],
        **about,
    }


def write_preferences(path: Path, rows: list[dict[str, Any]]) -> None:
    """Write `rows` as JSONL, atomically (a reader never sees half a file)."""
    write_text_atomic(
        path, "".join(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n" for row in rows)
    )
