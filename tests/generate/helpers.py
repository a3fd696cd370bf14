"""Helpers for generate tests: tiny leaves in real git repositories, and a run helper."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from labtax.generate import GenerateOptions, GenerateResult, generate
from labtax.generate.output import is_dropped_file

SKILL = """version: 3
created_by: tester
task_description: Write a short haiku about a science topic.
seed_examples:
  - question: Write a haiku about gravity.
    answer: "Apples fall to ground, the earth pulls on everything, quiet steady force"
  - question: Write a haiku about light.
    answer: "Faster than all things, waves and particles at once, the sun's bright message"
  - question: Write a haiku about water.
    answer: "Two hydrogens hold one oxygen in between, rivers carry them"
  - question: Write a haiku about magnets.
    answer: "North seeks out the south, invisible lines of force, iron filings dance"
  - question: Write a haiku about atoms.
    answer: "Tiny and unseen, protons neutrons electrons, building all we see"
"""

GROUNDED = """version: 3
created_by: tester
task_description: Summarise a short passage in one sentence.
seed_examples:
""" + "".join(
    f"""  - context: Passage number {i} says that {topic} matters to physics.
    question: Summarise the passage.
    answer: The passage says {topic} matters.
"""
    for i, topic in enumerate(["energy", "mass", "charge", "spin", "time"])
)

KNOWLEDGE = (
    """version: 3
created_by: tester
domain: physics
document_outline: Basic kinematics of motion in one dimension.
seed_examples:
"""
    + "".join(
        f"""  - context: Velocity is the rate of change of position with time ({i}).
    questions_and_answers:
      - question: What is velocity {i}?
        answer: The rate of change of position.
      - question: What does velocity {i} measure?
        answer: How fast position changes.
      - question: Is velocity {i} a rate?
        answer: Yes.
"""
        for i in range(5)
    )
    + """document:
  patterns:
    - "*.md"
  license: CC-BY-4.0
"""
)

DOCUMENT = " ".join(
    f"Sentence {i} says that velocity is the rate of change of position with time." for i in range(40)
)


def git(cwd: Path, *args: str) -> str:
    """git with a fixed identity and date, so equal trees give equal commit ids."""
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "T",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "T",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        "GIT_AUTHOR_DATE": "2024-01-01T00:00:00Z",
        "GIT_COMMITTER_DATE": "2024-01-01T00:00:00Z",
    }
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


def write_leaf(repo: Path, folder: str, text: str, documents: dict[str, str] | None = None) -> str:
    """Write a leaf under taxonomy/<folder>; return its qna.yaml path relative to the repo."""
    leaf = repo / "taxonomy" / folder
    leaf.mkdir(parents=True, exist_ok=True)
    (leaf / "qna.yaml").write_text(text)
    (leaf / "attribution.txt").write_text("Written for the labtax tests.\n")
    for name, content in (documents or {}).items():
        (leaf / name).write_text(content)
    return f"taxonomy/{folder}/qna.yaml"


def make_repo(root: Path) -> Path:
    """A git repo (branch main) with one skills leaf, one grounded skills leaf and one knowledge leaf,
    committed."""
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    write_leaf(root, "compositional_skills/writing/haiku", SKILL)
    write_leaf(root, "compositional_skills/reading/summary", GROUNDED)
    write_leaf(root, "knowledge/physics/kinematics", KNOWLEDGE, {"kinematics.md": DOCUMENT})
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "leaves")
    return root


def write_config(repo: Path, url: str, evaluation: dict[str, Any] | None = None, **generate: Any) -> None:
    """labtax.yaml for a test run: one round (target 0) and explicit reply forms (no probe) unless a test
    asks otherwise. Eval items are off unless `evaluation` asks for them, so the tests of the training
    records see every kept record and only the training stages' calls (no held-out pair, no cloze item)."""
    settings = {
        "teacher": url,
        "retry_backoff_s": 0.01,
        "request_timeout_s": 5,
        "num_instructions": 4,
        "target_per_leaf": 0,
        "assistant_prefill": False,
        "choice": "logprobs",
        **generate,
    }
    evaluation = {
        "holdout_fraction": 0,
        "holdout_per_leaf": 0,
        "mcq_per_leaf": 0,
        "mcq_cloze": False,
        **(evaluation or {}),
    }
    (repo / "labtax.yaml").write_text(json.dumps({"generate": settings, "eval": evaluation}))  # JSON is YAML


def run(repo: Path, **options: Any) -> GenerateResult:
    options.setdefault("all_leaves", not options.get("leaves"))
    return generate(GenerateOptions(root=repo, show_progress=False, **options))


def outputs(repo: Path, folder: str = "generated") -> dict[str, str]:
    """Every records file's text (not the dropped candidates), by path relative to the output folder."""
    base = repo / folder
    return {
        p.relative_to(base).as_posix(): p.read_text()
        for p in sorted(base.rglob("*.jsonl"))
        if not is_dropped_file(p)
    }


def records(repo: Path, relative: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (repo / "generated" / relative).read_text().splitlines()]
