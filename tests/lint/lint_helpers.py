"""One-line assertions for lint rules: write a leaf into a temporary taxonomy, lint it, compare.

assert_rule(tmp_path, "LT013", text, (3, 12))   # LT013 reports exactly line 3, column 12
assert_rule(tmp_path, "LT013", text)            # LT013 reports nothing
"""

from __future__ import annotations

from pathlib import Path

from labtax.config import load_config
from labtax.lint import Problem, lint_paths

SKILL_LEAF = "compositional_skills/writing/poem"
KNOWLEDGE_LEAF = "knowledge/physics/kinematics"


def _seed(i: int) -> str:
    return f"""  - question: What is {i} plus {i * 7}?
    answer: >-
      Adding {i} and {i * 7} gives {i * 8}, because {i} + {i * 7} = {i * 8}.
"""


GOOD_SKILL = f"""version: 3
created_by: ada-lovelace
task_description: >-
  Answer short arithmetic questions with the result and a one-line reason.
seed_examples:
{"".join(_seed(i) for i in range(1, 6))}"""

SUBJECTS = ["velocity", "acceleration", "displacement", "free fall", "projectile motion"]


def _knowledge_seed(i: int, subject: str) -> str:
    return f"""  - context: |
      Kinematics passage {i} explains {subject} for first-year students.
    questions_and_answers:
      - question: Which topic does passage {i} explain?
        answer: It explains {subject}.
      - question: Who is passage {i} written for?
        answer: First-year students learning about {subject}.
      - question: Which branch of mechanics covers {subject}?
        answer: Kinematics, the study of motion without its causes ({subject} number {i}).
"""


GOOD_KNOWLEDGE = f"""version: 3
created_by: ada-lovelace
domain: physics
document_outline: Notes on one-dimensional kinematics written for this taxonomy.
seed_examples:
{"".join(_knowledge_seed(i, s) for i, s in enumerate(SUBJECTS, start=1))}document:
  patterns:
    - kinematics.md
  license: CC-BY-4.0
"""


def write_leaf(
    root: Path,
    leaf: str,
    text: str | bytes,
    *,
    attribution: str | None = "Written for this taxonomy (CC-BY-4.0).\n",
    files: dict[str, str] | None = None,
    name: str = "qna.yaml",
) -> Path:
    """Write taxonomy/<leaf>/<name> (plus attribution.txt and extra files) under `root`; return its path."""
    folder = root / "taxonomy" / leaf
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    if attribution is not None:
        (folder / "attribution.txt").write_text(attribution, encoding="utf-8")
    for rel, content in (files or {}).items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(content, encoding="utf-8")
    return path


def lint_text(
    root: Path,
    text: str | bytes,
    *,
    leaf: str = SKILL_LEAF,
    profile: str = "labtax",
    lint: dict | None = None,
    **write: object,
) -> list[Problem]:
    """Lint one leaf written from `text` in a fresh repository folder `root`."""
    if leaf.startswith("knowledge") and "files" not in write:
        write["files"] = {"kinematics.md": "# Kinematics\n\nMotion without its causes.\n"}
    path = write_leaf(root, leaf, text, **write)  # type: ignore[arg-type]
    (root / "labtax.yaml").write_text(f"profile: {profile}\n", encoding="utf-8")
    config = load_config(root, overrides={"lint": lint} if lint else None)
    return lint_paths([path], config)


def assert_rule(
    root: Path, rule: str, text: str | bytes, *expected: tuple[int, int], **kwargs: object
) -> list[Problem]:
    """Assert that `rule` reports exactly the (line, column) positions `expected` for this leaf."""
    problems = lint_text(root, text, **kwargs)  # type: ignore[arg-type]
    got = [(p.line, p.column) for p in problems if p.rule == rule]
    assert got == list(expected), "\n".join(f"{p.line}:{p.column} {p.rule} {p.message}" for p in problems)
    return [p for p in problems if p.rule == rule]
