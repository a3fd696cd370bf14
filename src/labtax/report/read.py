"""Reading what the report shows: an output folder of `labtax generate` (records, dropped
candidates, manifest), an earlier state of it (a folder, a manifest.json, or a git ref),
eval.json and a training run. Bad files give one located error; nothing here formats."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labtax.errors import LabtaxError
from labtax.files import jsonl_rows
from labtax.generate.output import MANIFEST, dropped_path
from labtax.taxonomy import git
from labtax.train import metrics

EVAL_NAME = "eval.json"


@dataclass
class Output:
    """One state of an output folder: the manifest and, per leaf path, its records and dropped candidates.
    `records` is None for a leaf whose records file is not at hand (an earlier manifest on its own)."""

    manifest: dict[str, Any]
    records: dict[str, list[dict[str, Any]] | None] = field(default_factory=dict)
    dropped: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    label: str = ""


def parse_jsonl(text: str, where: str) -> list[dict[str, Any]]:
    """The objects of a JSONL text; a bad line is a located error (`where:line:col`)."""
    return [row for _, row in jsonl_rows(text, where)]


def parse_json(text: str, where: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LabtaxError(
            f"{where}:{exc.lineno}:{exc.colno}: error[json] not valid JSON: {exc.msg}"
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("leaves", {}), dict):
        raise LabtaxError(f"{where}:1:1: error[json] expected a JSON object")
    return data


def read_output(folder: Path, rows: bool = True) -> Output:
    """The output folder as `labtax generate` left it; without `rows`, the manifest only (its counts
    are enough for a summary). A leaf listed in the manifest whose records file is missing reads as
    no records (the report shows it as a zero-yield leaf)."""
    manifest_file = folder / MANIFEST
    if not manifest_file.is_file():
        raise LabtaxError(f"{folder}: no {MANIFEST} here; run `labtax generate` first or pass --input")
    read = (
        (lambda relative: _text(folder / relative))
        if rows
        else (lambda relative: _text(folder / relative) if relative == MANIFEST else None)
    )
    return _read_state(read, str(manifest_file), label=str(folder))


def read_earlier(since: str, folder: Path) -> Output:
    """The state to compare with: a folder or manifest.json path (its folder's records where present),
    else a git ref (the output folder's files at that commit)."""
    path = Path(since)
    if path.is_dir():
        return read_output(path)
    if path.is_file():
        return _read_state(lambda relative: _text(path.parent / relative), str(path), label=str(path))
    return _at_ref(since, folder)


def _at_ref(ref: str, folder: Path) -> Output:
    repo = git.open_repo(folder.parent if not folder.exists() else folder)
    commit = git.resolve_commit(repo, ref)
    if commit is None:
        raise LabtaxError(f"--since {ref}: neither a file, a folder nor a git ref that names a commit")
    prefix = folder.resolve().relative_to(git.repo_root(repo).resolve()).as_posix()
    state = _read_state(
        lambda relative: git.file_at(repo, commit, f"{prefix}/{relative}"),
        f"{ref}:{prefix}/{MANIFEST}",
        label=ref,
    )
    return state


def _read_state(read: Any, where: str, label: str) -> Output:
    """`read(relative path) -> text or None` over one state of the output folder."""
    text = read(MANIFEST)
    manifest = parse_json(text, where) if text is not None else {"leaves": {}}
    state = Output(manifest, label=label)
    for leaf, entry in manifest.get("leaves", {}).items():
        relative = str(entry.get("output", ""))
        records = read(relative) if relative else None
        state.records[leaf] = parse_jsonl(records, relative) if records is not None else None
        dropped = read(dropped_path(Path(relative)).as_posix()) if relative else None
        state.dropped[leaf] = parse_jsonl(dropped, relative) if dropped is not None else []
    return state


def _text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise LabtaxError(f"{path}: cannot read: {exc}") from None


def read_eval(path: Path) -> dict[str, Any] | None:
    """eval.json (`labtax eval`): {"models": [{name, path, phase, metrics, by_leaf}], "regressions": [...]};
    None when absent."""
    text = _text(path)
    if text is None:
        return None
    data = parse_json(text, str(path))
    if not isinstance(data.get("models", []), list):
        raise LabtaxError(f"{path}:1:1: error[eval] `models` must be a list")
    return data


def read_run(run_dir: Path) -> dict[str, Any]:
    """A training run's journal (when present) and metrics.jsonl rows."""
    if not run_dir.is_dir():
        raise LabtaxError(f"--run {run_dir}: no such folder")
    journal = _text(run_dir / "journal.json")
    return {
        "name": run_dir.name,
        "journal": parse_json(journal, str(run_dir / "journal.json")) if journal else {},
        "metrics": metrics.read(run_dir),
    }
