"""A leaf folder must hold a non-empty attribution.txt naming the sources and their licenses.

Passes::

    attribution.txt:  Title: Kinematics notes / Source: written for labtax / License: CC-BY-4.0

Fails::

    no attribution.txt next to qna.yaml, or an empty one, or one still holding <<placeholders>>
"""

from labtax.lint.problem import Finding
from labtax.taxonomy.scaffold import PLACEHOLDER

ID = "LT203"
NAME = "attribution"
SEVERITY = "error"
PROFILES = ("labtax",)


def check(source):
    if not source.branch:
        return
    path = source.folder / "attribution.txt"
    try:
        text = path.read_text(encoding="utf-8") if path.is_file() else None
    except (OSError, UnicodeDecodeError):
        text = ""
    if text is None:
        yield Finding(
            ID,
            "the leaf folder has no attribution.txt; "
            "add one naming the sources, authors and licenses of its content",
            line=1,
            column=1,
        )
    elif not text.strip():
        yield Finding(
            ID,
            "attribution.txt is empty (or not UTF-8 text); "
            "name the sources, authors and licenses of this leaf's content",
            line=1,
            column=1,
        )
    else:
        found = [
            (n, m.group(0))
            for n, line in enumerate(text.splitlines(), start=1)
            for m in PLACEHOLDER.finditer(line)
        ]
        if found:
            number, first = found[0]
            count = f"{len(found)} placeholders" if len(found) > 1 else "a placeholder"
            yield Finding(
                ID,
                f"attribution.txt still holds {count} (first: {first} on line {number}); "
                "replace them with the real sources",
                line=1,
                column=1,
            )
