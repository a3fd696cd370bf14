"""Evaluation sets made by `labtax generate` (scripted teacher on 127.0.0.1) and kept apart from training."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from labtax.config import load_config
from labtax.errors import LabtaxError
from labtax.eval.sets import generated_sets
from labtax.mix import read_generated
from tests.generate.helpers import make_repo, run, write_config
from tests.generate.teacher_server import Reply, TeacherServer, field_of, good_teacher, stage_of

KNOWLEDGE = "taxonomy/knowledge/physics/kinematics/qna.yaml"
EVAL = {"mcq_per_leaf": 3, "mcq_max_candidates": 9, "holdout_fraction": 0.5}


def generated_repo(
    tmp_path: Path, script: Any = good_teacher, **evaluation: Any
) -> tuple[Path, TeacherServer]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    repo = make_repo(tmp_path / "repo")
    with TeacherServer(script) as server:
        write_config(repo, server.url, evaluation={**EVAL, **evaluation})
        result = run(repo)
    assert not result.failed, result.failed
    return repo, server


def test_knowledge_leaves_get_multiple_choice_items_and_skill_leaves_held_out_prompts(tmp_path: Path) -> None:
    repo, server = generated_repo(tmp_path)
    eval_dir = repo / "generated" / "eval"
    items = [
        json.loads(line)
        for line in (eval_dir / "knowledge/physics/kinematics.mcq.jsonl").read_text().splitlines()
    ]
    assert len(items) == 3
    for item in items:
        assert item["set"] == "knowledge" and item["leaf"] == KNOWLEDGE and len(item["choices"]) == 4
        assert item["answer"] in range(4) and item["context"] and item["provenance"]["leaf_hash"]
    manifest = json.loads((repo / "generated" / "manifest.json").read_text())
    entry = manifest["leaves"][KNOWLEDGE]
    assert entry["eval"]["mcq"] == {
        "target": 3,
        "kept": 3,
        "candidates": 3,
        "rounds": 1,
        "target_met": True,
        "budget": 9,
        "budget_spent": False,
    }
    assert entry["stages"]["generate_mcq"]["kept"] == 3 and entry["stages"]["evaluate_mcq"]["kept"] == 3
    assert server.stages()["generate_mcq"] == 3
    for leaf in ("compositional_skills/writing/haiku", "compositional_skills/reading/summary"):
        train = (repo / "generated" / f"{leaf}.jsonl").read_text().splitlines()
        held = [json.loads(line) for line in (eval_dir / f"{leaf}.heldout.jsonl").read_text().splitlines()]
        assert len(held) == 2 and len(train) == 2  # half of four kept pairs
        prompts = {json.loads(line)["messages"][0]["content"] for line in train}
        assert all(
            h["set"] == "skills" and h["prompt"][-1]["role"] == "user" and h["reference"] for h in held
        )
        assert not prompts & {h["prompt"][-1]["content"] for h in held}
        assert manifest["leaves"][f"taxonomy/{leaf}/qna.yaml"]["eval"]["heldout"] == 2
    mcq, heldout = generated_sets(eval_dir)
    assert len(mcq) == 3 and len(heldout) == 4


def test_rounds_continue_until_the_target_or_the_budget(tmp_path: Path) -> None:
    judged = Counter()

    def picky(body: dict[str, Any], attempt: int) -> Reply:
        if stage_of(body) == "evaluate_mcq":  # accept one candidate in three
            judged["n"] += 1
            return Reply("yes" if judged["n"] % 3 == 0 else "no")
        return good_teacher(body, attempt)

    repo, server = generated_repo(tmp_path, picky, mcq_per_leaf=2, mcq_max_candidates=7)
    entry = json.loads((repo / "generated" / "manifest.json").read_text())["leaves"][KNOWLEDGE]["eval"]["mcq"]
    # round 1 asks 2 (keeps 0), round 2 asks 5 = budget left (keeps 2 of them: calls 3 and 6 are yes)
    assert entry["candidates"] == 7 and entry["rounds"] == 2 and entry["kept"] == 2 and entry["target_met"]
    assert server.stages()["generate_mcq"] == 7

    def stubborn(body: dict[str, Any], attempt: int) -> Reply:
        return Reply("no") if stage_of(body) == "evaluate_mcq" else good_teacher(body, attempt)

    repo2, _ = generated_repo(tmp_path / "second", stubborn, mcq_per_leaf=2, mcq_max_candidates=5)
    entry = json.loads((repo2 / "generated" / "manifest.json").read_text())["leaves"][KNOWLEDGE]["eval"][
        "mcq"
    ]
    assert (
        entry["kept"] == 0 and entry["candidates"] == 5 and entry["budget_spent"] and not entry["target_met"]
    )
    assert not (repo2 / "generated" / "eval" / "knowledge/physics/kinematics.mcq.jsonl").exists()


def test_a_rerun_asks_the_teacher_nothing_and_writes_the_same_items(tmp_path: Path) -> None:
    repo, _ = generated_repo(tmp_path)
    before = {p: p.read_text() for p in (repo / "generated" / "eval").rglob("*.jsonl")}
    with TeacherServer() as server:
        write_config(repo, server.url, evaluation=EVAL)
        assert not run(repo).failed
        assert server.received == []
    assert {p: p.read_text() for p in (repo / "generated" / "eval").rglob("*.jsonl")} == before


def test_mix_never_trains_on_evaluation_items(tmp_path: Path) -> None:
    repo, _ = generated_repo(tmp_path)
    generated = repo / "generated"
    records = read_generated(generated)
    held = {
        json.loads(line)["prompt"][-1]["content"]
        for p in (generated / "eval").rglob("*.heldout.jsonl")
        for line in p.read_text().splitlines()
    }
    assert held and not held & {r["messages"][0]["content"] for r in records}
    assert len(records) == 4 + sum(
        1 for line in (generated / "knowledge/physics/kinematics.jsonl").read_text().splitlines()
    )

    # an eval file copied among the training files stops the mix, naming it
    stray = generated / "compositional_skills/writing/copied.jsonl"
    shutil.copy(generated / "eval/compositional_skills/writing/haiku.heldout.jsonl", stray)
    with pytest.raises(LabtaxError, match=r"copied\.jsonl:1:1: error\[eval-item\] an evaluation item"):
        read_generated(generated)
    stray.unlink()

    # a training record asking a held-out prompt stops it too
    train = generated / "compositional_skills/writing/haiku.jsonl"
    record = json.loads(train.read_text().splitlines()[0])
    record["messages"][0]["content"] = sorted(held)[0]
    train.write_text(train.read_text() + json.dumps(record) + "\n")
    with pytest.raises(
        LabtaxError,
        match=r"haiku\.jsonl:3:1: error\[eval-item\] this record asks the held-out evaluation prompt",
    ):
        read_generated(generated)


def test_a_deleted_leaf_loses_its_evaluation_items(tmp_path: Path) -> None:
    repo, _ = generated_repo(tmp_path)
    shutil.rmtree(repo / "taxonomy/knowledge/physics/kinematics")
    with TeacherServer() as server:
        write_config(repo, server.url, evaluation=EVAL)
        result = run(repo)
    assert "eval/knowledge/physics/kinematics.mcq.jsonl" in result.removed
    assert not list((repo / "generated").rglob("kinematics*"))
    assert load_config(repo)  # the repository still loads


def test_the_judging_prompt_sees_the_options_and_the_marked_answer(tmp_path: Path) -> None:
    repo, server = generated_repo(tmp_path)
    bodies = [b for b in server.received if stage_of(b) == "evaluate_mcq"]
    item = json.loads(
        (repo / "generated/eval/knowledge/physics/kinematics.mcq.jsonl").read_text().splitlines()[0]
    )
    texts = [b["messages"][0]["content"] for b in bodies]
    assert any(field_of(b, "Marked correct") == item["choices"][item["answer"]] for b in bodies)
    assert all(all(f"\n{letter}. " in text for letter in "ABCD") for text in texts)
