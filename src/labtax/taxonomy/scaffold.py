"""`labtax new skill|knowledge PATH`: scaffold a leaf that fails lint until its placeholders are filled."""

from __future__ import annotations

import os
import re
from pathlib import Path

from labtax.config import Config
from labtax.errors import LabtaxError
from labtax.files import write_text_atomic
from labtax.taxonomy.tree import LEAF_FILE, branch_of

# Text the templates ask the contributor to replace, e.g. <<your GitHub handle>> (lint rules LT203, LT304).
PLACEHOLDER = re.compile(r"<<[^<>\n]{1,200}>>")
TEMPLATES = Path(__file__).resolve().parent / "scaffold_templates"
KINDS = {"skill": ("compositional_skills", "foundational_skills"), "knowledge": ("knowledge",)}


def new_leaf(kind: str, folder: Path, config: Config) -> list[Path]:
    """Create qna.yaml and attribution.txt in `folder` (under the right branch); return the files written."""
    folder = Path(os.path.abspath(folder))
    root = Path(os.path.abspath(config.root))
    if not folder.is_relative_to(root):
        raise LabtaxError(f"{folder} is outside the repository {root}")
    rel = folder.relative_to(root).as_posix() + "/" + LEAF_FILE
    branch = branch_of(rel, config.data["taxonomy_root"])
    if branch not in KINDS[kind] or rel.count("/") < len(Path(config.data["taxonomy_root"]).parts) + 2:
        places = " or ".join(f"{config.data['taxonomy_root']}/{b}/<topic>/<leaf>" for b in KINDS[kind])
        raise LabtaxError(f"a {kind} leaf belongs in {places}; {folder.relative_to(root).as_posix()} is not")
    if (folder / LEAF_FILE).exists():
        raise LabtaxError(f"{rel} already exists; edit it instead")
    folder.mkdir(parents=True, exist_ok=True)
    written = [folder / LEAF_FILE]
    write_text_atomic(written[0], (TEMPLATES / f"{kind}_qna.yaml").read_text(encoding="utf-8"))
    if not (folder / "attribution.txt").exists():
        written.append(folder / "attribution.txt")
        write_text_atomic(written[1], (TEMPLATES / "attribution.txt").read_text(encoding="utf-8"))
    return written
