"""YAML anchors and aliases (&name, *name) are refused: an alias bomb expands without limit.

Passes::

    answer: The same text, written out twice.

Fails::

    answer: &a The same text
    context: *a
"""

from labtax.lint.problem import Finding

ID = "LT011"
NAME = "anchors"
SEVERITY = "error"
PROFILES = ("labtax", "instructlab")


def check(source):
    mark = source.facts.get("anchor")
    if mark:
        yield Finding(
            ID,
            f"uses the YAML anchor '&{mark.detail}'; anchors and aliases are not allowed "
            "(an alias can expand without limit): write the value out",
            line=mark.line,
            column=mark.column,
        )
