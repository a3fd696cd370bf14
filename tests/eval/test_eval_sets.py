"""Evaluation sets made by `labtax generate` (scripted teacher on 127.0.0.1) and kept apart from training."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from labtax.config import load_config
from labtax.errors import LabtaxError
from labtax.eval import mcq
from labtax.eval.scoring import Outcome, metrics
from labtax.eval.sets import benchmark_items, generated_sets
from labtax.mix import read_generated
from labtax.train.select import Candidate, get_selector, selector_weights
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


# ---- benchmark folders ---------------------------------------------------------------------------

CSV_ROWS = [
    '"Which planet is the largest?",Mars,Jupiter,Venus,Earth,B\n',
    "What is frozen water called?,Steam,Ice,Fog,Dew,B\n",
    "How many days are in a week?,Five,Six,Seven,Eight,C\n",
]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_an_mmlu_folder_scores_the_test_split_with_the_dev_split_as_shots(tmp_path: Path) -> None:
    bench = tmp_path / "bench"
    write(bench / "dev/college_physics_dev.csv", CSV_ROWS[2] + CSV_ROWS[0])
    write(bench / "val/college_physics_val.csv", CSV_ROWS[1])
    write(bench / "test/college_physics_test.csv", CSV_ROWS[1] + CSV_ROWS[2])
    rows = [
        {"question": "Which animal says moo?", "choices": ["A cow", "A dog", "A cat", "A hen"], "answer": 0},
        {"question": "What colour is grass?", "choices": ["Red", "Green", "Blue", "Grey"], "answer": 1},
    ]
    write(bench / "astronomy_test.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    write(bench / "astronomy_dev.jsonl", json.dumps(rows[1]) + "\n")
    items = benchmark_items(bench)
    assert [(i.leaf, i.question) for i in items] == [
        ("astronomy", "Which animal says moo?"),
        ("astronomy", "What colour is grass?"),
        ("college_physics", "What is frozen water called?"),
        ("college_physics", "How many days are in a week?"),
    ]
    physics = items[2]
    assert physics.about == "college physics" and physics.choices == ("Steam", "Ice", "Fog", "Dew")
    assert [d.question for d in physics.dev] == [
        "How many days are in a week?",
        "Which planet is the largest?",
    ]
    assert [d.question for d in mcq.pick_shots(physics, items, 1, seed=7)] == ["How many days are in a week?"]
    assert mcq.context(physics, mcq.pick_shots(physics, items, 2, seed=7)) == (
        "The following are multiple choice questions (with answers) about college physics.\n\n"
        "How many days are in a week?\nA. Five\nB. Six\nC. Seven\nD. Eight\nAnswer: C\n\n"
        "Which planet is the largest?\nA. Mars\nB. Jupiter\nC. Venus\nD. Earth\nAnswer: B\n\n"
        "What is frozen water called?\nA. Steam\nB. Ice\nC. Fog\nD. Dew\nAnswer:"
    )
    assert mcq.context(physics, [], cloze=True) == (
        "The following are questions (with answers) about college physics.\n\n"
        "Question: What is frozen water called?\nAnswer:"
    )
    with pytest.raises(
        LabtaxError, match=r"subject astronomy: 2 shots asked for and its dev split has 1 items"
    ):
        mcq.pick_shots(items[0], items, 2, seed=7)


def test_a_folder_of_plain_subject_files_is_read_as_before(tmp_path: Path) -> None:
    bench = tmp_path / "bench"
    write(bench / "physics.csv", "".join(CSV_ROWS))
    row = {"question": "Which animal says moo?", "choices": ["A cow", "A dog", "A cat", "A hen"], "answer": 0}
    write(bench / "farm.jsonl", json.dumps(row | {"subject": "animals"}) + "\n")
    items = benchmark_items(bench)
    assert [i.leaf for i in items] == ["animals", "physics", "physics", "physics"]
    assert all(not i.about and not i.dev for i in items)
    shots = mcq.pick_shots(items[1], items, 5, seed=3)  # the other items of the subject, drawn
    assert sorted(s.id for s in shots) == ["physics.csv:2", "physics.csv:3"]
    assert not mcq.context(items[1], shots).startswith("The following")


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (
            {"physics_test.csv": CSV_ROWS[0], "chemistry.csv": CSV_ROWS[1]},
            r"chemistry\.csv:1:1: error\[benchmark-layout\] a plain per-subject file beside MMLU split files",
        ),
        (
            {"test/physics_test.csv": CSV_ROWS[0], "dev/chemistry_dev.csv": CSV_ROWS[1]},
            r"chemistry_dev\.csv:1:1: error\[benchmark-layout\] subject chemistry has no test file",
        ),
        (
            {"physics_test.csv": CSV_ROWS[0] + "Which gas do plants take in?,Oxygen,CO2,Oxygen,Argon,B\n"},
            r"physics_test\.csv:2:1: error\[eval-item\] option C repeats an earlier option \('Oxygen'\)",
        ),
        (
            {"physics.jsonl": json.dumps({"question": "Q?", "choices": ["a", "b", " b ", "c"], "answer": 0})},
            r"physics\.jsonl:1:1: error\[eval-item\] option C repeats an earlier option \('b'\)",
        ),
        (
            {"physics.csv": "Which planet is the largest?,Mars,,Venus,Earth,B\n"},
            r"physics\.csv:1:1: error\[eval-item\] option B is empty",
        ),
        (
            {"physics_test.csv": CSV_ROWS[0], "dev/physics_test.jsonl": CSV_ROWS[0]},
            r"error\[benchmark-layout\] a second test file of subject physics",
        ),
    ],
)
def test_a_bad_benchmark_folder_is_one_located_error(
    tmp_path: Path, files: dict[str, str], message: str
) -> None:
    bench = tmp_path / "bench"
    for name, text in files.items():
        write(bench / name, text)
    with pytest.raises(LabtaxError, match=message) as error:
        benchmark_items(bench)
    assert error.value.exit_code == 2 and "\n" not in error.value.message


@pytest.mark.parametrize("case", ["mixed", "no_test", "repeat"])
def test_the_cli_stops_on_a_bad_benchmark_with_one_line_and_exit_2(
    tmp_path: Path, student_dir: Path, case: str
) -> None:
    repo = make_repo(tmp_path / "repo")
    write_config(repo, "http://127.0.0.1:9/v1")
    bench = tmp_path / "bench"
    write(
        bench / "physics_test.csv",
        CSV_ROWS[0] + (CSV_ROWS[0].replace("Venus", "Mars") if case == "repeat" else ""),
    )
    if case == "mixed":
        write(bench / "chemistry.csv", CSV_ROWS[1])
    if case == "no_test":
        write(bench / "chemistry_val.csv", CSV_ROWS[1])
    exe = Path(sys.executable).parent / "labtax"
    args = ["eval", "--model", str(student_dir), "--sets", "benchmark", "--benchmark", str(bench)]
    proc = subprocess.run([str(exe), *args], cwd=repo, capture_output=True, text=True, timeout=300)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 2, output
    assert "Traceback" not in output and len([line for line in output.splitlines() if "rror" in line]) == 1
    expected = {
        "mixed": "chemistry.csv:1:1:",
        "no_test": "subject chemistry has no test file",
        "repeat": "repeats",
    }
    assert expected[case] in output and not (repo / "evaluation" / "eval.json").exists()


def test_cloze_scores_are_reported_beside_the_letter_scores_and_selectors_can_use_them() -> None:
    outcomes = [
        Outcome("knowledge", "leaf", "knowledge", correct=False, correct_cloze=True, id="k1"),
        Outcome("knowledge", "leaf", "knowledge", correct=True, correct_cloze=True, id="k2"),
        Outcome("benchmark", "physics", "benchmark", correct=False, correct_cloze=True, id="b1"),
        Outcome("benchmark", "physics", "benchmark", correct=False, correct_cloze=False, id="b2"),
    ]
    scores = metrics(outcomes)
    assert scores["mcq_accuracy"] == 0.5 and scores["mcq_accuracy_cloze"] == 1.0 and scores["mcq_items"] == 2
    assert scores["benchmark_accuracy"] == 0.0 and scores["benchmark_accuracy_cloze"] == 0.5
    assert metrics([])["mcq_accuracy_cloze"] is None and metrics([])["benchmark_accuracy_cloze"] is None
    candidates = [
        Candidate(1, "a", 0.5, scores={"mcq_accuracy": 0.25, "mcq_accuracy_cloze": 0.75}),
        Candidate(2, "b", 0.4, scores={"mcq_accuracy": 0.5, "mcq_accuracy_cloze": 0.5}),
    ]
    assert get_selector("mcq")("kt1", candidates).epoch == 2
    assert get_selector("mcq_cloze")("kt1", candidates).epoch == 1
    assert selector_weights("mcq_cloze") == {"mcq_cloze": 1.0}
    bench = [Candidate(1, "a", 0.5, scores={"benchmark_accuracy_cloze": 0.2, "mcq_accuracy_cloze": 0.9})]
    bench.append(Candidate(2, "b", 0.6, scores={"benchmark_accuracy_cloze": 0.6, "mcq_accuracy_cloze": 0.8}))
    assert get_selector({"mcq_cloze": 1.0, "benchmark_cloze": 1.0})("kt2", bench).epoch == 2
