"""Caching and resume: kill -9 mid-run, template edits, leaf edits, template injection, determinism."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from labtax.errors import LabtaxError
from labtax.resources import data_dir
from tests.generate.helpers import (
    SKILL,
    git,
    make_repo,
    outputs,
    run,
    write_config,
    write_leaf,
)
from tests.generate.teacher_server import TeacherServer, good_teacher, picky_teacher, stage_of


def body_key(body: dict) -> str:
    return json.dumps(body, sort_keys=True)


def manifest_counts(repo: Path) -> dict:
    leaves = json.loads((repo / "generated/manifest.json").read_text())["leaves"]
    return {path: (entry["stages"], entry["records"], entry["tokens"]) for path, entry in leaves.items()}


def cached_calls(repo: Path) -> int:
    path = repo / "generated/.cache/calls.sqlite"
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(path) as db:
            return int(db.execute("SELECT COUNT(*) FROM calls").fetchone()[0])
    except sqlite3.OperationalError:  # table not created yet
        return 0


@pytest.mark.parametrize("rounds", [False, True], ids=["one-round", "rounds"])
def test_kill_9_then_rerun_repeats_no_finished_call(tmp_path: Path, rounds: bool) -> None:
    script, settings = (
        (picky_teacher, {"target_per_leaf": 4, "max_candidates_per_leaf": 24})
        if rounds
        else (good_teacher, {})
    )
    reference = make_repo(tmp_path / "reference")
    with TeacherServer(script) as server:
        write_config(reference, server.url, **settings)
        run(reference)
        total = len(server.answered)
    if rounds:  # the kill lands after round 1
        assert (
            max(
                e["rounds"]
                for e in json.loads((reference / "generated/manifest.json").read_text())["leaves"].values()
            )
            >= 2
        )

    repo = make_repo(tmp_path / "repo")
    finished = 40 if rounds else 12
    with TeacherServer(script, freeze_after=finished) as server:
        write_config(repo, server.url, **settings)
        env = {**os.environ, "HF_HUB_OFFLINE": "1"}
        command = [sys.executable, "-c", "from labtax.cli import main; main()", "generate", "--all"]
        process = subprocess.Popen(
            command, cwd=repo, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 30
        while cached_calls(repo) < finished and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert cached_calls(repo) == finished, (
            process.stderr.read().decode() if process.poll() is not None else "timeout"
        )
        process.send_signal(signal.SIGKILL)
        process.wait()
        first = {body_key(b) for b in server.answered}
    assert len(first) == finished

    with TeacherServer(script) as server:
        write_config(repo, server.url, **settings)
        run(repo)
        second = [body_key(b) for b in server.answered]
    assert not first & set(second)  # no finished call was asked again
    assert len(second) == total - finished
    assert outputs(repo) == outputs(reference)  # the same output as an uninterrupted run
    assert manifest_counts(repo) == manifest_counts(reference)
    assert not list((repo / "generated").rglob("*.tmp"))


def test_rerun_with_cache_calls_nothing_and_gives_the_same_output(repo: Path) -> None:
    with TeacherServer() as server:
        write_config(repo, server.url)
        run(repo)
        before = outputs(repo)
    with TeacherServer() as server:
        write_config(repo, server.url)
        result = run(repo)
        assert server.received == []
    assert outputs(repo) == before and len(before) == 3
    assert all(
        entry["teacher_calls"] == 0 and entry["cache_hits"] > 0
        for entry in result.manifest["leaves"].values()
    )


def test_template_change_invalidates_only_its_calls(repo: Path) -> None:
    shutil.copytree(data_dir("prompts"), repo / "my_prompts")
    with TeacherServer() as server:
        write_config(repo, server.url, prompts_dir="my_prompts")
        run(repo)
        pair_calls = server.stages()["evaluate_pairs"]
        hashes = json.loads((repo / "generated/manifest.json").read_text())["leaves"]
    assert pair_calls > 0
    template = repo / "my_prompts/evaluate_pairs.j2"
    template.write_text(template.read_text() + "Be strict.\n")
    with TeacherServer() as server:
        write_config(repo, server.url, prompts_dir="my_prompts")
        run(repo)
        assert server.stages() == {"evaluate_pairs": pair_calls}
        assert all("Be strict." in b["messages"][0]["content"] for b in server.answered)
    after = json.loads((repo / "generated/manifest.json").read_text())["leaves"]
    leaf = "taxonomy/compositional_skills/writing/haiku/qna.yaml"
    assert after[leaf]["templates"]["evaluate_pairs"] != hashes[leaf]["templates"]["evaluate_pairs"]
    assert after[leaf]["templates"]["generate_responses"] == hashes[leaf]["templates"]["generate_responses"]


def test_editing_one_leaf_calls_the_teacher_for_that_leaf_only(repo: Path) -> None:
    with TeacherServer() as server:
        write_config(repo, server.url)
        run(repo)
    edited = SKILL.replace(
        "Write a short haiku about a science topic.", "Write a short haiku about a chemistry topic."
    )
    write_leaf(repo, "compositional_skills/writing/haiku", edited)
    with TeacherServer() as server:
        write_config(repo, server.url)
        result = run(repo)
        assert server.answered and all(
            "chemistry topic" in b["messages"][0]["content"] for b in server.answered
        )
    untouched = result.manifest["leaves"]["taxonomy/knowledge/physics/kinematics/qna.yaml"]
    assert untouched["teacher_calls"] == 0


def test_leaf_content_reaches_the_teacher_verbatim(repo: Path) -> None:
    hostile = SKILL.replace(
        "Write a haiku about water.", "Write a haiku about {{ 7*7 }} and {% for x in y %}{{ x }}{% endfor %}."
    )
    hostile = hostile.replace("a science topic.", "a science topic {{ config }}.")
    leaf = write_leaf(repo, "compositional_skills/writing/haiku", hostile)
    with TeacherServer() as server:
        write_config(repo, server.url, num_instructions=2, seeds_per_prompt=5)
        result = run(repo, leaves=(leaf,))
        prompts = [
            b["messages"][0]["content"] for b in server.answered if stage_of(b) == "generate_instructions"
        ]
    assert not result.failed and len(prompts) == 2
    for prompt in prompts:
        assert "Write a haiku about {{ 7*7 }} and {% for x in y %}{{ x }}{% endfor %}." in prompt
        assert "a science topic {{ config }}." in prompt
        assert "49" not in prompt


def test_sandbox_refuses_unsafe_user_templates(repo: Path) -> None:
    shutil.copytree(data_dir("prompts"), repo / "my_prompts")
    (repo / "my_prompts/generate_instructions.j2").write_text(
        "{{ task_description.__class__.__mro__[1].__subclasses__() }}"
    )
    with TeacherServer() as server:
        write_config(repo, server.url, prompts_dir="my_prompts", num_instructions=1)
        result = run(repo, leaves=("taxonomy/compositional_skills/writing/haiku",))
        assert server.received == []
    (reason,) = result.failed.values()
    assert "generate_instructions" in reason and "unsafe" in reason


def test_missing_prompts_dir_is_a_clear_error(repo: Path) -> None:
    with TeacherServer() as server:
        write_config(repo, server.url, prompts_dir="nowhere")
        with pytest.raises(LabtaxError, match="prompts directory .*nowhere does not exist"):
            run(repo)
    git(repo, "status")  # the repository is untouched
