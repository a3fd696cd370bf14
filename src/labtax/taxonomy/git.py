"""One git question per small typed function (gitpython runs the git binary for us).

Nothing here walks history or reads leaves: `diff_against` asks git for the raw
name-status between a base and the working tree once, `untracked` lists new files once.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from git import Repo
from git.exc import (
    GitCommandError,
    GitCommandNotFound,
    InvalidGitRepositoryError,
    NoSuchPathError,
)

from labtax.errors import GitError


@dataclass(frozen=True)
class FileChange:
    """One changed file between a base tree and the working tree (paths relative to the repo root, posix).

    `status` is git's letter (A, M, D, R, T, U). `old_blob` is the base version's blob id
    (for deleted and renamed files), used to pair a deleted file with an untracked copy.
    """

    status: str
    path: str
    old_path: str | None = None
    old_blob: str | None = None


def head_commit(folder: Path | str) -> str | None:
    """The commit checked out in `folder` (searching upwards), or None outside a repository or before
    the first commit."""
    try:
        return Repo(folder, search_parent_directories=True).head.commit.hexsha
    except (InvalidGitRepositoryError, NoSuchPathError, ValueError):
        return None


def open_repo(path: Path | str) -> Repo:
    """The repository holding `path` (searching parent folders). Raises GitError outside one."""
    try:
        return Repo(path, search_parent_directories=True)
    except (InvalidGitRepositoryError, NoSuchPathError):
        raise GitError(
            f"{Path(path).resolve()} is not inside a git repository (labtax diff needs one)"
        ) from None
    except GitCommandNotFound:
        raise GitError("git is not installed or not on PATH") from None


def repo_root(repo: Repo) -> Path:
    """The top folder of the working tree. Raises GitError for a bare repository."""
    if repo.working_tree_dir is None:
        raise GitError(f"{repo.git_dir} is a bare repository: there is no working tree to compare")
    return Path(repo.working_tree_dir)


def resolve_commit(repo: Repo, ref: str) -> str | None:
    """The full commit id `ref` names, or None when it names no commit."""
    if not ref or ref.startswith("-"):  # never let a ref be read as an option
        return None
    try:
        return (
            repo.git.rev_parse("--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}").strip() or None
        )
    except GitCommandError:
        return None


def has_commits(repo: Repo) -> bool:
    """False in a freshly initialised repository (HEAD points to an unborn branch)."""
    return resolve_commit(repo, "HEAD") is not None


def merge_base(repo: Repo, first: str, second: str) -> str | None:
    """The best common ancestor of two commits, or None when their histories are unrelated."""
    try:
        return repo.git.merge_base(first, second).strip() or None
    except GitCommandError:
        return None


def empty_tree(repo: Repo) -> str:
    """The id of the empty tree in this repository's hash format (the base of "everything is new")."""
    return repo.git.hash_object("-t", "tree", "--stdin", istream=subprocess.DEVNULL).strip()


def diff_against(repo: Repo, base: str, pathspec: str) -> list[FileChange]:
    """Every tracked file under `pathspec` that differs between `base` (a commit or tree id) and the
    working tree (committed, staged and unstaged changes alike), with rename detection."""
    out = _run(
        repo,
        "diff",
        "--raw",
        "-z",
        "-M",
        "--no-abbrev",
        "--no-ext-diff",
        "--no-textconv",
        base,
        "--",
        pathspec,
    )
    return _parse_raw(out)


def untracked(repo: Repo, pathspec: str) -> list[str]:
    """Untracked files under `pathspec`, ignoring what .gitignore excludes."""
    out = _run(repo, "ls-files", "--others", "--exclude-standard", "-z", "--", pathspec)
    return [p for p in out.split("\0") if p]


def blob_ids(repo: Repo, paths: list[str]) -> list[str]:
    """The blob ids git would give these working-tree files (one call for all of them)."""
    if not paths:
        return []
    return _run(repo, "hash-object", "--", *paths).split()


def _run(repo: Repo, command: str, *args: str) -> str:
    """Run one git command; a failure (e.g. a repository git refuses as unsafe) becomes a GitError."""
    try:
        return repo.git.execute(["git", command, *args], strip_newline_in_stdout=False)
    except GitCommandError as exc:
        detail = (exc.stderr or "").strip()
        if detail.startswith("stderr: '") and detail.endswith("'"):  # gitpython's quoting
            detail = detail[len("stderr: '") : -1].strip()
        raise GitError(f"git {command} failed in {repo.working_tree_dir}: {detail or exc}") from None


def _parse_raw(out: str) -> list[FileChange]:
    """Parse `git diff --raw -z`: ':oldmode newmode oldsha newsha STATUS\\0path\\0[newpath\\0]'."""
    fields = out.split("\0")
    changes: list[FileChange] = []
    i = 0
    while i < len(fields) and fields[i].startswith(":"):
        meta = fields[i][1:].split()
        old_blob, status = meta[2], meta[4][0]
        if status in "RC":
            changes.append(FileChange(status, fields[i + 2], old_path=fields[i + 1], old_blob=old_blob))
            i += 3
        else:
            changes.append(FileChange(status, fields[i + 1], old_blob=old_blob if status == "D" else None))
            i += 2
    return changes


def file_at(repo: Repo, commit: str, path: str) -> str | None:
    """The text of `path` (relative to the repository root) at `commit`, or None when it is not there."""
    try:
        return repo.git.execute(["git", "show", f"{commit}:{path}"], strip_newline_in_stdout=False)
    except GitCommandError:
        return None
