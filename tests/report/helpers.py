"""Outputs to report on: the starter taxonomy generated with a scripted teacher that drops some
candidates at every stage (deterministically) and rejects everything of one leaf."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path
from typing import Any

from tests.generate.helpers import git, run, write_config
from tests.generate.teacher_server import Reply, TeacherServer, good_teacher, stage_of

REPO_ROOT = Path(__file__).resolve().parents[2]
ZERO_LEAF = "taxonomy/foundational_skills/reasoning/logical_reasoning/qna.yaml"
JUDGES = {
    "evaluate_instructions": "no",
    "evaluate_faithfulness": "no",
    "evaluate_relevance": "no",
    "evaluate_pairs": "1",
}


def mixed_teacher(body: dict[str, Any], attempt: int = 0) -> Reply:
    """The good teacher, except: about 1 in 6 generations does not parse, 1 in 6 instructions repeats
    an example of its prompt (a near-duplicate), about 1 in 5 judgements
    says no (or rates 1), and every judgement about logical reasoning (its task names fallacies) says no."""
    stage = stage_of(body)
    text = body["messages"][0]["content"]
    draw = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).digest()[0]
    if stage in JUDGES and ("fallacies" in text or draw % 5 == 0):
        return Reply(JUDGES[stage])
    if stage in ("generate_instructions", "generate_qa") and draw % 6 == 0:
        return Reply("Sure! Here is something else entirely.")
    if stage == "generate_instructions" and draw % 6 == 1:  # an example of the prompt again: a near-duplicate
        example = re.search(r"^Instruction: (.+)$", text, re.MULTILINE)
        if example:
            return Reply(f"Instruction: {example.group(1)}")
    if stage == "evaluate_pairs" and draw % 4 == 0:
        return Reply("2")
    return good_teacher(body)


def starter_repo(root: Path) -> Path:
    """A git repository holding a copy of the starter taxonomy and labtax.yaml, committed."""
    root.mkdir(parents=True)
    shutil.copytree(REPO_ROOT / "taxonomy", root / "taxonomy")
    shutil.copy(REPO_ROOT / "labtax.yaml", root / "labtax.yaml")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "starter taxonomy")
    return root


def generate_starter(root: Path, num_instructions: int = 8, **settings: Any) -> Path:
    """The starter taxonomy generated with the mixed teacher; returns the repository."""
    repo = root if root.exists() else starter_repo(root)
    with TeacherServer(mixed_teacher) as server:
        config = (repo / "labtax.yaml").read_text()
        write_config(repo, server.url, num_instructions=num_instructions, **settings)
        try:
            result = run(repo)
        finally:
            (repo / "labtax.yaml").write_text(config)
    assert not result.failed, result.failed
    return repo
