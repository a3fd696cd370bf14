"""A qna.yaml that is a symbolic link must point inside the taxonomy, and leaf folders must not be
links; such leaves are not read.

Passes::

    taxonomy/knowledge/a/qna.yaml -> ../b/qna.yaml

Fails::

    taxonomy/knowledge/a/qna.yaml -> /etc/passwd
    taxonomy/knowledge/a -> /home/me/elsewhere
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
        yield Finding(ID, mark.detail, line=1, column=1)  # generate and mix skip it for the same reason
