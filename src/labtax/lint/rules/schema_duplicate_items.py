"""Items of a list that must be unique (seed examples, patterns) must not repeat exactly.

Passes::

    patterns: [a.md, b.md]

Fails::

    patterns: [a.md, a.md]
"""

ID = "LT106"
NAME = "duplicate-items"
SEVERITY = "error"
PROFILES = ("labtax", "instructlab")


def check(source):
    yield from (finding for finding in source.schema_findings if finding.rule == ID)
