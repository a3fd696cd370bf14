"""Problem: one located finding. A sortable value; formatting lives in labtax.lint.output."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True, order=True)
class Problem:
    """A finding at `path:line:column` (1-based; 0 when the finding is about the whole file)."""

    path: str
    line: int
    column: int
    severity: str  # "error" | "warning"
    rule: str  # stable id, e.g. "LT102"
    message: str

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR


@dataclass(frozen=True)
class Finding:
    """What a rule reports before it is located: either a JSON path inside the YAML document
    (`at`, resolved to line:col only for files that have findings) or an explicit line/column.

    `on_key` points at the mapping key instead of its value (e.g. an unknown key).
    """

    rule: str
    message: str
    at: tuple[str | int, ...] | None = None
    line: int | None = None
    column: int | None = None
    on_key: bool = False


def json_path(at: tuple[str | int, ...]) -> str:
    """`('seed_examples', 2, 'answer')` -> `seed_examples[2].answer` (the form used in messages)."""
    out = ""
    for part in at:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def short(value: Any, limit: int = 40) -> str:
    """A value for a message: quoted, one line, never a dump of a whole block."""
    text = repr(value) if not isinstance(value, str) else "'" + value + "'"
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 4] + "...'"
