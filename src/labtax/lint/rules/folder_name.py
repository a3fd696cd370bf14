"""Folder names between the branch and qna.yaml must match lint.folder_name_pattern (default ^[a-z0-9_]+$).

Passes::

    taxonomy/compositional_skills/writing/poem_writing/qna.yaml

Fails::

    taxonomy/compositional_skills/writing/Poem-Writing/qna.yaml
"""

import re

from labtax.lint.problem import Finding

ID = "LT201"
NAME = "folder-name"
SEVERITY = "error"
PROFILES = ("labtax",)


def check(source):
    if not source.branch:
        return
    pattern = re.compile(source.settings["folder_name_pattern"])
    for folder in source.tax_rel.split("/")[1:-1]:
        if not pattern.search(folder):
            better = re.sub(r"_+", "_", re.sub(r"[^a-z0-9_]", "_", folder.lower())).strip("_") or "name"
            yield Finding(
                ID,
                f"folder '{folder}' must match {pattern.pattern} "
                f"(lowercase letters, digits and underscores): rename it, e.g. to '{better}'",
                line=1,
                column=1,
            )
