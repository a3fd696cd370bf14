"""A leaf must sit in a folder under one of the three branches of the taxonomy root.

Passes::

    taxonomy/foundational_skills/arithmetic/word_problems/qna.yaml

Fails::

    taxonomy/skills/word_problems/qna.yaml
    taxonomy/knowledge/qna.yaml
"""

from labtax.lint.problem import Finding
from labtax.taxonomy.tree import BRANCHES

ID = "LT204"
NAME = "outside-branch"
SEVERITY = "error"
PROFILES = ("labtax",)


def check(source):
    if source.branch is None and "file_name" not in source.facts:
        where = ", ".join(f"{source.taxonomy_root.name}/{b}/<topic>/" for b in BRANCHES)
        yield Finding(
            ID, f"is not in a leaf folder under a branch; move it under one of {where}", line=1, column=1
        )
