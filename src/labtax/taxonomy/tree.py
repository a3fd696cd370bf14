"""Walking the taxonomy: what a leaf is and which branch it belongs to. No git here."""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePosixPath

BRANCHES = ("knowledge", "foundational_skills", "compositional_skills")
LEAF_FILE = "qna.yaml"
# A file named like a leaf but maybe spelled differently (qna.yml, QNA.yaml): lint reports it,
# never ignores it.
LEAF_LIKE = re.compile(r"qna\.ya?ml", re.IGNORECASE)


def branch_of(leaf_path: str | PurePosixPath, taxonomy_root: str = "taxonomy") -> str | None:
    """The branch of a path under the taxonomy root ("knowledge", ...), or None outside it.

    `leaf_path` is relative to the repository root, e.g. taxonomy/knowledge/physics/qna.yaml.
    """
    parts = PurePosixPath(leaf_path).parts
    root = PurePosixPath(taxonomy_root).parts
    if parts[: len(root)] != root or len(parts) <= len(root):
        return None
    branch = parts[len(root)]
    return branch if branch in BRANCHES else None


def unread_link(path: Path, taxonomy_root: Path) -> str | None:
    """Why labtax never reads the leaf file `path`, or None when it does. One rule for every command:
    a folder link on the way down from the taxonomy root is not followed, and a file link leading
    outside the taxonomy is not read (a link could expose any file on the machine)."""
    root = Path(os.path.abspath(taxonomy_root))
    path = Path(os.path.abspath(path))
    folder = path.parent
    while folder != root and folder.is_relative_to(root):
        if folder.is_symlink():
            return (
                f"is in {folder.name}/, a symbolic link to {os.path.realpath(folder)}; "
                "linked folders are not followed: store the folder itself"
            )
        folder = folder.parent
    if path.is_symlink() and not Path(os.path.realpath(path)).is_relative_to(os.path.realpath(root)):
        return (
            f"is a symbolic link to {os.path.realpath(path)}, outside the taxonomy; "
            "store the file itself in the taxonomy"
        )
    return None


def find_leaves(taxonomy_root: Path) -> list[Path]:
    """Every qna.yaml under the three branches of `taxonomy_root`, sorted.

    Symlinked folders are not followed (a link may point outside the taxonomy).
    """
    found: list[Path] = []
    for branch in BRANCHES:
        top = taxonomy_root / branch
        if not top.is_dir():
            continue
        for folder, dirs, files in os.walk(top):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            if LEAF_FILE in files:
                found.append(Path(folder) / LEAF_FILE)
    return sorted(found)
