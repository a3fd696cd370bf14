"""What `labtax mix` reads: the generated records (checked, current, never an evaluation item), the
generate manifest, and the taxonomy's leaves with their seed examples."""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

from labtax.config import Config
from labtax.errors import LabtaxError
from labtax.files import jsonl_rows
from labtax.generate.output import EVAL_DIR, MANIFEST, is_dropped_file
from labtax.schemas import validator
from labtax.taxonomy import Leaf, chat_messages, find_leaves, load_leaf


def read_generated(input_dir: Path) -> list[dict[str, Any]]:
    """Every record under `input_dir` (one JSONL per leaf), validated against record.schema.json.
    The evaluation items under `eval/` are not read, and no record may be one of them."""
    return [record for _, record in read_generated_at(input_dir)]


def read_generated_at(input_dir: Path) -> list[tuple[str, dict[str, Any]]]:
    """As read_generated, each record with where it is (path:line)."""
    if not input_dir.is_dir():
        raise LabtaxError(f"{input_dir}: no generated data here; run `labtax generate` first or pass --input")
    check = validator("record.schema.json")
    held_out = eval_prompts(input_dir / EVAL_DIR)
    records = []
    for path in sorted(
        p
        for p in input_dir.rglob("*.jsonl")
        if EVAL_DIR not in p.relative_to(input_dir).parts[:1] and not is_dropped_file(p)
    ):
        for lineno, line in enumerate(path.read_bytes().split(b"\n"), 1):
            if line.strip():
                records.append((f"{path}:{lineno}", _record(path, lineno, line, check, held_out)))
    return records


def _record(path: Path, lineno: int, line: bytes, check: Any, held_out: dict[str, str]) -> dict[str, Any]:
    """One JSONL line as a valid record, else a located error (bytes that are not UTF-8, a lone
    surrogate escape, bad JSON, a schema violation)."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LabtaxError(
            f"{path}:{lineno}:{exc.start + 1}: error[record] byte 0x{line[exc.start]:02x} is not valid UTF-8"
        ) from None
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LabtaxError(f"{path}:{lineno}:{exc.colno}: error[record] not valid JSON: {exc.msg}") from None
    try:  # JSON may escape half of a surrogate pair ("\ud800"): valid JSON, but not text
        json.dumps(record, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        match = re.search(r"\\u[dD][89a-fA-F]", text)
        column = match.start() + 1 if match else 1
        raise LabtaxError(
            f"{path}:{lineno}:{column}: error[record] holds a lone surrogate escape "
            "(half a UTF-16 pair), which is not text"
        ) from None
    _refuse_eval_item(path, lineno, record, held_out)
    error = next(iter(check.iter_errors(record)), None)
    if error is not None:
        where = ".".join(map(str, error.absolute_path)) or "(record)"
        raise LabtaxError(f"{path}:{lineno}:1: error[record] {where}: {error.message}")
    return record


def eval_prompts(folder: Path) -> dict[str, str]:
    """The user turn of every held-out evaluation prompt under `folder` -> where it is."""
    prompts = {}
    for path in sorted(folder.rglob("*.heldout.jsonl")) if folder.is_dir() else []:
        for lineno, item in jsonl_rows(path.read_text(encoding="utf-8"), str(path), "eval-item"):
            for turn in item.get("prompt", []):
                if isinstance(turn, dict) and turn.get("role") == "user":
                    prompts[str(turn.get("content"))] = f"{path}:{lineno}"
    return prompts


def _refuse_eval_item(path: Path, lineno: int, record: Any, held_out: dict[str, str]) -> None:
    """Evaluation items are never trained on: a file of them, or a record asking a held-out prompt,
    stops the mix."""
    if isinstance(record, dict) and "set" in record:
        raise LabtaxError(
            f"{path}:{lineno}:1: error[eval-item] an evaluation item (set {record['set']!r}); "
            "evaluation sets are never trained on"
        )
    users = (
        [
            m.get("content")
            for m in record.get("messages", [])
            if isinstance(m, dict) and m.get("role") == "user"
        ]
        if isinstance(record, dict)
        else []
    )
    clash = next((held_out[u] for u in users if u in held_out), None)
    if clash:
        raise LabtaxError(
            f"{path}:{lineno}:1: error[eval-item] this record asks the held-out evaluation prompt of "
            f"{clash}; it would train on the evaluation set"
        )


def current_records(
    records: list[dict[str, Any]], manifest: dict[str, Any] | None, leaves: set[str]
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The records mix may train on, and how many it drops by reason. A record counts only when its
    leaf is a leaf of the taxonomy today (not deleted, not a link labtax never reads) and it was
    generated from the leaf version the manifest names (a leftover of an older run is not)."""
    kept, dropped = [], Counter[str]()
    entries = (manifest or {}).get("leaves", {})
    for record in records:
        entry = entries.get(record["leaf"])
        if record["leaf"] not in leaves:
            dropped[
                f"{record['leaf']}: the leaf is not in the taxonomy (deleted, or a link that is not read)"
            ] += 1
        elif entry is None:
            dropped[f"{record['leaf']}: not in {MANIFEST} (not written by labtax generate)"] += 1
        elif entry.get("leaf_hash") != record["provenance"]["leaf_hash"]:
            dropped[
                f"{record['leaf']}: generated from another version of the leaf than {MANIFEST} names"
            ] += 1
        else:
            kept.append(record)
    return kept, dict(sorted(dropped.items()))


def read_manifest(input_dir: Path) -> dict[str, Any] | None:
    """generate's manifest.json in `input_dir`, or None when there is none or it is not readable."""
    try:
        data = json.loads((input_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("leaves"), dict) else None


def taxonomy_leaves(config: Config) -> tuple[list[Leaf], list[str]]:
    """The leaves of the taxonomy labtax reads, and one line for each it cannot (a link leading
    outside, a file that does not load): those add nothing to any phase."""
    leaves, skipped = [], []
    for qna in find_leaves(config.taxonomy_root):
        try:
            leaves.append(
                load_leaf(config.root, qna.relative_to(config.root).as_posix(), config.data["taxonomy_root"])
            )
        except LabtaxError as exc:
            skipped.append(exc.message)
    return leaves, skipped


def seed_records(leaves: list[Leaf]) -> list[dict[str, Any]]:
    """The leaves' own seed examples as chat records. Knowledge seeds are asked without their
    passage (the student must learn the fact); grounded skills keep the context in the prompt."""
    out = []
    for leaf in leaves:
        for i, seed in enumerate(leaf.seed_examples):
            digest = _seed_id(leaf, i, seed.question)
            messages = chat_messages(leaf, seed.question, seed.answer, seed.context)
            out.append(
                {"id": digest, "leaf": leaf.path, "branch": leaf.branch, "messages": messages, "seed": True}
            )
    return out


def _seed_id(leaf: Leaf, index: int, question: str) -> str:
    return hashlib.sha256(f"{leaf.path}\0{index}\0{question}".encode()).hexdigest()[:32]


def seed_locations(root: Path, leaves: list[Leaf]) -> dict[str, str]:
    """Seed record id -> where its question is (qna.yaml path:line), as seed_records names them."""
    out = {}
    for leaf in leaves:
        path = root / leaf.path
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            lines = []
        for i, seed in enumerate(leaf.seed_examples):
            out[_seed_id(leaf, i, seed.question)] = f"{path}:{seed_line(lines, seed.question)}"
    return out


def seed_line(lines: list[str], question: str) -> int:
    """The line of a qna.yaml where a seed question starts, found by its first words; 1 when the YAML
    folds it past recognition."""
    first = question.strip().splitlines()[0][:40] if question.strip() else ""
    return next((i for i, line in enumerate(lines, 1) if first and first in line), 1)
