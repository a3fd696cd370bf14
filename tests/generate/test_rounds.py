"""Rounds towards a target yield per leaf: reaching it, stopping at the budget, stopping early on
unparseable replies, caching across reruns, and the exit code for empty leaves."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from labtax.cli import cli
from labtax.generate.rounds import next_count
from tests.generate.helpers import outputs, run, write_config
from tests.generate.teacher_server import Reply, TeacherServer, good_teacher, picky_teacher, stage_of

HAIKU = "taxonomy/compositional_skills/writing/haiku/qna.yaml"


def rejects_all(body: dict[str, Any], attempt: int = 0) -> Reply:
    return Reply("no") if stage_of(body) == "evaluate_instructions" else good_teacher(body)


def untagged_garbage(body: dict[str, Any], attempt: int = 0) -> Reply:
    return (
        Reply("Answer: I would rather not.")
        if stage_of(body) == "generate_instructions"
        else good_teacher(body)
    )


def test_next_count_scales_by_the_last_yield() -> None:
    assert next_count(missing=3, last_count=4, last_kept=1, left=100) == 12
    assert next_count(missing=1, last_count=4, last_kept=3, left=100) == 2  # ceil(1 * 4 / 3)
    # nothing kept: twice the last round
    assert next_count(missing=5, last_count=4, last_kept=0, left=100) == 8
    assert next_count(missing=5, last_count=4, last_kept=0, left=3) == 3  # never past the budget
    assert next_count(missing=5, last_count=4, last_kept=1, left=0) == 0


def test_rounds_reach_the_target_and_a_rerun_is_all_cache(repo: Path) -> None:
    with TeacherServer(picky_teacher) as server:
        write_config(repo, server.url, num_instructions=3, target_per_leaf=4, max_candidates_per_leaf=60)
        result = run(repo, leaves=(HAIKU,))
        first_calls = len(server.answered)
        first = outputs(repo)
        again = run(repo, leaves=(HAIKU,))
        assert len(server.answered) == first_calls  # every round's calls came from the cache
    entry = result.manifest["leaves"][HAIKU]
    assert entry["rounds"] >= 2 and entry["target_met"] is True
    assert entry["kept"] == entry["records"] >= 4 and entry["target"] == 4
    assert entry["candidates"] == entry["stages"]["generate_instructions"]["generated"] <= 60
    assert outputs(repo) == first and again.manifest["leaves"][HAIKU]["teacher_calls"] == 0
    samples = [
        json.loads(line)["id"] for line in first["compositional_skills/writing/haiku.jsonl"].splitlines()
    ]
    assert len(samples) == len(set(samples))  # later rounds asked for new samples, not the same ones


def test_rounds_stop_at_the_budget(repo: Path) -> None:
    with TeacherServer(rejects_all) as server:
        write_config(repo, server.url, num_instructions=2, target_per_leaf=3, max_candidates_per_leaf=9)
        result = run(repo, leaves=(HAIKU,))
        generated = server.stages()["generate_instructions"]
    entry = result.manifest["leaves"][HAIKU]
    assert generated == entry["candidates"] == 9  # 2, then 4, then the 3 left
    assert entry["rounds"] == 3 and entry["target_met"] is False and entry["records"] == 0
    assert result.empty == [HAIKU] and not result.failed


def test_unparseable_stage_stops_the_leaf_early_with_advice(repo: Path) -> None:
    with TeacherServer(untagged_garbage) as server:
        write_config(repo, server.url, num_instructions=3, target_per_leaf=5, max_candidates_per_leaf=50)
        result = run(repo, leaves=(HAIKU,))
        asked = len(server.answered)
    assert asked == 3  # one round, not the whole budget
    message = result.failed[HAIKU]
    assert "stage generate_instructions" in message and "all 3 replies were unparseable" in message
    assert "I would rather not." in message and "assistant_prefill" in message


def test_cli_exit_code_for_empty_leaves(repo: Path) -> None:
    runner = CliRunner()
    with TeacherServer(rejects_all) as server:
        write_config(repo, server.url, num_instructions=1, target_per_leaf=1, max_candidates_per_leaf=2)
        with pytest.MonkeyPatch.context() as patch:
            patch.chdir(repo)
            empty = runner.invoke(cli, ["generate", HAIKU])
            allowed = runner.invoke(cli, ["generate", "--allow-empty", HAIKU])
    assert (
        empty.exit_code == 1 and "ended with zero records" in empty.output and "--allow-empty" in empty.output
    )
    assert allowed.exit_code == 0, allowed.output
    assert "target 1 not met in 2 rounds" in allowed.output


def test_one_unparseable_reply_is_not_enough_to_stop(repo: Path) -> None:
    """A single empty answer is chance: the leaf goes on with more rounds."""

    calls = {"n": 0}

    def first_answer_empty(body: dict[str, Any], attempt: int = 0) -> Reply:
        if stage_of(body) == "generate_responses":
            calls["n"] += 1
            if calls["n"] == 1:
                return Reply("  \n ")  # no answer in it (an empty reply would be a failed call, retried)
        return good_teacher(body)

    with TeacherServer(first_answer_empty) as server:
        write_config(repo, server.url, num_instructions=1, target_per_leaf=2, max_candidates_per_leaf=6)
        result = run(repo, leaves=(HAIKU,))
    entry = result.manifest["leaves"][HAIKU]
    assert (
        not result.failed
        and entry["target_met"]
        and entry["stages"]["generate_responses"]["dropped"] == {"unparseable": 1}
    )


def test_held_out_pairs_count_towards_the_target_they_were_kept_for(repo: Path) -> None:
    """Rounds stop once `target` items pass every stage; setting some aside as eval pairs afterwards
    leaves fewer training records, but the target was met (the summary must not say otherwise)."""
    with TeacherServer(good_teacher) as server:
        write_config(
            repo,
            server.url,
            {"holdout_fraction": 0.5},
            num_instructions=2,
            target_per_leaf=2,
            max_candidates_per_leaf=8,
        )
        result = run(repo, leaves=(HAIKU,))
    entry = result.manifest["leaves"][HAIKU]
    assert entry["kept"] == 2 and entry["rounds"] == 1 and entry["target_met"] is True
    assert entry["records"] == entry["kept"] - entry["eval"]["heldout"] == 1
