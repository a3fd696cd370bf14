"""Which files a knowledge leaf's `document.patterns` name: one glob semantics for diff, lint and
generate (`*` stays inside a folder, `**` spans any number of folders, including none)."""

from __future__ import annotations

import os
import re
from fnmatch import fnmatchcase
from pathlib import Path, PurePosixPath

from labtax.schemas import apply_defaults, load_schema


def repo_url_allowed(url: str) -> bool:
    """True for the document repositories labtax clones: the schema's `document.repo` pattern, so lint
    and generate refuse the same URLs (git transports such as ext:: would run a command)."""
    pattern = load_schema("leaf-knowledge.schema.json")["properties"]["document"]["properties"]["repo"][
        "pattern"
    ]
    return re.search(pattern, url) is not None


def glob_match(rel: str, pattern: str) -> bool:
    """True when the posix path `rel` matches `pattern`, segment by segment."""
    return _match_parts(PurePosixPath(rel).parts, PurePosixPath(pattern.removeprefix("./")).parts)


def match_files(base: Path, pattern: str) -> list[Path]:
    """The files under `base` whose path relative to it matches `pattern`, sorted. Symlinked files
    are listed (callers decide whether they may point outside); symlinked folders are not entered."""
    found = []
    for folder, dirs, files in os.walk(base):
        dirs[:] = [d for d in dirs if d != ".git"]
        for name in files:
            path = Path(folder, name)
            if glob_match(path.relative_to(base).as_posix(), pattern):
                found.append(path)
    return sorted(found)


def default_extensions() -> tuple[str, ...]:
    """The document file extensions allowed by default (`lint.document_extensions` in the schema)."""
    return tuple(apply_defaults(load_schema("config-lint.schema.json"), {})["document_extensions"])


def _match_parts(parts: tuple[str, ...], pattern: tuple[str, ...]) -> bool:
    if not pattern:
        return not parts
    if pattern[0] == "**":
        return any(_match_parts(parts[i:], pattern[1:]) for i in range(len(parts) + 1))
    return bool(parts) and fnmatchcase(parts[0], pattern[0]) and _match_parts(parts[1:], pattern[1:])
