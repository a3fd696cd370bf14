"""The top level of the file must be a mapping (keys such as version: and seed_examples:).

Passes::

    version: 3
    created_by: ada

Fails::

    - version: 3
    - created_by: ada
"""

from labtax.lint.problem import Finding

ID = "LT006"
NAME = "top-level-mapping"
SEVERITY = "error"
PROFILES = ("labtax", "instructlab")

KINDS = {list: "a list", str: "a single text value", int: "a number", float: "a number", bool: "a boolean"}


def check(source):
    if not source.parsed or source.data is None or isinstance(source.data, dict):
        return
    if source.profile == "instructlab" and not source.data:
        return  # reported as an empty file, as InstructLab does
    kind = KINDS.get(type(source.data), f"a {type(source.data).__name__}")
    yield Finding(
        ID,
        f"the top level is {kind}; it must be a mapping of keys such as 'version:' and 'seed_examples:'",
        line=1,
        column=1,
    )
