"""The test split is generate's held-out prompts, never trained on: every test question is one, no
training record's question is one, a leaf without held-out prompts has no test pairs, and a rerun
stays free and stable."""

from __future__ import annotations

import json
from pathlib import Path

from labtax.preferences import SPLITS, read_preferences, split_path
from labtax.rank.summary import summary_line
from tests.generate.teacher_server import TeacherServer
from tests.rank.helpers import (
    HAIKU,
    KINEMATICS,
    SUMMARY,
    ranker,
    run,
    write_config,
    write_generated,
    write_heldout,
)

KEPT = [(f"Write a haiku about season {i}.", f"Kept haiku of season {i}") for i in range(24)]
HELD = [(f"Write a haiku about island {i}.", f"Held-out haiku of island {i}") for i in range(5)]
VELOCITY = [(f"What is velocity {i}?", f"The rate of change of position {i}.") for i in range(10)]


def split_rows(repo: Path) -> dict[str, list[dict]]:
    return {split: read_preferences(split_path(repo / "preferences", split)) for split in SPLITS}


def users(rows: list[dict]) -> set[str]:
    return {r["prompt"][-1]["content"] for r in rows}


def test_test_pairs_are_the_held_out_prompts_and_nothing_else(repo: Path) -> None:
    write_generated(repo, HAIKU, KEPT, dropped=[("Write a haiku about dust.", "Bad haiku")])
    write_heldout(repo, HAIKU, HELD)
    write_generated(repo, KINEMATICS, VELOCITY, context="Velocity passage.")  # knowledge: none held out
    with TeacherServer(ranker()) as server:
        write_config(repo, server.url, candidates=2)
        result = run(repo, leaves=(HAIKU, KINEMATICS))
    splits = split_rows(repo)
    test, training = splits["test"], [r for s in ("reward", "dpo", "val") for r in splits[s]]
    held = {q for q, _ in HELD}
    assert users(test) == held  # every held-out prompt is a test question, and only they are
    assert not users(test) & {q for q, _ in KEPT} and not users(training) & held
    assert users(training) >= {q for q, _ in KEPT} | {"Write a haiku about dust."}
    assert {r["provenance"]["question"] for r in test} == {"heldout"}
    assert {r["provenance"]["question"] for r in training} == {"record", "dropped"}
    assert {r["prompt"][-1]["content"]: r["reference"] for r in test} == dict(HELD)
    # the held-out reference is the teacher's candidate, ranked against a further sample
    assert {r["provenance"]["chosen"] for r in test} | {r["provenance"]["rejected"] for r in test} == {
        "teacher",
        "teacher@1.0",
    }
    assert not [r for r in test if r["leaf"] == KINEMATICS] and [
        r for r in training if r["leaf"] == KINEMATICS
    ]
    haiku, kinematics = result.manifest["leaves"][HAIKU], result.manifest["leaves"][KINEMATICS]
    assert haiku["heldout_questions"] == haiku["test_questions"] == 5 and haiku["splits"]["test"] == 5
    assert (
        kinematics["heldout_questions"] == kinematics["test_questions"] == kinematics["splits"]["test"] == 0
    )
    assert result.manifest["totals"]["test_questions"] == result.manifest["totals"]["heldout_questions"] == 5
    assert haiku["questions"] == len(KEPT) + 1 + len(HELD)
    assert "test 5; 5 test questions, from held-out prompts" in summary_line(result)


def test_a_rerun_is_free_and_moves_no_question(repo: Path) -> None:
    write_generated(repo, HAIKU, KEPT[:8])
    write_heldout(repo, HAIKU, HELD[:3])
    with TeacherServer(ranker()) as server:
        write_config(repo, server.url, candidates=3, method="list")
        run(repo, leaves=(HAIKU,))
        before = {p: p.read_text() for p in sorted((repo / "preferences").rglob("*.jsonl"))}
        asked = len(server.received)
        second = run(repo, leaves=(HAIKU,))
        assert len(server.received) == asked > 0
    assert {p: p.read_text() for p in sorted((repo / "preferences").rglob("*.jsonl"))} == before
    entry = second.manifest["leaves"][HAIKU]
    assert entry["teacher_calls"] == 0 and entry["cache_hits"] == asked and entry["test_questions"] == 3
    assert users(split_rows(repo)["test"]) == {q for q, _ in HELD[:3]}


def test_a_held_out_prompt_a_record_also_asks_is_no_test_question(repo: Path) -> None:
    """Trained on is trained on: the record's question stays in training, and no test pair asks it."""
    write_generated(repo, HAIKU, KEPT[:6])
    write_heldout(repo, HAIKU, [KEPT[2], HELD[0]])
    with TeacherServer(ranker()) as server:
        write_config(repo, server.url, candidates=2)
        result = run(repo, leaves=(HAIKU,))
    splits = split_rows(repo)
    assert users(splits["test"]) == {HELD[0][0]}
    assert KEPT[2][0] in users([r for s in ("reward", "dpo", "val") for r in splits[s]])
    assert result.manifest["leaves"][HAIKU]["heldout_questions"] == 1


def test_pairs_of_an_older_run_in_test_are_moved_out_of_it(repo: Path) -> None:
    """Pairs written before held-out prompts were the test split (no provenance.question) hold trained-on
    prompts: rebuilding the splits puts them in reward, dpo or val."""
    write_generated(repo, HAIKU, KEPT[:10])
    with TeacherServer(ranker()) as server:
        write_config(repo, server.url, candidates=2)
        run(repo, leaves=(HAIKU,))
        leaf_file = repo / "preferences/compositional_skills/writing/haiku.jsonl"
        old = [
            {
                **r,
                "split": "test",
                "provenance": {k: v for k, v in r["provenance"].items() if k != "question"},
            }
            for r in read_preferences(leaf_file)
        ]
        leaf_file.write_text("".join(json.dumps(r) + "\n" for r in old))
        write_generated(repo, SUMMARY, KEPT[10:13])  # ranking another leaf rebuilds the split files
        run(repo, leaves=(SUMMARY,))
    assert split_rows(repo)["test"] == []
    assert {r["split"] for r in read_preferences(leaf_file)} <= {"reward", "dpo", "val"}


def test_a_bad_held_out_line_is_a_located_error_and_fails_its_leaf_alone(repo: Path) -> None:
    write_generated(repo, HAIKU, KEPT[:3])
    path = write_heldout(repo, HAIKU, HELD[:2])
    lines = path.read_text().splitlines()
    lines[1] = json.dumps({**json.loads(lines[1]), "set": "knowledge"})
    path.write_text("\n".join(lines) + "\n")
    write_generated(repo, KINEMATICS, VELOCITY[:3], context="Velocity passage.")
    with TeacherServer(ranker()) as server:
        write_config(repo, server.url, candidates=2)
        result = run(repo, leaves=(HAIKU, KINEMATICS))
    assert f"{path}:2:1: error[eval-item]" in result.failed[HAIKU]
    assert result.ranked == [KINEMATICS]
