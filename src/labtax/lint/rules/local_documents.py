"""A local knowledge document (no repo) must exist in the leaf folder and be Markdown, plain text,
PDF or HTML.

Passes::

    document:
      patterns: [kinematics.md]      # taxonomy/knowledge/physics/kinematics/kinematics.md exists
      license: CC-BY-4.0

Fails::

    document:
      patterns: [kinematics.docx]    # no such file, or not .md/.markdown/.txt/.pdf/.html/.htm
      license: CC-BY-4.0
"""

import os

from labtax.lint.problem import Finding
from labtax.taxonomy.documents import match_files

ID = "LT401"
NAME = "local-documents"
SEVERITY = "error"
PROFILES = ("labtax",)


def check(source):
    document = source.data.get("document") if source.is_mapping and source.branch == "knowledge" else None
    if not isinstance(document, dict) or "repo" in document or not isinstance(document.get("patterns"), list):
        return
    folder_real = os.path.realpath(source.folder)
    extensions = tuple(source.settings["document_extensions"])
    for index, pattern in enumerate(document["patterns"]):
        at = ("document", "patterns", index)
        if not isinstance(pattern, str) or not pattern or source.has_schema_finding(at):
            continue
        matches = match_files(source.folder, pattern)
        if not matches:
            yield Finding(
                ID,
                f"pattern '{pattern}' matches no file in the leaf folder; "
                "put the document next to qna.yaml or fix the pattern",
                at=at,
            )
        for match in matches:
            name = match.relative_to(source.folder).as_posix()
            if not os.path.realpath(match).startswith(folder_real + os.sep):
                yield Finding(
                    ID,
                    f"document '{name}' is a link to a file outside the leaf folder; "
                    "store the document itself",
                    at=at,
                )
            elif not name.lower().endswith(extensions):
                yield Finding(
                    ID,
                    f"document '{name}' is not a document type labtax reads "
                    f"(allowed: {', '.join(extensions)}); convert it",
                    at=at,
                )
