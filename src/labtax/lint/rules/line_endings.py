"""Lines must end with a Unix newline (LF), not a Windows one (CRLF); InstructLab reads both.

Passes::

    version: 3<LF>

Fails::

    version: 3<CR><LF>
"""

from labtax.lint.problem import Finding

ID = "LT015"
NAME = "line-endings"
SEVERITY = "error"
PROFILES = ("labtax",)


def check(source):
    text = source.text
    if text and "\r" in text and source.hygiene_applies:
        index = text.index("\r")
        line = text.count("\n", 0, index) + 1
        column = index - (text.rfind("\n", 0, index) + 1) + 1
        yield Finding(
            ID,
            "uses Windows line endings (CRLF); save the file with Unix line endings (LF)",
            line=line,
            column=column,
        )
