"""The file must be readable UTF-8 text (no binary content, no other encodings).

Passes::

    created_by: zoë   # saved as UTF-8

Fails::

    created_by: zo\xeb  # saved as Latin-1, or any file containing NUL bytes
"""

from labtax.lint.problem import Finding

ID = "LT002"
NAME = "encoding"
SEVERITY = "error"
PROFILES = ("labtax", "instructlab")


def check(source):
    mark = source.facts.get("binary")
    if mark and mark.detail == "contains NUL bytes":
        yield Finding(
            ID,
            "is a binary file (it contains NUL bytes); a leaf must be UTF-8 YAML text",
            line=mark.line,
            column=mark.column,
        )
    elif mark:
        yield Finding(
            ID,
            f"is not UTF-8 text ({mark.detail}); save the file with UTF-8 encoding",
            line=mark.line,
            column=mark.column,
        )
    unreadable = source.facts.get("unreadable")
    if unreadable:
        yield Finding(ID, f"cannot be read ({unreadable.detail})", line=1, column=1)
