"""`labtax lint`: located, explained findings for taxonomy leaves.

    problems = lint_paths([Path("taxonomy/knowledge/physics/kinematics/qna.yaml")], config)
    problems = lint_tree(config)

Rules live in labtax.lint.rules (one module each), the leaf formats in schemas/leaf-*.schema.json,
formatting in labtax.lint.output.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from labtax.config import Config
from labtax.diff import change_set
from labtax.errors import LabtaxError
from labtax.lint.engine import collect_files, lint_file, lint_files
from labtax.lint.problem import Problem
from labtax.lint.rules import RULES, Rule, rules_for

__all__ = [
    "RULES",
    "Problem",
    "Rule",
    "collect_files",
    "failed",
    "lint_file",
    "lint_files",
    "lint_paths",
    "lint_tree",
    "rules_for",
    "select_paths",
]


def lint_paths(paths: Sequence[Path], config: Config) -> list[Problem]:
    """Lint the given leaf files (folders are searched for leaves); sorted by path, line, column, rule."""
    return lint_files(collect_files(paths), config)


def lint_tree(config: Config) -> list[Problem]:
    """Lint every leaf (and every misnamed leaf file) under the configured taxonomy root."""
    return lint_paths(select_paths(config), config)


def failed(problems: Sequence[Problem], strict: bool = False) -> bool:
    """True when the run fails: an error, or with `strict` any problem at all."""
    return any(p.is_error or strict for p in problems)


def select_paths(
    config: Config, paths: Sequence[Path] = (), changed: bool = False, base: str | None = None
) -> list[Path]:
    """What `labtax lint` checks: the given paths, the leaves `labtax diff` reports, or the whole taxonomy."""
    if changed:
        if paths:
            raise LabtaxError("give either PATH arguments or --changed, not both")
        changes = change_set(config.root, base, config.data["taxonomy_root"])
        leaves = [change.path for change in changes.leaves if change.status != "deleted"]
        return [config.root / path for path in (*leaves, *changes.stray_leaf_files)]
    missing = [str(p) for p in paths if not p.exists() and not p.is_symlink()]
    if missing:
        raise LabtaxError(f"no such file or folder: {', '.join(missing)}")
    return list(paths) or [config.existing_taxonomy_root()]
