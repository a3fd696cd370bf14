"""Lines must not end with spaces or tabs.

Passes::

    answer: Four.

Fails::

    answer: Four.<SPACE><SPACE>
"""

from labtax.lint.problem import Finding

ID = "LT013"
NAME = "trailing-spaces"
SEVERITY = "error"
PROFILES = ("labtax", "instructlab")
YAMLLINT = "trailing-spaces"  # the yamllint rule InstructLab runs for this check (its directives apply)


def check(source):
    if source.text is None or not source.hygiene_applies:
        return
    for number, line in enumerate(source.text.split("\n"), start=1):
        line = line.rstrip("\r")
        stripped = line.rstrip(" \t")
        if len(stripped) != len(line):
            yield Finding(ID, "has trailing spaces; delete them", line=number, column=len(stripped) + 1)
