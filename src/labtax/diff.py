"""Which taxonomy leaves changed between a base and the working tree.

This is the single "what changed" of labtax: `labtax diff`, `lint --changed` and
`generate` all call `changed_leaves`. Git is asked for the changed files once (plus the
untracked ones); only folders touched by those files are looked at, so the cost grows
with the change, not with the history or the size of the taxonomy.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from git import Repo
from ruamel.yaml import YAML

from labtax.config import load_config
from labtax.errors import GitError
from labtax.taxonomy.documents import glob_match
from labtax.taxonomy.git import (
    FileChange,
    blob_ids,
    diff_against,
    empty_tree,
    has_commits,
    merge_base,
    open_repo,
    repo_root,
    resolve_commit,
    untracked,
)
from labtax.taxonomy.tree import LEAF_FILE, LEAF_LIKE, branch_of

EMPTY_BASE = "empty"  # `--base empty`: compare with nothing, so every leaf is "added"
DEFAULT_BASES = ("origin/main", "main")  # tried in order when neither --base nor default_base is set
ATTRIBUTION = "attribution.txt"

# git's status letters (see `git diff --name-status`) -> LeafChange.status
_STATUS = {
    "A": "added",
    "C": "added",
    "M": "modified",
    "T": "modified",
    "U": "modified",
    "D": "deleted",
    "R": "renamed",
}
LETTER = {"added": "A", "modified": "M", "deleted": "D", "renamed": "R"}


@dataclass(frozen=True, order=True)
class LeafChange:
    """One changed leaf. `path` is its qna.yaml relative to the repo root (posix); a deleted leaf
    keeps its old path."""

    path: str
    status: str  # "added" | "modified" | "deleted" | "renamed"
    old_path: str | None  # the previous qna.yaml path of a renamed leaf, else None
    branch: str  # "knowledge" | "foundational_skills" | "compositional_skills"


@dataclass(frozen=True)
class ChangeSet:
    """What changed under the taxonomy: the leaves, and the changed files named like a leaf but not
    exactly `qna.yaml` (qna.yml, QNA.yaml), which are no leaf yet `labtax lint --changed` must report."""

    leaves: list[LeafChange]
    stray_leaf_files: list[str]
    base: str = ""  # what was compared with, for people: "main (merge-base 1a2b3c4)", "the empty tree"


def changed_leaves(
    repo: Path | str, base: str | None = None, taxonomy_root: str = "taxonomy"
) -> list[LeafChange]:
    """The leaves changed between `base` and the working tree (committed, staged, unstaged, untracked),
    sorted by path.

    `base` None: labtax.yaml's `default_base`, else the merge-base of HEAD with origin/main, else with main.
    `base` "empty": every leaf, as added. Raises GitError outside a repository or when the base does
    not resolve.
    """
    return change_set(repo, base, taxonomy_root).leaves


def change_set(repo: Path | str, base: str | None = None, taxonomy_root: str = "taxonomy") -> ChangeSet:
    """`changed_leaves` plus the stray leaf-like files, from the same single question to git.

    `repo` is the folder holding labtax.yaml: the git top level or a folder inside it. Paths in the
    result are relative to that folder, like every other path labtax reports.
    """
    git_repo = open_repo(repo)
    root = repo_root(git_repo)
    prefix = Path(repo).resolve().relative_to(root.resolve()).as_posix()
    inner = taxonomy_root if prefix == "." else f"{prefix}/{taxonomy_root}"  # the taxonomy as git sees it
    base_name, base_id = named_base(
        git_repo, base if base is not None else load_config(Path(repo)).data["default_base"]
    )
    files = diff_against(git_repo, base_id, inner)
    files += [FileChange("A", path) for path in untracked(git_repo, inner)]
    stray = sorted({f.path for f in files if f.status != "D" and _is_stray_leaf_file(f.path, inner)})
    leaves = leaf_changes(root, _pair_moved_leaves(git_repo, files, inner), inner)
    if prefix == ".":
        return ChangeSet(leaves, stray, base_name)
    strip = len(prefix) + 1
    return ChangeSet(
        [
            LeafChange(c.path[strip:], c.status, c.old_path[strip:] if c.old_path else None, c.branch)
            for c in leaves
        ],
        [path[strip:] for path in stray],
        base_name,
    )


def _is_stray_leaf_file(path: str, taxonomy_root: str) -> bool:
    name = PurePosixPath(path).name
    return (
        name != LEAF_FILE
        and LEAF_LIKE.fullmatch(name) is not None
        and branch_of(path, taxonomy_root) is not None
    )


def resolve_base(repo: Repo, base: str | None) -> str:
    """The commit (or empty tree) to compare the working tree with.

    A named base is used through its merge-base with HEAD, so commits that landed on the base
    branch after this branch left it do not show up as changes (like a pull request's diff).
    """
    return named_base(repo, base)[1]


def named_base(repo: Repo, base: str | None) -> tuple[str, str]:
    """`resolve_base`, with a description of it for people ("main (merge-base 1a2b3c4)")."""
    # Before the first commit there is nothing to compare with: everything is new. That also holds for
    # `--base HEAD` (the pre-commit hook's base), which names no commit yet.
    if base == EMPTY_BASE or (base in (None, "HEAD") and not has_commits(repo)):
        return "the empty tree (every leaf is new)", empty_tree(repo)
    for ref in (base,) if base is not None else DEFAULT_BASES:
        commit = resolve_commit(repo, ref)
        if commit is not None:
            head = resolve_commit(repo, "HEAD")
            found = (merge_base(repo, head, commit) if head else None) or commit
            how = f"merge-base {found[:7]}" if found != commit else found[:7]
            return f"{ref} ({how})", found
    if base is not None:
        raise GitError(
            f"base '{base}' does not name a commit in this repository (tried: {base}); "
            "pass a branch, tag or commit id, or --base empty to list every leaf"
        )
    raise GitError(
        f"no base to compare with: tried {', '.join(DEFAULT_BASES)} and neither exists; "
        "pass --base REF or set default_base in labtax.yaml"
    )


def leaf_changes(root: Path, files: list[FileChange], taxonomy_root: str) -> list[LeafChange]:
    """Fold changed files into changed leaves: a qna.yaml change is the leaf's own; an attribution.txt or
    a local document the leaf references makes the leaf "modified"."""
    by_folder: dict[str, LeafChange] = {}
    for change in _qna_changes(files, taxonomy_root):
        by_folder[_folder(change.path)] = change
        if change.old_path:
            by_folder[_folder(change.old_path)] = change
    for file in files:
        for path in (file.path, file.old_path):
            if path is None or _is_leaf_file(path, taxonomy_root):
                continue
            folder = _owner(root, path, by_folder, taxonomy_root)
            if folder is not None and folder not in by_folder and _belongs_to_leaf(root, folder, path):
                leaf = f"{folder}/{LEAF_FILE}"
                by_folder[folder] = LeafChange(leaf, "modified", None, branch_of(leaf, taxonomy_root) or "")
    return sorted(set(by_folder.values()))


def format_text(changes: list[LeafChange]) -> str:
    """One line per leaf: `A  path`, or `R  old -> new` for a renamed leaf."""
    lines = []
    for change in changes:
        shown = (
            f"{quote_path(change.old_path)} -> {quote_path(change.path)}"
            if change.old_path
            else quote_path(change.path)
        )
        lines.append(f"{LETTER[change.status]}  {shown}")
    return "\n".join(lines)


def quote_path(path: str) -> str:
    """`path` as is, or in double quotes with C-style escapes (as git's core.quotePath) when it holds
    a control character, a quote or a backslash: a newline in a folder name must not start a line
    of its own (a CI log would read `::error ...` there as a command)."""
    if any(ord(c) < 0x20 or ord(c) == 0x7F or c in '"\\' for c in path):
        return json.dumps(path, ensure_ascii=False)
    return path


def format_json(changes: list[LeafChange]) -> str:
    """A JSON array of {path, status, old_path, branch}."""
    return json.dumps([asdict(change) for change in changes], indent=2)


def _qna_changes(files: list[FileChange], taxonomy_root: str) -> list[LeafChange]:
    """The leaf-level changes git reports directly on qna.yaml files."""
    out = []
    for file in files:
        new_is_leaf = _is_leaf_file(file.path, taxonomy_root)
        old_is_leaf = file.old_path is not None and _is_leaf_file(file.old_path, taxonomy_root)
        status = _STATUS.get(file.status, "modified")
        if file.status == "R" and not (new_is_leaf and old_is_leaf):
            # e.g. qna.yaml renamed to qna.yml: the leaf is gone (lint flags the stray file), or the reverse
            if old_is_leaf:
                out.append(_change(file.old_path, "deleted", None, taxonomy_root))
            if new_is_leaf:
                out.append(_change(file.path, "added", None, taxonomy_root))
        elif new_is_leaf:
            out.append(
                _change(file.path, status, file.old_path if status == "renamed" else None, taxonomy_root)
            )
    return out


def _change(path: str, status: str, old_path: str | None, taxonomy_root: str) -> LeafChange:
    return LeafChange(path, status, old_path, branch_of(path, taxonomy_root) or "")


def _pair_moved_leaves(repo: Repo, files: list[FileChange], taxonomy_root: str) -> list[FileChange]:
    """A leaf moved with plain `mv` shows as a deleted tracked qna.yaml plus an untracked one; git cannot pair
    them (the new file is not in the index), so pair them here when the content is identical."""
    # A file removed from the index but still on disk reads as deleted + untracked at one path:
    # it is modified.
    removed = {f.path for f in files if f.status == "D"}
    same = {f.path for f in files if f.status == "A" and f.path in removed}
    files = [f for f in files if f.path not in same] + [FileChange("M", path) for path in sorted(same)]
    deleted = {
        f.old_blob: f
        for f in files
        if f.status == "D" and f.old_blob and _is_leaf_file(f.path, taxonomy_root)
    }
    added = [f for f in files if f.status == "A" and _is_leaf_file(f.path, taxonomy_root)]
    if not deleted or not added:
        return files
    out = [f for f in files if f not in added]
    for file, blob in zip(added, blob_ids(repo, [f.path for f in added]), strict=True):
        gone = deleted.pop(blob, None)
        if gone is None:
            out.append(file)
        else:
            out.remove(gone)
            out.append(FileChange("R", file.path, old_path=gone.path))
    return out


def _is_leaf_file(path: str, taxonomy_root: str) -> bool:
    return PurePosixPath(path).name == LEAF_FILE and branch_of(path, taxonomy_root) is not None


def _folder(path: str) -> str:
    return str(PurePosixPath(path).parent)


def _owner(root: Path, path: str, known: dict[str, LeafChange], taxonomy_root: str) -> str | None:
    """The leaf folder a non-qna file sits in: the nearest folder above it that is a changed leaf or holds
    a qna.yaml (leaves do not nest), searching no higher than its branch folder."""
    branch = branch_of(path, taxonomy_root)
    if branch is None:
        return None
    top = PurePosixPath(taxonomy_root, branch)
    folder = PurePosixPath(path).parent
    while True:
        if str(folder) in known or (root / folder / LEAF_FILE).is_file():
            return str(folder)
        if folder == top or len(folder.parts) <= len(top.parts):
            return None
        folder = folder.parent


def _belongs_to_leaf(root: Path, folder: str, path: str) -> bool:
    """True for the leaf's attribution.txt and for local documents its qna.yaml references.

    Only leaves owning a changed file are read here. A qna.yaml that cannot be read counts the file
    in (the leaf is then listed and `lint --changed` explains what is wrong with it).
    """
    rel = PurePosixPath(path).relative_to(folder)
    if str(rel) == ATTRIBUTION:
        return True
    try:
        data: Any = YAML(typ="safe", pure=False).load((root / folder / LEAF_FILE).read_text(encoding="utf-8"))
        document = data.get("document") if isinstance(data, dict) else None
        if not isinstance(document, dict) or document.get("repo"):
            return False  # no documents, or remote ones: files here are not the leaf's sources
        return any(glob_match(str(rel), str(p)) for p in document.get("patterns") or [])
    except Exception:  # noqa: BLE001 - any unreadable leaf is reported, not hidden
        return True
