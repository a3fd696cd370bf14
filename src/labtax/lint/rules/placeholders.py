"""Placeholders written by `labtax new` (text like <<your GitHub handle>>) must be replaced.

Passes::

    created_by: ada-lovelace

Fails::

    created_by: "<<your GitHub handle>>"
"""

from labtax.lint.problem import Finding
from labtax.taxonomy.scaffold import PLACEHOLDER

ID = "LT304"
NAME = "placeholders"
SEVERITY = "error"
PROFILES = ("labtax",)


def _strings(value, at=()):
    if isinstance(value, str):
        yield at, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, (*at, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*at, index))


def check(source):
    if not source.is_mapping:
        return
    for at, text in _strings(source.data):
        match = PLACEHOLDER.search(text)
        if match:
            yield Finding(
                ID, f"still holds the placeholder {match.group(0)}; replace it with real content", at=at
            )
