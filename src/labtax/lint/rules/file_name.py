"""A leaf file must be named exactly qna.yaml; qna.yml, QNA.yaml and the like are reported, not ignored.

Passes::

    taxonomy/compositional_skills/writing/poem/qna.yaml

Fails::

    taxonomy/compositional_skills/writing/poem/qna.yml
"""

from labtax.lint.problem import Finding

ID = "LT008"
NAME = "file-name"
SEVERITY = "error"
PROFILES = ("labtax", "instructlab")
GATE = True


def check(source):
    mark = source.facts.get("file_name")
    if mark:
        yield Finding(
            ID,
            f"is named '{mark.detail}'; a leaf file must be named exactly 'qna.yaml' (rename it)",
            line=1,
            column=1,
        )
