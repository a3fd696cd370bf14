"""The version must be one the schema supports (write 3; knowledge needs 3).

Passes::

    version: 3

Fails::

    version: 4
"""

ID = "LT104"
NAME = "version"
SEVERITY = "error"
PROFILES = ("labtax", "instructlab")


def check(source):
    yield from (finding for finding in source.schema_findings if finding.rule == ID)
