"""The file must end with a newline character.

Passes::

    answer: Four.<NEWLINE>

Fails::

    answer: Four.<END OF FILE>
"""

from labtax.lint.problem import Finding

ID = "LT014"
NAME = "final-newline"
SEVERITY = "error"
PROFILES = ("labtax", "instructlab")
# the yamllint rule InstructLab runs for this check (its directives apply)
YAMLLINT = "new-line-at-end-of-file"


def check(source):
    text = source.text
    if text and not text.endswith("\n") and source.hygiene_applies:
        lines = text.split("\n")
        yield Finding(
            ID, "has no newline at the end of the file; add one", line=len(lines), column=len(lines[-1]) + 1
        )
