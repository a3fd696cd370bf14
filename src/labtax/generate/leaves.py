"""Which leaves a generate run works on, and which old outputs it removes.

Default: the changed leaves exactly as `labtax diff` reports them (deleted leaves, and the old
path of renamed ones, lose their outputs). `--all`: every leaf (outputs of leaves that no
longer exist are removed). LEAF arguments: those leaves only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from labtax.diff import changed_leaves
from labtax.errors import LabtaxError
from labtax.taxonomy import branch_of, find_leaves
from labtax.taxonomy.tree import LEAF_FILE


@dataclass(frozen=True)
class Selection:
    generate: list[str] = field(default_factory=list)  # qna.yaml paths relative to the repo root
    remove: list[str] = field(default_factory=list)  # leaves whose outputs go away
    how: str = "changed"  # "changed" | "all" | "explicit"


def select_leaves(
    root: Path,
    taxonomy_root: str,
    *,
    leaves: tuple[str, ...],
    all_leaves: bool,
    base: str | None,
    known: list[str],
) -> Selection:
    """The selection for one run; `known` lists the leaves the manifest has outputs for."""
    if leaves:
        return Selection(sorted({_leaf_arg(root, arg, taxonomy_root) for arg in leaves}), [], "explicit")
    if all_leaves:
        present = [p.relative_to(root).as_posix() for p in find_leaves(root / taxonomy_root)]
        return Selection(present, sorted(set(known) - set(present)), "all")
    generate, remove = [], []
    for change in changed_leaves(root, base, taxonomy_root):
        if change.status == "deleted":
            remove.append(change.path)
            continue
        if change.status == "renamed" and change.old_path:
            remove.append(change.old_path)
        generate.append(change.path)
    return Selection(sorted(generate), sorted(remove), "changed")


def _leaf_arg(root: Path, arg: str, taxonomy_root: str) -> str:
    """A LEAF argument (a leaf folder or its qna.yaml, relative to the cwd or the root) as a qna.yaml path."""
    for base in (Path.cwd(), root):
        path = (base / arg).resolve()
        if path.is_dir():
            path = path / LEAF_FILE
        if path.is_file() and path.name == LEAF_FILE:
            try:
                relative = path.relative_to(root.resolve()).as_posix()
            except ValueError:
                raise LabtaxError(f"{arg}: not inside the repository {root}") from None
            if branch_of(relative, taxonomy_root) is None:
                raise LabtaxError(
                    f"{arg}: not a leaf under {taxonomy_root}/knowledge, "
                    "foundational_skills or compositional_skills"
                )
            return relative
    raise LabtaxError(f"{arg}: no such leaf (give a leaf folder or its {LEAF_FILE})")
