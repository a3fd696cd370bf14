"""Keys the schema does not define are errors (often a typo).

Passes::

    seed_examples:
      - question: ...
        answer: ...

Fails::

    seed_examples:
      - question: ...
        anwser: ...
"""

ID = "LT103"
NAME = "unknown-key"
SEVERITY = "error"
PROFILES = ("labtax", "instructlab")


def check(source):
    yield from (finding for finding in source.schema_findings if finding.rule == ID)
