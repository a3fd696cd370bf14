"""JSON Schema validation of a leaf, turned into findings a first-time contributor understands.

The schemas in schemas/leaf-*.schema.json are the single source of truth for the leaf format.
This module only chooses the schema (profile, branch, version) and words the errors: which rule
id a keyword maps to, and the message. A schema may refine both with two annotations that
jsonschema ignores: `x-rule` (a rule id) and `x-messages` ({keyword: template}); templates see
{count}, {limit}, {value} and {expected}.
"""

from __future__ import annotations

import ast
import re
from typing import Any

from jsonschema import ValidationError

from labtax.lint.problem import Finding, short
from labtax.resources import data_dir
from labtax.schemas import is_valid, validator

# Which rule reports which JSON Schema keyword (the rule modules LT101..LT107 document them).
KEYWORD_RULES = {
    "required": "LT101",
    "type": "LT102",
    "minLength": "LT102",
    "maxLength": "LT102",
    "additionalProperties": "LT103",
    "unevaluatedProperties": "LT103",
    "minItems": "LT105",
    "maxItems": "LT105",
    "uniqueItems": "LT106",
}
DEFAULT_RULE = "LT107"  # pattern, enum, const, not, format...

TYPE_NAMES = {
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "array": "a list",
    "object": "a mapping of keys to values",
    "boolean": "true or false",
    "null": "empty",
}


def schema_name(profile: str, branch: str | None, data: dict[str, Any], version: int) -> str | None:
    """The schema file for a leaf, or None when no schema covers it (reported by other rules)."""
    if profile == "instructlab":
        # InstructLab picks the schema by folder; anything else is knowledge when it has a document.
        kind = branch if branch in ("knowledge", "compositional_skills") else None
        kind = kind or ("knowledge" if "document" in data else "compositional_skills")
        return f"leaf-instructlab-v{version}-{kind}.schema.json"
    return f"leaf-{branch}.schema.json" if branch else None


def schema_findings(source: Any) -> list[Finding]:
    """Every schema violation of `source` (a LeafSource) as a Finding; [] when there is no mapping."""
    if not source.is_mapping:
        return []
    name = schema_name(source.profile, source.branch, source.data, source.version)
    if name is None:
        return []
    if not (data_dir("schemas") / name).is_file():
        supported = "1, 2 or 3" if source.profile == "instructlab" else "3"
        return [
            Finding(
                "LT104",
                f"version {short(source.data.get('version', 1))} is not supported; use version {supported}",
                at=("version",),
            )
        ]
    if is_valid(name, source.data):  # the common case, decided fast; errors are worded only when needed
        return []
    findings = [finding for error in validator(name).iter_errors(source.data) for finding in _findings(error)]
    # The two validators can disagree at the edges (regex dialects): never let such a leaf pass silently.
    return findings or [
        Finding(DEFAULT_RULE, f"does not match {name}; check every value against that schema", at=())
    ]


def _findings(error: ValidationError) -> list[Finding]:
    keyword = str(error.validator)
    schema = error.schema if isinstance(error.schema, dict) else {}
    rule = schema.get("x-rule") or KEYWORD_RULES.get(keyword, DEFAULT_RULE)
    at = tuple(error.absolute_path)
    if keyword == "required":
        key = _quoted_name(error.message)
        what = schema.get("properties", {}).get(key, {}).get("description", "")
        text = f"missing the required key '{key}'" + (f" ({what.rstrip('.')})" if what else "")
        return [Finding(rule, text, at=at)]
    if keyword in ("additionalProperties", "unevaluatedProperties"):
        allowed = list(schema.get("properties", {}))
        extra = [k for k in error.instance if k not in allowed]
        hint = f"; allowed keys here: {', '.join(allowed)}" if allowed else ""
        return [Finding(rule, f"unknown key '{k}'{hint}", at=(*at, k), on_key=True) for k in extra]
    return [Finding(rule, _message(error, keyword, schema), at=at)]


def _message(error: ValidationError, keyword: str, schema: dict[str, Any]) -> str:
    value = error.validator_value
    fields = {
        "value": short(error.instance),
        "limit": value,
        "count": len(error.instance) if isinstance(error.instance, (list, str, dict)) else 0,
        "expected": value,
    }
    template = schema.get("x-messages", {}).get(keyword)
    if template:
        return template.format(**fields)
    if keyword == "type":
        return _type_message(value, error.instance, schema)
    if keyword == "minLength":
        return (
            "must be a non-empty string"
            if value == 1
            else f"has {fields['count']} characters; needs at least {value}"
        )
    if keyword == "maxLength":
        return f"has {fields['count']} characters; at most {value} are allowed"
    if keyword == "minItems":
        return f"has {fields['count']} items; needs at least {value}"
    if keyword == "maxItems":
        return f"has {fields['count']} items; at most {value} are allowed"
    if keyword == "uniqueItems":
        first, second = _duplicate_pair(error.instance)
        return f"items [{first}] and [{second}] are identical; each item must be different"
    if keyword == "const":
        return f"must be {short(value)}, found {fields['value']}"
    if keyword == "enum":
        return f"must be one of {', '.join(map(short, value))}; found {fields['value']}"
    if keyword == "pattern":
        return f"{fields['value']} does not have the expected form (pattern {value})"
    return error.message[:200]


def _type_message(expected: Any, instance: Any, schema: dict[str, Any]) -> str:
    names = [expected] if isinstance(expected, str) else list(expected)
    want = " or ".join(TYPE_NAMES.get(n, n) for n in names)
    if names == ["string"] and schema.get("minLength", 0) >= 1:
        want = "a non-empty string"
    return f"must be {want}, found {_describe(instance)}"


def _describe(instance: Any) -> str:
    if instance is None:
        return "nothing (the value is empty)"
    if isinstance(instance, bool):
        return f"the boolean {str(instance).lower()} (quote it to make it text)"
    if isinstance(instance, (int, float)):
        return f"the number {instance} (quote it to make it text)"
    if isinstance(instance, list):
        return "a list"
    if isinstance(instance, dict):
        return "a mapping"
    if isinstance(instance, str):
        return f"the text {short(instance)}"
    return f"a {type(instance).__name__} ({short(str(instance))}; quote it to make it text)"


def _duplicate_pair(items: list[Any]) -> tuple[int, int]:
    for j, item in enumerate(items):
        for i in range(j):
            if items[i] == item:
                return i, j
    return 0, 0


def _quoted_name(message: str) -> str:
    match = re.match(r"^(.*) is a required property$", message)
    try:
        return str(ast.literal_eval(match.group(1))) if match else message
    except (ValueError, SyntaxError):
        return match.group(1) if match else message
