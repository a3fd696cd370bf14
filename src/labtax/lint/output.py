"""Formatting problems as text, JSON or GitHub workflow commands: the only place that formats."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict

from labtax.lint.problem import Problem


def format_text(problems: Sequence[Problem]) -> str:
    """`path:line:col: severity[RULE] message`, one per line."""
    return "".join(f"{p.path}:{p.line}:{p.column}: {p.severity}[{p.rule}] {p.message}\n" for p in problems)


def format_json(problems: Sequence[Problem]) -> str:
    """A JSON array of objects with path, line, column, severity, rule, message."""
    return json.dumps([asdict(p) for p in problems], indent=2, ensure_ascii=False) + "\n"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def format_github(problems: Sequence[Problem]) -> str:
    """GitHub Actions workflow commands: each problem becomes an annotation on the pull request."""
    lines = []
    for p in problems:
        where = f"file={_escape_property(p.path)},line={max(p.line, 1)},col={max(p.column, 1)}"
        lines.append(f"::{p.severity} {where},title={p.rule}::{_escape_data(p.message)}\n")
    return "".join(lines)


def format_problems(problems: Sequence[Problem], fmt: str) -> str:
    return {"text": format_text, "json": format_json, "github": format_github}[fmt](problems)


def summary(problems: Sequence[Problem], files: int) -> str:
    """One line for stderr: counts of errors and warnings over the files checked."""
    errors = sum(p.is_error for p in problems)
    warnings = len(problems) - errors
    return (
        f"{files} file{'s' if files != 1 else ''} checked: {errors} error{'s' if errors != 1 else ''}, "
        f"{warnings} warning{'s' if warnings != 1 else ''}"
    )
