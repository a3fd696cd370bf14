"""The file must not exceed lint.max_file_bytes (default 1,000,000 bytes); bigger files are not read.

Passes::

    a qna.yaml of 6 kB

Fails::

    a qna.yaml of 50 MB
"""

from labtax.lint.problem import Finding

ID = "LT004"
NAME = "file-size"
SEVERITY = "error"
PROFILES = ("labtax", "instructlab")


def check(source):
    mark = source.facts.get("too_big")
    if mark:
        limit = source.settings["max_file_bytes"]
        yield Finding(
            ID,
            f"is {int(mark.detail):,} bytes; the limit is {limit:,} (lint.max_file_bytes): "
            "keep seed examples short and long documents in separate files",
            line=1,
            column=1,
        )
