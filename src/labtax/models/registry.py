"""Which teacher backend a config names: the one place that knows every backend.

The backends implement `labtax.models.teacher.Teacher` and never import this module, so adding a
backend is one import and one branch here. Importing a backend is cheap: the embedded one loads
torch only when its first call needs the model.
"""

from __future__ import annotations

from typing import Any

from labtax.errors import LabtaxError
from labtax.models.embedded_teacher import EmbeddedTeacher
from labtax.models.openai_teacher import OpenAITeacher
from labtax.models.teacher import Teacher


def teacher_specs(section: dict[str, Any]) -> list[str]:
    """generate.teacher as a list (it may be one value or several server URLs)."""
    spec = section["teacher"]
    return [str(s) for s in spec] if isinstance(spec, list) else [str(spec)]


def make_teacher(section: dict[str, Any], cache: Any = None) -> Teacher:
    """The teacher named by the generate config section: "embedded", or one or more http(s) URLs.
    `cache` (a CallCache) keeps what a server probe learned."""
    specs = teacher_specs(section)
    if specs == ["embedded"]:
        return EmbeddedTeacher(section)
    if specs and all(spec.startswith(("http://", "https://")) for spec in specs):
        return OpenAITeacher(specs, section, cache)
    raise LabtaxError(
        f"unknown teacher {', '.join(specs)!r}: use 'embedded' or one or more server URLs such as http://127.0.0.1:8000/v1"
    )
