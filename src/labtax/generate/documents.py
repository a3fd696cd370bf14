"""A knowledge leaf's documents: local files in the leaf folder, or a git repository pinned
to a commit, cloned once into the labtax cache. Markdown and plain text are read; paths are
resolved and refused when they escape the leaf folder (local) or the clone (remote).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from labtax.embedded import cache_root
from labtax.errors import LabtaxError
from labtax.taxonomy import Leaf
from labtax.taxonomy.documents import default_extensions, match_files, repo_url_allowed

_TOKEN = re.compile(r"\S+")


@dataclass(frozen=True)
class Chunk:
    """A passage of a document: its text and the document it came from (for the record's `source`)."""

    text: str
    source: str


def load_documents(repo_root: Path, leaf: Leaf, extensions: tuple[str, ...] | None = None) -> list[tuple[str, str]]:
    """(source name, text) of every document file of `leaf` with one of `extensions` (default:
    lint.document_extensions), sorted by name."""
    if leaf.document is None or not leaf.document.patterns:
        raise LabtaxError(f"{leaf.path}: a knowledge leaf needs document.patterns")
    if leaf.document.is_local:
        base = (repo_root / leaf.folder).resolve()
        label = leaf.folder
    else:
        base = clone_at(str(leaf.document.repo), str(leaf.document.commit or ""), leaf.path)
        label = str(leaf.document.repo)
    files = _match(base, leaf.document.patterns, leaf.path, extensions or default_extensions())
    return [(f"{label}/{path.relative_to(base).as_posix()}", _read(path, leaf.path)) for path in files]


def _match(base: Path, patterns: tuple[str, ...], leaf_path: str, extensions: tuple[str, ...]) -> list[Path]:
    found: set[Path] = set()
    for pattern in patterns:
        if Path(pattern).is_absolute() or ".." in Path(pattern).parts:
            raise LabtaxError(f"{leaf_path}: document pattern {pattern!r} leaves its folder")
        for path in match_files(base, pattern):
            resolved = path.resolve()
            if not resolved.is_relative_to(base):  # a symlink pointing outside
                raise LabtaxError(f"{leaf_path}: document {path.name} resolves outside {base}")
            if resolved.is_file() and resolved.name.lower().endswith(extensions):
                found.add(resolved)
    if not found:
        raise LabtaxError(f"{leaf_path}: document patterns {list(patterns)} match no Markdown or text file in {base}")
    return sorted(found)


def _read(path: Path, leaf_path: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LabtaxError(f"{leaf_path}: cannot read document {path.name} ({exc})") from None


def clone_at(url: str, commit: str, leaf_path: str) -> Path:
    """A clone of `url` checked out at `commit`, kept under the labtax cache and reused."""
    from git import GitCommandError, Repo

    if not re.fullmatch(r"[0-9a-f]{40}", commit):
        raise LabtaxError(f"{leaf_path}: document.commit must be a full 40-hex commit id, got {commit!r}")
    if not repo_url_allowed(url):
        raise LabtaxError(f"{leaf_path}: document.repo {url!r} is not an https://, http://, ssh://, git@host:path or file:// URL or a local path; run `labtax lint {leaf_path}`")
    target = cache_root() / "documents" / hashlib.sha256(url.encode()).hexdigest()[:24]
    try:
        repo = Repo(target) if (target / ".git").is_dir() else Repo.clone_from(url, target, no_checkout=True)
        if repo.head.is_valid() and repo.head.commit.hexsha == commit and not repo.is_dirty(untracked_files=False):
            return target.resolve()
        if not _has_commit(repo, commit):
            repo.git.fetch("origin", commit)
        repo.git.checkout("--force", "--detach", commit)
    except GitCommandError as exc:
        raise LabtaxError(f"{leaf_path}: cannot get documents from {url} at {commit[:12]}: {exc.stderr.strip() or exc}") from None
    return target.resolve()


def _has_commit(repo: object, commit: str) -> bool:
    from git import BadName, GitCommandError

    try:
        repo.commit(commit)  # type: ignore[attr-defined]
        return True
    except (BadName, ValueError, GitCommandError):
        return False


def chunk_text(text: str, source: str, size: int, overlap: int) -> list[Chunk]:
    """Windows of `size` whitespace tokens, each starting `size - overlap` tokens after the last.

    Chunks are slices of the original text, so Markdown layout survives.
    """
    spans = [m.span() for m in _TOKEN.finditer(text)]
    if not spans:
        return []
    step = max(1, size - overlap)
    chunks = []
    for start in range(0, len(spans), step):
        window = spans[start : start + size]
        chunks.append(Chunk(text[window[0][0] : window[-1][1]], source))
        if start + size >= len(spans):
            break
    return chunks


def leaf_chunks(repo_root: Path, leaf: Leaf, size: int, overlap: int, extensions: tuple[str, ...] | None = None) -> list[Chunk]:
    """Every chunk of every document of `leaf`, in document order."""
    return [chunk for source, text in load_documents(repo_root, leaf, extensions) for chunk in chunk_text(text, source, size, overlap)]
