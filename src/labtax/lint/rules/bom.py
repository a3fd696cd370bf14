"""The file must not start with a byte order mark (BOM); InstructLab's checker accepts one.

Passes::

    version: 3

Fails::

    \ufeffversion: 3
"""

from labtax.lint.problem import Finding

ID = "LT003"
NAME = "byte-order-mark"
SEVERITY = {"labtax": "error", "instructlab": "warning"}
PROFILES = ("labtax", "instructlab")


def check(source):
    if "bom" in source.facts:
        yield Finding(
            ID, "starts with a byte order mark (BOM); save it as UTF-8 without BOM", line=1, column=1
        )
