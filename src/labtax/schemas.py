"""Load the JSON Schemas in schemas/ (the single source of truth for every format).

Every schema has an `$id` of the form https://labtax.dev/schemas/<file name>;
`$ref`s between them resolve through one registry, offline.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator

try:  # a Rust validator: ~50x faster on the common case (a valid document); optional
    import jsonschema_rs
except ImportError:  # pragma: no cover - the pure-Python validator still gives every verdict
    jsonschema_rs = None
from referencing import Registry, Resource

from labtax.errors import LabtaxError
from labtax.files import jsonl_rows
from labtax.resources import data_dir

ID_PREFIX = "https://labtax.dev/schemas/"


@cache
def _registry() -> Registry:
    resources = []
    for path in sorted(data_dir("schemas").rglob("*.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        resources.append((schema["$id"], Resource.from_contents(schema)))
    return Registry().with_resources(resources)


def load_schema(name: str) -> dict[str, Any]:
    """Return the schema whose file name is `name` (e.g. "config.schema.json")."""
    return _registry().contents(ID_PREFIX + name)


@cache
def validator(name: str) -> Draft202012Validator:
    """A cached validator for schema `name`, with `$ref`s resolved through the registry."""
    return Draft202012Validator(
        load_schema(name), registry=_registry(), format_checker=Draft202012Validator.FORMAT_CHECKER
    )


@cache
def _fast_validator(name: str) -> Any:
    if jsonschema_rs is None:
        return validator(name)
    resources = [(uri, _registry().contents(uri)) for uri in _registry()]
    return jsonschema_rs.validator_for(load_schema(name), registry=jsonschema_rs.Registry(resources))


def is_valid(name: str, data: Any) -> bool:
    """A quick yes/no against schema `name`. Callers that need the errors (with messages and
    paths) ask `validator(name).iter_errors` only when this says no."""
    try:
        return _fast_validator(name).is_valid(data)
    except ValueError:  # not JSON data (a YAML date, a boolean key): the full validator words it
        return False


def non_finite(data: Any, where: tuple[str, ...] = ()) -> list[str]:
    """Dotted paths of every NaN or infinity in `data`. JSON Schema cannot reject them: NaN fails no
    `minimum` and no `maximum` (every comparison with it is false), so a `.nan` threshold would
    silently switch its check off."""
    if isinstance(data, float) and not math.isfinite(data):
        return [".".join(where) or "(top level)"]
    if isinstance(data, dict):
        return [p for key, value in data.items() for p in non_finite(value, (*where, str(key)))]
    if isinstance(data, list):
        return [p for i, value in enumerate(data) for p in non_finite(value, (*where, str(i)))]
    return []


def apply_defaults(schema: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """Fill missing keys from the schema's `default`s, recursively for nested objects.

    Defaults live in the schema only, so code and docs cannot disagree about them.
    """
    out = dict(data)
    for key, sub in schema.get("properties", {}).items():
        for candidate in (sub, resolve_ref(sub)):  # a `$ref` holder may carry its own default
            if key not in out and "default" in candidate:
                out[key] = json.loads(json.dumps(candidate["default"]))
        target = resolve_ref(sub)
        if target.get("type") == "object" and "properties" in target and isinstance(out.get(key), dict):
            out[key] = apply_defaults(target, out[key])
    return out


def resolve_ref(sub: dict[str, Any]) -> dict[str, Any]:
    """The schema a `{"$ref": <another file's $id>}` points at; `sub` itself when it has no `$ref`."""
    ref = sub.get("$ref")
    return _registry().contents(ref) if ref else sub


def checked_rows(
    text: str, where: str, schema: str, rule: str, top: str = "(top level)", advice: str = ""
) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) of a JSONL text, each checked against `schema`; the first bad line is one
    located error: `where:line:1: error[rule] field: what is wrong` (`top` names the whole object,
    `advice` is appended)."""
    check = validator(schema)
    for lineno, row in jsonl_rows(text, where, rule):
        error = next(iter(check.iter_errors(row)), None)
        if error is not None:
            field = ".".join(map(str, error.absolute_path)) or top
            raise LabtaxError(f"{where}:{lineno}:1: error[{rule}] {field}: {error.message}{advice}")
        yield lineno, row
