"""Values must have the form the schema gives (allowed values, patterns, dependent keys).

Passes::

    version: 3

Fails::

    version: three
"""

ID = "LT107"
NAME = "value-format"
SEVERITY = "error"
PROFILES = ("labtax", "instructlab")


def check(source):
    yield from (finding for finding in source.schema_findings if finding.rule == ID)
