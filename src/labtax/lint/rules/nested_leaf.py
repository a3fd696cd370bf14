"""A leaf folder may not sit inside another leaf folder (a folder holding qna.yaml).

Passes::

    taxonomy/knowledge/physics/kinematics/qna.yaml
    taxonomy/knowledge/physics/dynamics/qna.yaml

Fails::

    taxonomy/knowledge/physics/qna.yaml
    taxonomy/knowledge/physics/kinematics/qna.yaml
"""

import os

from labtax.lint.problem import Finding

ID = "LT202"
NAME = "nested-leaf"
SEVERITY = "error"
PROFILES = ("labtax",)


def check(source):
    if not source.branch:
        return
    parts = source.tax_rel.split("/")[:-1]
    root = str(source.taxonomy_root)
    for depth in range(1, len(parts)):  # the branch folder itself up to the leaf's parent
        if os.path.exists(os.path.join(root, *parts[:depth], "qna.yaml")):
            outer = "/".join(parts[:depth])
            yield Finding(
                ID,
                f"is inside the leaf folder '{outer}/' (which holds a qna.yaml); "
                "a leaf may not contain another leaf: move one of them",
                line=1,
                column=1,
            )
            return
