"""A rank run: files TRL and datasets load, question-level splits, cache and rerun, dry run,
generate's real output (kept and dropped answers)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from labtax.errors import ConfigError
from labtax.preferences import SPLITS, read_preferences, split_path
from labtax.rank.splits import check_shares, split_of
from tests.generate.helpers import SKILL, git, write_leaf
from tests.generate.teacher_server import Reply, TeacherServer, good_teacher, stage_of
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

SHARES = {"reward": 0.4, "dpo": 0.4, "val": 0.1, "test": 0.1}
TRAINING = {"reward": 0.4 / 0.9, "dpo": 0.4 / 0.9, "val": 0.1 / 0.9}  # without test, renormalised
MANY = [
    (f"Write a haiku about topic number {i}.", f"Kept haiku number {i} about its topic") for i in range(50)
]


def all_rows(repo: Path) -> dict[str, list[dict]]:
    return {split: read_preferences(split_path(repo / "preferences", split)) for split in SPLITS}


def test_splits_are_per_question_with_the_configured_shares(repo: Path) -> None:
    write_generated(repo, HAIKU, MANY)
    with TeacherServer(ranker()) as server:
        write_config(repo, server.url, candidates=2)
        result = run(repo, leaves=(HAIKU,))
    splits = all_rows(repo)
    questions = {split: {r["question_id"] for r in rows} for split, rows in splits.items()}
    # no question in two splits
    assert sum(map(len, questions.values())) == len(set().union(*questions.values())) == 50
    assert questions["test"] == set()  # training records' questions never land in test
    for split, share in TRAINING.items():  # 50 draws: within three standard deviations of the share
        assert abs(len(questions[split]) - 50 * share) <= 3 * (50 * share * (1 - share)) ** 0.5, (
            split,
            len(questions[split]),
        )
        assert all(r["split"] == split for r in splits[split])
    leaf_rows = read_preferences(repo / "preferences/compositional_skills/writing/haiku.jsonl")
    assert sorted(json.dumps(r, sort_keys=True) for r in leaf_rows) == sorted(
        json.dumps(r, sort_keys=True) for rows in splits.values() for r in rows
    )
    entry = result.manifest["leaves"][HAIKU]
    assert (
        entry["splits"] == {split: len(rows) for split, rows in splits.items()}
        and entry["pairs"] == len(leaf_rows) == 50
    )
    assert result.manifest["totals"]["splits"] == entry["splits"]


def test_split_of_is_stable_and_follows_the_shares_without_test() -> None:
    ids = [f"{i:032x}" for i in range(4000)]
    counts = Counter(split_of(i, SHARES) for i in ids)
    assert counts["test"] == 0  # only held-out prompts are tested
    assert all(abs(counts[s] / 4000 - share) < 0.03 for s, share in TRAINING.items()), counts
    assert {split_of(i, SHARES, heldout=True) for i in ids[:50]} == {"test"}
    assert split_of(ids[7], SHARES) == split_of(ids[7], dict(SHARES))  # depends on the id and the shares only
    # the test share does not move a training question: a renormalised cut of the same point
    assert [split_of(i, SHARES) for i in ids] == [
        split_of(i, {"reward": 0.4, "dpo": 0.4, "val": 0.1, "test": 0.5}) for i in ids
    ]
    assert Counter(split_of(i, {"reward": 0.5, "dpo": 0.5, "val": 0, "test": 0}) for i in ids).keys() == {
        "reward",
        "dpo",
    }
    with pytest.raises(ConfigError, match="add up to 1"):
        check_shares({"reward": 0.5, "dpo": 0.4, "val": 0.2, "test": 0.1})
    with pytest.raises(ConfigError, match="reward, dpo and val share 0"):
        check_shares({"reward": 0, "dpo": 0, "val": 0, "test": 1})


def test_files_load_with_datasets_and_every_row_is_a_valid_preference(repo: Path, tmp_path: Path) -> None:
    from datasets import load_dataset

    write_generated(repo, HAIKU, MANY[:30], dropped=[("Write a haiku about dust.", "Bad haiku")])
    write_heldout(repo, HAIKU, [("Write a haiku about frost.", "Frost on the window")])
    write_generated(
        repo,
        KINEMATICS,
        [(f"What is velocity {i}?", f"The rate of change of position {i}.") for i in range(20)],
        context="Velocity passage.",
    )
    with TeacherServer(ranker()) as server:
        write_config(repo, server.url, candidates=3)
        run(repo, leaves=(HAIKU, KINEMATICS))
    files = {split: str(split_path(repo / "preferences", split)) for split in SPLITS}
    loaded = load_dataset("json", data_files=files, cache_dir=str(tmp_path / "hf"))
    for split in SPLITS:
        rows = read_preferences(Path(files[split]))
        assert loaded[split].num_rows == len(rows) > 0
        assert {
            "prompt",
            "chosen",
            "rejected",
            "leaf",
            "question_id",
            "split",
            "reference",
            "ranking",
            "provenance",
        } <= set(loaded[split].column_names)
        first = loaded[split][0]
        assert (
            first["prompt"][-1]["role"] == "user"
            and first["chosen"][0]["role"] == first["rejected"][0]["role"] == "assistant"
        )
    rows = [r for split in SPLITS for r in read_preferences(Path(files[split]))]
    assert {r["provenance"]["chosen"] for r in rows} | {r["provenance"]["rejected"] for r in rows} == {
        "teacher",
        "teacher@1.0",
        "dropped",
    }
    knowledge = [r for r in rows if r["leaf"] == KINEMATICS]
    assert knowledge and all(
        r["prompt"] == [{"role": "user", "content": r["prompt"][0]["content"]}]
        and "passage" not in r["prompt"][0]["content"]
        for r in knowledge
    )
    kept = {
        r["prompt"][0]["content"]: r["reference"]
        for r in rows
        if r["leaf"] == HAIKU and r["provenance"]["reference"] == "teacher"
    }
    assert kept["Write a haiku about topic number 3."] == "Kept haiku number 3 about its topic"


def test_a_rerun_of_unchanged_leaves_asks_the_teacher_nothing(repo: Path) -> None:
    write_generated(repo, HAIKU, MANY[:5])
    with TeacherServer(ranker()) as server:
        write_config(repo, server.url, candidates=3, method="list")
        first = run(repo, leaves=(HAIKU,))
        before = {p: p.read_text() for p in sorted((repo / "preferences").rglob("*.jsonl"))}
        asked = len(server.received)
        second = run(repo, leaves=(HAIKU,))
        assert len(server.received) == asked > 0
    assert {p: p.read_text() for p in sorted((repo / "preferences").rglob("*.jsonl"))} == before
    assert first.manifest["leaves"][HAIKU]["teacher_calls"] == asked
    assert (
        second.manifest["leaves"][HAIKU]["teacher_calls"] == 0
        and second.manifest["leaves"][HAIKU]["cache_hits"] == asked
    )


def test_dry_run_plans_and_calls_nothing(repo: Path) -> None:
    write_generated(repo, HAIKU, MANY[:5], dropped=[("Write a haiku about dust.", "Bad haiku")])
    with TeacherServer(ranker()) as server:
        write_config(repo, server.url, candidates=3)
        result = run(repo, leaves=(HAIKU, SUMMARY), dry_run=True)
        assert server.received == []
    assert not (repo / "preferences").exists()
    [plan] = result.plan
    # 6 questions (5 kept, 1 dropped), 3 candidates each: 2 samples each, 3 pairs in both orders each
    assert plan == {
        "leaf": HAIKU,
        "questions": 6,
        "candidates": 18,
        "samples": 12,
        "comparisons": 36,
        "calls_max": 48,
        "student_answers": 0,
    }
    assert result.empty == [SUMMARY]


def test_ranking_another_leaf_moves_no_question_of_the_others(repo: Path) -> None:
    write_generated(repo, HAIKU, MANY[:20])
    with TeacherServer(ranker()) as server:
        write_config(repo, server.url, candidates=2)
        run(repo, leaves=(HAIKU,))
        before = {r["question_id"]: split for split, rows in all_rows(repo).items() for r in rows}
        write_generated(
            repo,
            KINEMATICS,
            [(f"What is velocity {i}?", f"Position change {i}.") for i in range(20)],
            context="Passage.",
        )
        run(repo, leaves=(KINEMATICS,))
    after = {r["question_id"]: split for split, rows in all_rows(repo).items() for r in rows}
    assert {q: after[q] for q in before} == before and len(after) == 40  # the split files hold both leaves


def test_generate_output_end_to_end_with_the_judges_dropped_answers(repo: Path) -> None:
    """Real `labtax generate` output: the pairs the judge rated 1 are in <leaf>.dropped.jsonl, and their
    questions are ranked with their low-rated answer among the candidates."""
    from tests.generate.helpers import run as generate
    from tests.generate.helpers import write_config as generate_config

    def teacher(body: dict, attempt: int = 0) -> Reply:
        if stage_of(body) == "evaluate_pairs":  # every other instruction's answer is rated low
            return Reply("1" if len(body["messages"][0]["content"]) % 2 else "3")
        return (
            ranker()(body, attempt)
            if body["messages"][0]["content"].startswith("Task: compare")
            else good_teacher(body, attempt)
        )

    with TeacherServer(teacher) as server:
        generate_config(repo, server.url, choice="text", num_instructions=6)
        generate(repo, leaves=(HAIKU,))
        records = [
            json.loads(line)
            for line in (repo / "generated/compositional_skills/writing/haiku.jsonl").read_text().splitlines()
        ]
        dropped = [
            json.loads(line)
            for line in (repo / "generated/compositional_skills/writing/haiku.dropped.jsonl")
            .read_text()
            .splitlines()
        ]
        low = [d for d in dropped if d["stage"] == "evaluate_pairs"]
        assert records and low
        config = json.loads((repo / "labtax.yaml").read_text())
        (repo / "labtax.yaml").write_text(json.dumps({**config, "rank": {"candidates": 2}}))
        result = run(repo, leaves=(HAIKU,))
    entry = result.manifest["leaves"][HAIKU]
    assert entry["questions"] == len(records) + len(low)
    rows = read_preferences(repo / "preferences/compositional_skills/writing/haiku.jsonl")
    answers = {r["rejected"][0]["content"] for r in rows} | {r["chosen"][0]["content"] for r in rows}
    assert {a["answer"] for a in low} <= answers
    assert "dropped" in {r["provenance"]["rejected"] for r in rows} | {
        r["provenance"]["chosen"] for r in rows
    }
    assert {r["provenance"]["ranker"] for r in rows} == {"openai:scripted-teacher"}
    assert {r["reference"] for r in rows if r["provenance"]["reference"] == "teacher"} <= {
        r["messages"][-1]["content"] for r in records
    }


def test_a_deleted_leaf_loses_its_pairs(repo: Path) -> None:
    write_generated(repo, HAIKU, MANY[:3])
    write_leaf(repo, "compositional_skills/writing/limerick", SKILL)
    limerick = "taxonomy/compositional_skills/writing/limerick/qna.yaml"
    write_generated(repo, limerick, [("Write a limerick.", "There once was a test")])
    with TeacherServer(ranker()) as server:
        write_config(repo, server.url, candidates=2)
        run(repo, leaves=(HAIKU, limerick))
        assert (repo / "preferences/compositional_skills/writing/limerick.jsonl").is_file()
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "limerick")
        git(repo, "rm", "-q", "-r", "taxonomy/compositional_skills/writing/limerick")
        result = run(repo, all_leaves=False, base="HEAD")
    assert result.removed == ["compositional_skills/writing/limerick.jsonl"]
    assert limerick not in result.manifest["leaves"] and HAIKU in result.manifest["leaves"]
    assert {r["leaf"] for rows in all_rows(repo).values() for r in rows} == {HAIKU}
