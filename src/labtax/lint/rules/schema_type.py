"""Each value must have the type the schema gives it, and text must not be empty.

Passes::

    answer: "4"

Fails::

    answer: 4          # a number, not text
    answer: ""         # empty
"""

ID = "LT102"
NAME = "value-type"
SEVERITY = "error"
PROFILES = ("labtax", "instructlab")


def check(source):
    yield from (finding for finding in source.schema_findings if finding.rule == ID)
