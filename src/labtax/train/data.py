"""Reading the phase files written by `labtax mix` and encoding them for the student."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from labtax.errors import LabtaxError
from labtax.models.tokenize import Encoded, encode_chat
from labtax.preferences import read_preferences, split_path


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Records of one phase file; a missing validation file is an empty split."""
    if not path.is_file():
        if path.name.endswith(".val.jsonl"):
            return []
        raise LabtaxError(f"{path}: missing; run `labtax mix` first or set data_dir")
    rows = []
    for lineno, line in enumerate(path.read_bytes().split(b"\n"), 1):
        if line.strip():
            rows.append(_row(path, lineno, line))
    return rows


def _row(path: Path, lineno: int, line: bytes) -> dict[str, Any]:
    """One training record; it needs `messages`, a list of {role, content} turns with text."""
    try:
        row = json.loads(line.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise LabtaxError(
            f"{path}:{lineno}:{exc.start + 1}: byte 0x{line[exc.start]:02x} is not valid UTF-8"
        ) from None
    except json.JSONDecodeError as exc:
        raise LabtaxError(f"{path}:{lineno}:{exc.colno}: not valid JSON: {exc.msg}") from None
    turns = row.get("messages") if isinstance(row, dict) else None
    if not isinstance(turns, list) or not turns or not all(_is_turn(t) for t in turns):
        raise LabtaxError(
            f'{path}:{lineno}:1: a training record needs `messages`: a list of {{"role", "content"}} turns'
        )
    return row


def _is_turn(turn: Any) -> bool:
    return (
        isinstance(turn, dict) and isinstance(turn.get("role"), str) and isinstance(turn.get("content"), str)
    )


def encode_file(path: Path, tokenizer: Any, max_len: int) -> list[Encoded]:
    return [encode_chat(tokenizer, row["messages"], max_len) for row in read_jsonl(path)]


def phase_files(config: Any, phase: str) -> tuple[Path, Path]:
    """(training file, validation file) of a phase: `labtax mix` output for sft, `labtax rank`
    output for the preference objectives (both validate on the val split)."""
    objective = config.phases[phase].objective
    if objective == "sft":
        data = Path(config.data_dir)
        return data / f"{phase}.jsonl", data / f"{phase}.val.jsonl"
    prefs = Path(config.preferences_dir)
    return split_path(prefs, "reward" if objective == "reward" else "dpo"), split_path(prefs, "val")


def read_phase(config: Any, phase: str, split: int) -> list[dict[str, Any]]:
    """The rows of a phase's training (split 0) or validation (split 1) file, every line checked."""
    path = phase_files(config, phase)[split]
    if config.phases[phase].objective == "sft":
        return read_jsonl(path)
    return read_preferences(path, missing_ok=split == 1)
