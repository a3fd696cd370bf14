"""Tab characters are not allowed anywhere in the file: indent and align with spaces.

Passes::

    answer: |
      x = 1

Fails::

    answer: |
    <TAB>x = 1
"""

from labtax.lint.problem import Finding

ID = "LT012"
NAME = "tabs"
SEVERITY = "error"
PROFILES = ("labtax",)


def check(source):
    if source.text is None or "\t" not in source.text:
        return
    for number, line in enumerate(source.text.split("\n"), start=1):
        if "\t" in line:
            yield Finding(
                ID, "contains a tab character; use spaces instead", line=number, column=line.index("\t") + 1
            )
