"""Reading the phase files written by `labtax mix` and encoding them for the student."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from labtax.errors import LabtaxError
from labtax.train.chat import Encoded, encode_chat


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Records of one phase file; a missing validation file is an empty split."""
    if not path.is_file():
        if path.name.endswith(".val.jsonl"):
            return []
        raise LabtaxError(f"{path}: missing; run `labtax mix` first or set data_dir")
    rows = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise LabtaxError(f"{path}:{lineno}:{exc.colno}: not valid JSON: {exc.msg}") from None
    return rows


def encode_file(path: Path, tokenizer: Any, max_len: int) -> list[Encoded]:
    return [encode_chat(tokenizer, row["messages"], max_len) for row in read_jsonl(path)]
