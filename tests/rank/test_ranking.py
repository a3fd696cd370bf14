"""Rankings into pairs: list replies validated (a bad one dropped and counted), pairs compared in
both orders (only agreeing verdicts count), against the scripted server."""

from __future__ import annotations

from pathlib import Path

import pytest

from labtax.rank.ranking import pairs_from_order, parse_ranking
from tests.generate.teacher_server import Reply, TeacherServer
from tests.rank.helpers import (
    HAIKU,
    posts,
    preference_rows,
    ranker,
    run,
    shown_answers,
    task,
    write_config,
    write_generated,
)

KEPT = "KEPT answer: apples fall to the ground"


@pytest.mark.parametrize(
    ("reply", "count", "order"),
    [
        ("312", 3, (3, 1, 2)),
        ("Ranking: 3, 1, 2", 3, (3, 1, 2)),
        ("21.", 2, (2, 1)),
        ("4 1 3 2\nbecause", 4, (4, 1, 3, 2)),
        ("113", 3, None),
        ("4x", 4, None),
        ("12", 3, None),
        ("1234", 3, None),
        ("", 2, None),
        ("the first", 2, None),
    ],
)
def test_parse_ranking_accepts_permutations_only(
    reply: str, count: int, order: tuple[int, ...] | None
) -> None:
    assert parse_ranking(reply, count) == order


def test_every_two_places_of_a_ranking_give_one_pair() -> None:
    assert pairs_from_order([3, 1, 2]) == [(3, 1), (3, 2), (1, 2)]
    assert len(pairs_from_order(list(range(4)))) == 6  # K(K-1)/2, as the paper's 7752 answers gave 7568 pairs


def test_list_reply_312_gives_the_pairs_it_says(repo: Path) -> None:
    write_generated(repo, HAIKU, [("Write a haiku about rain.", KEPT)])
    with TeacherServer(ranker(ranking=lambda answers: "312")) as server:
        write_config(repo, server.url, candidates=3, method="list")
        result = run(repo, leaves=(HAIKU,))
        [asked] = posts(server, "Task: rank answers")
    shown = shown_answers(asked)
    assert len(shown) == 3 and KEPT in shown
    rows = preference_rows(repo, "compositional_skills/writing/haiku.jsonl")
    assert {(r["chosen"][0]["content"], r["rejected"][0]["content"]) for r in rows} == {
        (shown[2], shown[0]),
        (shown[2], shown[1]),
        (shown[0], shown[1]),
    }
    assert all(r["ranking"]["method"] == "list" and r["ranking"]["order"] == "312" for r in rows)
    entry = result.manifest["leaves"][HAIKU]
    assert (
        entry["questions"],
        entry["candidates"],
        entry["comparisons"],
        entry["pairs"],
        entry["dropped_rankings"],
    ) == (1, 3, 1, 3, 0)
    sources = {r["chosen"][0]["content"]: r["provenance"]["chosen"] for r in rows} | {
        r["rejected"][0]["content"]: r["provenance"]["rejected"] for r in rows
    }
    assert sources[KEPT] == "teacher" and sorted(sources.values()) == [
        "teacher",
        "teacher@1.0",
        "teacher@1.0",
    ]


@pytest.mark.parametrize(("count", "reply"), [(3, "113"), (5, "4x"), (4, "5123"), (5, "12345 and 6")])
def test_an_invalid_list_ranking_is_dropped_and_counted(repo: Path, count: int, reply: str) -> None:
    """K <= 4: the reply is chosen among the permutations (here read from text); K = 5: free text,
    validated."""
    write_generated(
        repo, HAIKU, [("Write a haiku about rain.", KEPT), ("Write a haiku about snow.", "KEPT snow falls")]
    )
    with TeacherServer(ranker(ranking=lambda answers: reply)) as server:
        write_config(repo, server.url, candidates=count, method="list")
        result = run(repo, leaves=(HAIKU,))
        assert len(posts(server, "Task: rank answers")) == 2
    entry = result.manifest["leaves"][HAIKU]
    assert (entry["questions"], entry["comparisons"], entry["dropped_rankings"], entry["pairs"]) == (
        2,
        2,
        2,
        0,
    )
    assert not result.failed and preference_rows(repo, "compositional_skills/writing/haiku.jsonl") == []


def test_pairs_mode_keeps_only_verdicts_that_agree_in_both_orders(repo: Path) -> None:
    """The judge prefers the kept answer in either order (agreeing verdicts: a pair each) but between
    two samples always says "1" (they flip with the order: no pair, counted as inconsistent)."""
    write_generated(repo, HAIKU, [("Write a haiku about rain.", KEPT)])

    def pair(answers: list[str]) -> str:
        return "2" if answers[1] == KEPT else "1"

    with TeacherServer(ranker(pair=pair)) as server:
        write_config(repo, server.url, candidates=3, method="pairs")
        result = run(repo, leaves=(HAIKU,))
        compared = posts(server, "Task: compare two answers")
    assert len(compared) == 6  # 3 candidate pairs, each in both orders
    orders = {tuple(shown_answers(b)) for b in compared}
    assert len(orders) == 6 and all((b, a) in orders for a, b in orders)
    rows = preference_rows(repo, "compositional_skills/writing/haiku.jsonl")
    assert len(rows) == 2 and all(r["chosen"][0]["content"] == KEPT for r in rows)
    assert {r["rejected"][0]["content"] for r in rows} == {a for b in compared for a in shown_answers(b)} - {
        KEPT
    }
    assert all(r["ranking"] == {"method": "pairs", "agreement": 2, "order": None} for r in rows)
    entry = result.manifest["leaves"][HAIKU]
    assert (
        entry["comparisons"],
        entry["consistent_verdicts"],
        entry["inconsistent_verdicts"],
        entry["pairs"],
    ) == (6, 2, 1, 2)


def test_a_judge_that_always_names_the_first_answer_gives_no_pair(repo: Path) -> None:
    write_generated(repo, HAIKU, [("Write a haiku about rain.", KEPT)])
    with TeacherServer(ranker(pair=lambda answers: "1")) as server:
        write_config(repo, server.url, candidates=4)
        result = run(repo, leaves=(HAIKU,))
    entry = result.manifest["leaves"][HAIKU]
    assert (entry["inconsistent_verdicts"], entry["consistent_verdicts"], entry["pairs"]) == (6, 0, 0)
    assert preference_rows(repo, "compositional_skills/writing/haiku.jsonl") == []


def test_a_verdict_naming_neither_answer_is_counted_not_fatal(repo: Path) -> None:
    write_generated(repo, HAIKU, [("Write a haiku about rain.", KEPT)])
    with TeacherServer(ranker(pair=lambda answers: "neither, sorry")) as server:
        write_config(repo, server.url, candidates=2)
        result = run(repo, leaves=(HAIKU,))
    entry = result.manifest["leaves"][HAIKU]
    assert (entry["unanswered_verdicts"], entry["pairs"]) == (1, 0) and not result.failed


def test_identical_candidates_count_once(repo: Path) -> None:
    """A sample equal to the kept answer (and a dropped answer equal to it) is one candidate: no pair
    with the same text on both sides."""
    write_generated(
        repo,
        HAIKU,
        [("Write a haiku about rain.", KEPT)],
        dropped=[("Write a haiku about rain.", f"  {KEPT} ")],
    )

    def script(body: dict, attempt: int = 0) -> Reply:
        return (
            Reply(f"Answer: {KEPT}")
            if task(body).startswith("Task: answer an instruction")
            else ranker()(body, attempt)
        )

    with TeacherServer(script) as server:
        write_config(repo, server.url, candidates=4)
        result = run(repo, leaves=(HAIKU,))
        assert not posts(server, "Task: compare two answers")  # one distinct candidate: nothing to compare
    entry = result.manifest["leaves"][HAIKU]
    assert (entry["questions"], entry["candidates"], entry["pairs"]) == (1, 1, 0)


def test_the_ranker_sees_the_kept_answer_as_the_solution_and_a_knowledge_chunk_as_the_passage(
    repo: Path,
) -> None:
    from tests.rank.helpers import KINEMATICS

    write_generated(repo, HAIKU, [("Write a haiku about rain.", KEPT)])
    write_generated(
        repo,
        KINEMATICS,
        [("What is velocity?", "The rate of change of position.")],
        context="CHUNK: velocity is the rate of change of position.",
    )
    with TeacherServer(ranker()) as server:
        write_config(repo, server.url, candidates=2)
        run(repo, leaves=(HAIKU, KINEMATICS))
        prompts = [b["messages"][0]["content"] for b in posts(server, "Task: compare two answers")]
        samples = [
            b["messages"][0]["content"] for b in posts(server, "Task: answer a question from a passage")
        ]
    skills = [p for p in prompts if "haiku" in p]
    knowledge = [p for p in prompts if "velocity" in p]
    assert skills and all(f"Solution: {KEPT}" in p for p in skills)
    assert knowledge and all("Passage: CHUNK: velocity" in p and "Solution:" not in p for p in knowledge)
    assert all("Correctness" in p for p in prompts)  # the constitution (prompts/_principles.j2)
    assert (
        len(samples) == 1 and "CHUNK: velocity" in samples[0] and "Question: What is velocity?" in samples[0]
    )
