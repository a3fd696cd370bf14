"""`labtax fmt`: normalise leaves with ruamel.yaml round-trip, keeping comments and content.

Normal form: 2-space mapping indent, list items indented by 2 under their key (`  - question:`),
keys in the canonical order below (unknown keys after them, in their order), Unix newlines and
one final newline. Text is never re-wrapped or re-quoted.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from labtax.config import Config
from labtax.files import write_text_atomic
from labtax.lint.engine import collect_files, leaf_source
from labtax.lint.source import read_source

KEY_ORDER = (
    "version", "created_by", "domain", "task_description", "document_outline", "seed_examples", "document",
    "context", "question", "answer", "questions_and_answers", "repo", "commit", "patterns", "license",
)  # fmt: skip
# Load facts (from labtax.lint.source) that mean the file cannot be formatted safely.
UNFORMATTABLE = {
    "file_name",
    "symlink",
    "too_big",
    "unreadable",
    "binary",
    "syntax",
    "anchor",
    "duplicate_key",
}


@dataclass
class FmtResult:
    changed: list[str] = field(default_factory=list)  # display paths reformatted (or that would be)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (display path, why)


def format_text(text: str) -> str:
    """The normal form of a leaf's YAML text."""
    yaml = _yaml()
    data = yaml.load(text)
    _reorder(data)
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def format_paths(paths: list[Path], config: Config, check: bool = False) -> FmtResult:
    """Normalise every leaf under `paths`; with `check`, only report the ones that would change."""
    result = FmtResult()
    for path in collect_files(paths):
        source = read_source(leaf_source(path, config))
        blocked = sorted(UNFORMATTABLE & source.facts.keys())
        if blocked or not source.is_mapping:
            result.skipped.append(
                (source.rel, f"not formatted: fix what `labtax lint {source.rel}` reports first")
            )
            continue
        original = source.path.read_text(encoding="utf-8")
        formatted = format_text(source.text or "")
        if formatted != original:
            result.changed.append(source.rel)
            if not check:
                write_text_atomic(source.path, formatted)
    return result


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096  # never re-wrap a contributor's lines
    return yaml


def _reorder(node: Any) -> None:
    if isinstance(node, CommentedMap):
        rank = {key: i for i, key in enumerate(KEY_ORDER)}
        current = list(node.keys())
        wanted = sorted(current, key=lambda k: (rank.get(k, len(rank)), current.index(k)))
        if wanted != current:
            for key in wanted:
                node.move_to_end(key)
        for value in node.values():
            _reorder(value)
    elif isinstance(node, CommentedSeq):
        for item in node:
            _reorder(item)
