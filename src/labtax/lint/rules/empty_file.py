"""The file must hold a leaf; an empty one is an error (InstructLab's checker only warns).

Passes::

    version: 3
    created_by: ada
    ...

Fails::

    # nothing but a comment
"""

from labtax.lint.problem import Finding

ID = "LT005"
NAME = "empty-file"
SEVERITY = {"labtax": "error", "instructlab": "warning"}
PROFILES = ("labtax", "instructlab")


def check(source):
    # InstructLab treats any falsy document ({}, [], "") as empty; labtax only a missing one.
    empty = source.data is None or (source.profile == "instructlab" and not source.data)
    if source.parsed and empty:
        yield Finding(
            ID,
            "is empty; a leaf needs version, created_by and seed_examples (`labtax new` writes a template)",
            line=1,
            column=1,
        )
