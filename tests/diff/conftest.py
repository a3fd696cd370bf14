"""Helpers for diff tests: write small leaves into real temporary git repositories."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import git

SKILL = "version: 3\ncreated_by: tester\ntask_description: {name}\nseed_examples: []\n"
KNOWLEDGE = (
    "version: 3\ncreated_by: tester\ndomain: physics\ndocument_outline: {name}\nseed_examples: []\n"
    "document:\n  patterns:\n{patterns}  license: CC-BY-4.0\n"
)


def write_leaf(
    repo: Path,
    folder: str,
    name: str = "leaf",
    documents: dict[str, str] | None = None,
    patterns: list[str] | None = None,
) -> str:
    """Write a leaf (qna.yaml + attribution.txt, plus documents for knowledge) and return
    its qna.yaml path."""
    base = repo / folder
    base.mkdir(parents=True, exist_ok=True)
    if documents is not None:
        listed = "".join(f"    - {p}\n" for p in (patterns or list(documents)))
        (base / "qna.yaml").write_text(KNOWLEDGE.format(name=name, patterns=listed))
        for rel, text in documents.items():
            (base / rel).parent.mkdir(parents=True, exist_ok=True)
            (base / rel).write_text(text)
    else:
        (base / "qna.yaml").write_text(SKILL.format(name=name))
    (base / "attribution.txt").write_text(f"{name} by tester\n")
    return f"{folder}/qna.yaml"


def commit_all(repo: Path, message: str = "change") -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


@pytest.fixture
def leafy_repo(git_repo: Path) -> Path:
    """main holds one leaf per branch (a knowledge leaf with a local document); HEAD is
    branch `work` off main."""
    write_leaf(
        git_repo, "taxonomy/knowledge/physics/kinematics", "kinematics", {"kinematics.md": "# Motion\n"}
    )
    write_leaf(git_repo, "taxonomy/foundational_skills/math/arithmetic", "arithmetic")
    write_leaf(git_repo, "taxonomy/compositional_skills/tutoring/explain", "explain")
    commit_all(git_repo, "starter leaves")
    git(git_repo, "checkout", "-q", "-b", "work")
    return git_repo
