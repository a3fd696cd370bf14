"""A key may appear only once in a mapping (YAML would silently keep the last value).

Passes::

    question: What is 2 + 2?
    answer: "4"

Fails::

    question: What is 2 + 2?
    question: What is 3 + 3?
"""

from labtax.lint.problem import Finding

ID = "LT010"
NAME = "duplicate-keys"
SEVERITY = "error"
PROFILES = ("labtax", "instructlab")
YAMLLINT = "key-duplicates"  # the yamllint rule InstructLab runs for this check (its directives apply)


def check(source):
    mark = source.facts.get("duplicate_key")
    if mark and source.hygiene_applies:
        yield Finding(
            ID,
            f"the key '{mark.detail}' appears twice in the same mapping; keep only one",
            line=mark.line,
            column=mark.column,
        )
