"""The file must be valid YAML; the finding points at the first place the parser stopped.

Passes::

    answer: "x: y"

Fails::

    answer: x: y
"""

from labtax.lint.problem import Finding

ID = "LT001"
NAME = "yaml-syntax"
SEVERITY = "error"
PROFILES = ("labtax", "instructlab")


def check(source):
    mark = source.facts.get("syntax")
    if mark:
        yield Finding(
            ID,
            f"not valid YAML: {mark.detail}; check the indentation, "
            "and quote text that contains ': ' or starts with a special character",
            line=mark.line,
            column=mark.column,
        )
