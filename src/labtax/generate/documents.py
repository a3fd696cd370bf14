"""A knowledge leaf's documents: local files in the leaf folder, or a git repository pinned
to a commit, cloned once into the labtax cache. Markdown, plain text, PDF (pypdf) and HTML are
read; paths are resolved and refused when they escape the leaf folder (local) or the clone (remote).

Each document keeps where its parts begin (PDF pages, Markdown and HTML headings), so every chunk
names its place as a URL fragment of its source: `doc.pdf#page=3`, `doc.md#velocity`.
"""

from __future__ import annotations

import bisect
import hashlib
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Callable

from labtax.errors import LabtaxError
from labtax.files import cache_root
from labtax.taxonomy import Leaf
from labtax.taxonomy.documents import default_extensions, match_files, repo_url_allowed

_TOKEN = re.compile(r"\S+")
_MD_HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t#]*$", re.MULTILINE)
_HTML_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_HTML_SKIPPED = {"script", "style", "head", "template", "noscript"}
_HTML_BLOCKS = {
    "p",
    "div",
    "br",
    "li",
    "tr",
    "section",
    "article",
    "table",
    "ul",
    "ol",
    "pre",
    "blockquote",
    *_HTML_HEADINGS,
}


@dataclass(frozen=True)
class Chunk:
    """A passage of a document: its text and where it came from (for the record's `source`):
    the document, and its place in it as a fragment (`page=3`, a heading's anchor) when known."""

    text: str
    source: str
    location: str = ""

    @property
    def reference(self) -> str:
        return f"{self.source}#{self.location}" if self.location else self.source


@dataclass(frozen=True)
class Document:
    """A document's text and the places its parts start: (character offset, fragment), sorted."""

    source: str
    text: str
    marks: list[tuple[int, str]] = field(default_factory=list)

    def location(self, offset: int) -> str:
        """The fragment of the part holding character `offset` ("" before the first mark)."""
        index = bisect.bisect_right([at for at, _ in self.marks], offset) - 1
        return self.marks[index][1] if index >= 0 else ""


def load_documents(repo_root: Path, leaf: Leaf, extensions: tuple[str, ...] | None = None) -> list[Document]:
    """Every document file of `leaf` with one of `extensions` (default: lint.document_extensions),
    sorted by name."""
    if leaf.document is None or not leaf.document.patterns:
        raise LabtaxError(f"{leaf.path}: a knowledge leaf needs document.patterns")
    if leaf.document.is_local:
        base = (repo_root / leaf.folder).resolve()
        label = leaf.folder
    else:
        base = clone_at(str(leaf.document.repo), str(leaf.document.commit or ""), leaf.path)
        label = str(leaf.document.repo)
    files = _match(base, leaf.document.patterns, leaf.path, extensions or default_extensions())
    documents = []
    for path in files:
        source = f"{label}/{path.relative_to(base).as_posix()}"
        text, marks = read_document(path, source)
        documents.append(Document(source, text, marks))
    return documents


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
        raise LabtaxError(
            f"{leaf_path}: document patterns {list(patterns)} match no document "
            f"({', '.join(extensions)}) in {base}"
        )
    return sorted(found)


def read_document(path: Path, source: str) -> tuple[str, list[tuple[int, str]]]:
    """The text of one document and where its parts start, by file type."""
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        return _read_pdf(path, source)
    text = _read_text(path, source)
    if suffix in (".html", ".htm"):
        return _html_text(text)
    if suffix in (".md", ".markdown"):
        return text, [(m.start(), anchor(m.group(1))) for m in _MD_HEADING.finditer(text)]
    return text, []


def _read_text(path: Path, source: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LabtaxError(f"{source}: cannot read document ({exc})") from None


def _read_pdf(path: Path, source: str) -> tuple[str, list[tuple[int, str]]]:
    """The text of every page (pypdf), pages separated by a blank line; each page is a part."""
    # imported only for PDF documents
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        pages = [page.extract_text() or "" for page in PdfReader(path).pages]
    except (OSError, PyPdfError, ValueError, KeyError) as exc:
        raise LabtaxError(f"{source}: cannot read PDF ({type(exc).__name__}: {exc})") from None
    if not any(page.strip() for page in pages):
        raise LabtaxError(
            f"{source}: no extractable text on any of its {len(pages)} page(s) (scanned images?); "
            "add a text layer with OCR, or store the document as Markdown or text"
        )
    text, marks = "", []
    for number, page in enumerate(pages, 1):
        marks.append((len(text), f"page={number}"))
        text += page.strip() + "\n\n"
    return text, marks


class _HTMLText(HTMLParser):
    """Visible text of an HTML page, one line per block; headings mark where their part starts."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.length = 0
        self.marks: list[tuple[int, str]] = []
        self.skipping = 0
        self.heading: tuple[int, str | None, list[str]] | None = None  # start, id attribute, text

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HTML_SKIPPED:
            self.skipping += 1
        elif tag in _HTML_BLOCKS:
            self._add("\n")
        if tag in _HTML_HEADINGS:
            self.heading = (self.length, dict(attrs).get("id"), [])

    def handle_endtag(self, tag: str) -> None:
        if tag in _HTML_SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _HTML_HEADINGS and self.heading is not None:
            start, ident, words = self.heading
            self.marks.append((start, ident or anchor(" ".join(words))))
            self.heading = None
        if tag in _HTML_BLOCKS:
            self._add("\n")

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        if self.heading is not None:
            self.heading[2].append(data.strip())
        self._add(re.sub(r"\s+", " ", data))

    def _add(self, text: str) -> None:
        self.parts.append(text)
        self.length += len(text)


def _html_text(html: str) -> tuple[str, list[tuple[int, str]]]:
    parser = _HTMLText()
    parser.feed(html)
    parser.close()
    return "".join(parser.parts), parser.marks


def anchor(heading: str) -> str:
    """A heading's anchor as GitHub writes it: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def clone_at(url: str, commit: str, leaf_path: str) -> Path:
    """A clone of `url` checked out at `commit`, kept under the labtax cache and reused."""
    # imported only for remote documents
    from git import GitCommandError, Repo

    if not re.fullmatch(r"[0-9a-f]{40}", commit):
        raise LabtaxError(f"{leaf_path}: document.commit must be a full 40-hex commit id, got {commit!r}")
    if not repo_url_allowed(url):
        raise LabtaxError(
            f"{leaf_path}: document.repo {url!r} is not an https://, http://, ssh://, git@host:path or "
            f"file:// URL or a local path; run `labtax lint {leaf_path}`"
        )
    target = cache_root() / "documents" / hashlib.sha256(url.encode()).hexdigest()[:24]
    try:
        repo = Repo(target) if (target / ".git").is_dir() else Repo.clone_from(url, target, no_checkout=True)
        if (
            repo.head.is_valid()
            and repo.head.commit.hexsha == commit
            and not repo.is_dirty(untracked_files=False)
        ):
            return target.resolve()
        if not _has_commit(repo, commit):
            repo.git.fetch("origin", commit)
        repo.git.checkout("--force", "--detach", commit)
    except GitCommandError as exc:
        raise LabtaxError(
            f"{leaf_path}: cannot get documents from {url} at {commit[:12]}: {exc.stderr.strip() or exc}"
        ) from None
    return target.resolve()


def _has_commit(repo: object, commit: str) -> bool:
    # imported only for remote documents
    from git import BadName, GitCommandError

    try:
        repo.commit(commit)  # type: ignore[attr-defined]
        return True
    except (BadName, ValueError, GitCommandError):
        return False


def chunk_text(
    text: str, source: str, size: int, overlap: int, document: Document | None = None
) -> list[Chunk]:
    """Windows of `size` whitespace tokens, each starting `size - overlap` tokens after the last.

    Chunks are slices of the original text, so Markdown layout survives. With `document`, each
    chunk is located at the part (page, heading) where it starts.
    """
    spans = [m.span() for m in _TOKEN.finditer(text)]
    if not spans:
        return []
    step = max(1, size - overlap)
    chunks = []
    for start in range(0, len(spans), step):
        window = spans[start : start + size]
        location = document.location(window[0][0]) if document else ""
        chunks.append(Chunk(text[window[0][0] : window[-1][1]], source, location))
        if start + size >= len(spans):
            break
    return chunks


def leaf_chunks(
    repo_root: Path, leaf: Leaf, size: int, overlap: int, extensions: tuple[str, ...] | None = None
) -> list[Chunk]:
    """Every chunk of every document of `leaf`, in document order."""
    return [
        chunk
        for d in load_documents(repo_root, leaf, extensions)
        for chunk in chunk_text(d.text, d.source, size, overlap, d)
    ]


def fit_chunks(chunks: list[Chunk], budget: int, count: Callable[[str], int]) -> list[Chunk]:
    """`chunks` with every chunk of more than `budget` tokens (by `count`) split in halves at a
    whitespace boundary until each fits; nothing is dropped or cut off."""
    fitted: list[Chunk] = []
    pending = list(reversed(chunks))
    while pending:
        chunk = pending.pop()
        if count(chunk.text) <= budget:
            fitted.append(chunk)
            continue
        spans = [m.span() for m in _TOKEN.finditer(chunk.text)]
        if len(spans) < 2:
            raise LabtaxError(
                f"{chunk.reference}: a single word of {count(chunk.text)} tokens does not fit the "
                f"teacher's context ({budget} tokens left for the passage); "
                "raise generate.context_tokens or lower generate.max_tokens.qa"
            )
        middle = spans[len(spans) // 2][0]
        halves = [chunk.text[:middle].rstrip(), chunk.text[middle:]]
        pending.extend(Chunk(half, chunk.source, chunk.location) for half in reversed(halves))
    return fitted
