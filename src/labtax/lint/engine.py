"""Running the rules over files: one file at a time, or spread over the cores for big runs."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from labtax.config import Config
from labtax.lint.directives import directives, file_disabled, silenced
from labtax.lint.locate import compose, locate
from labtax.lint.problem import Finding, Problem, json_path
from labtax.lint.rules import Rule, rules_for
from labtax.lint.source import LeafSource, read_source
from labtax.resources import data_dir
from labtax.schemas import validator
from labtax.taxonomy.tree import LEAF_FILE, LEAF_LIKE

PARALLEL_FROM = 200  # below this many files, starting worker processes costs more than it saves


def collect_files(paths: Iterable[Path]) -> list[Path]:
    """Files named like a leaf (qna.yaml, and misspellings to report) under each folder; files as given."""
    found: set[Path] = set()
    for path in paths:
        path = Path(os.path.abspath(path))
        if not path.is_dir():
            found.add(path)
            continue
        for folder, dirs, files in os.walk(path):  # symlinked folders are not followed, but reported
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            found.update(Path(folder) / name for name in files if LEAF_LIKE.fullmatch(name))
            found.update(_linked_leaf(Path(folder) / d) for d in dirs if _linked_leaf(Path(folder) / d))
    return sorted(found)


def _linked_leaf(folder: Path) -> Path | None:
    """The leaf file inside a symbolic link to a folder (never walked into), to be reported."""
    return folder / LEAF_FILE if folder.is_symlink() and (folder / LEAF_FILE).is_file() else None


def lint_file(path: Path, config: Config) -> list[Problem]:
    """Every problem of one file, located and sorted."""
    source = leaf_source(path, config)
    read_source(source)
    found: list[tuple[Rule, Finding]] = []
    rules = rules_for(source.profile, source.settings["disable"])
    # Gate rules (wrong name, link outside) mean the file was not read: nothing else applies.
    for rule in rules:
        found.extend((rule, finding) for finding in rule.check(source))
        if found and rule.gate:
            break
    problems = _locate(source, found)
    if source.profile == "instructlab" and source.text and "yamllint" in source.text:
        problems = _as_yamllint_would(source.text, found, problems)
    return sorted(problems)


def _as_yamllint_would(
    text: str, found: list[tuple[Rule, Finding]], problems: Iterable[Problem]
) -> list[Problem]:
    """Drop the problems yamllint's inline directives silence (InstructLab honours them)."""
    marks = directives(text)
    quiet = file_disabled(text)
    by_id = {rule.id: rule.yamllint for rule, _ in found}
    return [
        p
        for p in problems
        if not (by_id.get(p.rule) and (quiet or silenced(marks, by_id[p.rule], p.line, p.column)))
    ]


def lint_files(paths: list[Path], config: Config) -> list[Problem]:
    """Lint many files, in worker processes when there are enough of them; sorted result."""
    if len(paths) < PARALLEL_FROM:
        return sorted(p for path in paths for p in lint_file(path, config))
    jobs = config.section("lint")["jobs"] or _cores()
    if jobs <= 1 or "fork" not in multiprocessing.get_all_start_methods():  # no fork on Windows
        return sorted(p for path in paths for p in lint_file(path, config))
    _warm_validators()  # compiled once here; forked workers inherit them
    size = max(1, len(paths) // (jobs * 4))
    chunks = [paths[i : i + size] for i in range(0, len(paths), size)]
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("fork")) as pool:
        results = pool.map(_lint_chunk, chunks, [config] * len(chunks))
        return sorted(p for chunk in results for p in chunk)


def _cores() -> int:
    """Cores this process may use (the affinity mask on Linux; all cores elsewhere)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _lint_chunk(paths: list[Path], config: Config) -> list[Problem]:
    return [p for path in paths for p in lint_file(path, config)]


def _warm_validators() -> None:
    for schema in data_dir("schemas").glob("leaf-*.schema.json"):
        validator(schema.name)


def leaf_source(path: Path, config: Config) -> LeafSource:
    path = Path(os.path.abspath(path))
    taxonomy_root = Path(os.path.abspath(config.taxonomy_root))
    rel = _relative(path, Path(os.path.abspath(config.root)))
    return LeafSource(
        path=path,
        rel=rel if rel is not None else path.as_posix(),
        tax_rel=_relative(path, taxonomy_root),
        taxonomy_root=taxonomy_root,
        profile=config.data["profile"],
        settings=config.section("lint"),
    )


def _relative(path: Path, root: Path) -> str | None:
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else None


def _locate(source: LeafSource, found: list[tuple[Rule, Finding]]) -> Iterable[Problem]:
    tree = compose(source.text) if source.text and any(f.at is not None for _, f in found) else None
    for rule, finding in found:
        if finding.at is not None:
            line, column = locate(tree, finding) if tree is not None else (1, 1)
            where = finding.at[:-1] if finding.on_key else finding.at  # a key's message names the key itself
            message = f"{json_path(where)}: {finding.message}" if where else finding.message
        else:
            line, column, message = finding.line or 1, finding.column or 1, finding.message
        yield Problem(source.rel, line, column, rule.severity[source.profile], rule.id, message)
