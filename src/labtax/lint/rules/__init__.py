"""The rule registry: one small module per rule, listed in a plain dict by id.

Every rule module defines ID, NAME, SEVERITY ("error" or "warning", optionally a dict per
profile), PROFILES (the profiles it belongs to), a docstring whose first line is the one-line
description followed by a passing and a failing example, and `check(source)` yielding Findings.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from types import ModuleType

from labtax.lint.problem import Finding
from labtax.lint.rules import (
    anchors,
    attribution,
    bom,
    duplicate_keys,
    duplicate_seeds,
    empty_file,
    encoding,
    file_name,
    file_size,
    final_newline,
    folder_name,
    license_allowlist,
    line_endings,
    local_documents,
    near_duplicates,
    nested_leaf,
    outside_branch,
    placeholders,
    schema_document,
    schema_duplicate_items,
    schema_item_count,
    schema_required,
    schema_type,
    schema_unknown_key,
    schema_value,
    schema_version,
    symlink,
    syntax,
    tabs,
    top_level,
    trailing_spaces,
    word_limits,
)

PROFILES = ("labtax", "instructlab")


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    severity: dict[str, str]  # profile -> severity
    profiles: tuple[str, ...]
    check: Callable[..., Iterable[Finding]]
    doc: str
    gate: bool = False  # when it fires, the file was not read and no other rule runs
    yamllint: str | None = None  # the yamllint rule it stands for under the instructlab profile

    @property
    def description(self) -> str:
        """The docstring's first paragraph, on one line."""
        return " ".join(self.doc.strip().split("\n\n")[0].split())


def _rule(module: ModuleType) -> Rule:
    severity = (
        module.SEVERITY if isinstance(module.SEVERITY, dict) else {p: module.SEVERITY for p in PROFILES}
    )
    return Rule(
        module.ID,
        module.NAME,
        severity,
        tuple(module.PROFILES),
        module.check,
        module.__doc__ or "",
        getattr(module, "GATE", False),
        getattr(module, "YAMLLINT", None),
    )


_MODULES = (
    syntax, encoding, bom, file_size, empty_file, top_level, symlink, file_name,
    duplicate_keys, anchors, tabs, trailing_spaces, final_newline, line_endings,
    schema_required, schema_type, schema_unknown_key, schema_version, schema_item_count,
    schema_duplicate_items, schema_value,
    folder_name, nested_leaf, attribution, outside_branch,
    duplicate_seeds, near_duplicates, word_limits, placeholders,
    local_documents, license_allowlist, schema_document,
)  # fmt: skip

RULES: dict[str, Rule] = {m.ID: _rule(m) for m in sorted(_MODULES, key=lambda m: m.ID)}


def rules_for(profile: str, disabled: Iterable[str] = ()) -> list[Rule]:
    """The rules a profile runs, gate rules first, then in id order, without the disabled ones."""
    return list(_rules_for(profile, frozenset(disabled)))


@cache
def _rules_for(profile: str, disabled: frozenset[str]) -> tuple[Rule, ...]:
    chosen = [rule for rule in RULES.values() if profile in rule.profiles and rule.id not in disabled]
    return tuple(sorted(chosen, key=lambda rule: not rule.gate))
