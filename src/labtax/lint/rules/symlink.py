"""A qna.yaml that is a symbolic link must point inside the taxonomy; links outside are not read.

Passes::

    taxonomy/knowledge/a/qna.yaml -> ../b/qna.yaml

Fails::

    taxonomy/knowledge/a/qna.yaml -> /etc/passwd
"""

from labtax.lint.problem import Finding

ID = "LT007"
NAME = "symlink-outside"
SEVERITY = "error"
PROFILES = ("labtax", "instructlab")
GATE = True


def check(source):
    mark = source.facts.get("symlink")
    if mark:
        yield Finding(ID, f"is a symbolic link to {mark.detail}, outside the taxonomy; store the file itself in the taxonomy", line=1, column=1)
