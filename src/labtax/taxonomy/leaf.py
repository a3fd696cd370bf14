"""The leaf model: a qna.yaml folder read into small typed values.

Loading here is for the pipeline (generate, mix) and assumes the leaf lints clean;
`labtax lint` is what explains a broken leaf, with positions.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from labtax.errors import LabtaxError
from labtax.taxonomy.tree import branch_of, unread_link


@dataclass(frozen=True)
class SeedExample:
    """One seed question/answer. Knowledge seeds carry the passage they are grounded in as `context`."""

    question: str
    answer: str
    context: str | None = None


@dataclass(frozen=True)
class Document:
    """Where a knowledge leaf's documents come from.

    Remote: `repo` + full-SHA `commit`, `patterns` matched inside the clone.
    Local (labtax extension): no `repo`; `patterns` are relative to the leaf folder.
    """

    patterns: tuple[str, ...]
    repo: str | None = None
    commit: str | None = None
    license: str | None = None

    @property
    def is_local(self) -> bool:
        return self.repo is None


@dataclass(frozen=True)
class Leaf:
    """A taxonomy leaf. `path` is the qna.yaml path relative to the repository root (posix)."""

    path: str
    branch: str
    version: int
    created_by: str
    seed_examples: tuple[SeedExample, ...]
    task_description: str | None = None
    domain: str | None = None
    document_outline: str | None = None
    document: Document | None = None
    content_hash: str = ""  # sha256 of qna.yaml bytes (+ attribution), for provenance and caching
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def folder(self) -> str:
        return self.path.rsplit("/", 1)[0]

    @property
    def is_knowledge(self) -> bool:
        return self.branch == "knowledge"

    @property
    def has_context(self) -> bool:
        """Grounded skill (or knowledge): seeds come with a context passage."""
        return any(s.context for s in self.seed_examples)


def chat_messages(leaf: Leaf, question: str, answer: str, context: str | None = None) -> list[dict[str, str]]:
    """The chat turns of one example of `leaf`. A grounded skill carries its context in the user turn
    (the answer needs it); a knowledge question stands alone (the student must learn the facts)."""
    user = f"{context}\n\n{question}" if context and not leaf.is_knowledge else question
    return [{"role": "user", "content": user}, {"role": "assistant", "content": answer}]


def _seeds(data: dict[str, Any]) -> tuple[SeedExample, ...]:
    seeds = []
    for item in data.get("seed_examples") or []:
        if "questions_and_answers" in item:  # knowledge: one context, several Q&A
            for qa in item["questions_and_answers"]:
                seeds.append(
                    SeedExample(
                        str(qa["question"]).strip(), str(qa["answer"]).strip(), str(item["context"]).strip()
                    )
                )
        else:
            ctx = item.get("context")
            seeds.append(
                SeedExample(
                    str(item["question"]).strip(),
                    str(item["answer"]).strip(),
                    str(ctx).strip() if ctx else None,
                )
            )
    return tuple(seeds)


def load_leaf(repo_root: Path, rel_path: str, taxonomy_root: str = "taxonomy") -> Leaf:
    """Read `rel_path` (a qna.yaml relative to `repo_root`) into a Leaf.

    Raises LabtaxError naming the file when it cannot be read; run `labtax lint` for details.
    """
    file = repo_root / rel_path
    link = unread_link(file, repo_root / taxonomy_root)
    if link:
        raise LabtaxError(f"{rel_path}: {link} (lint rule LT007); this leaf is not read")
    try:
        blob = file.read_bytes()
        data = YAML(typ="safe", pure=False).load(blob.decode("utf-8"))
        if not isinstance(data, dict):
            raise ValueError("top level is not a mapping")
        attribution = file.with_name("attribution.txt")
        digest = hashlib.sha256(blob)
        if attribution.is_file():
            digest.update(attribution.read_bytes())
        doc = data.get("document")
        return Leaf(
            path=rel_path,
            branch=branch_of(rel_path, taxonomy_root) or "",
            version=int(data.get("version", 1)),
            created_by=str(data.get("created_by", "")),
            seed_examples=_seeds(data),
            task_description=data.get("task_description"),
            domain=data.get("domain"),
            document_outline=data.get("document_outline"),
            document=Document(
                patterns=tuple(doc.get("patterns") or ()),
                repo=doc.get("repo"),
                commit=doc.get("commit"),
                license=doc.get("license"),
            )
            if isinstance(doc, dict)
            else None,
            content_hash=digest.hexdigest(),
            raw=data,
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise LabtaxError(
            f"{rel_path}: cannot read this leaf ({exc}); run `labtax lint {rel_path}`"
        ) from None
    except Exception as exc:  # ruamel's YAMLError and friends
        raise LabtaxError(
            f"{rel_path}: not valid YAML ({type(exc).__name__}); run `labtax lint {rel_path}`"
        ) from None
