"""Extractive knowledge answers: facts cut from passages, and the auto switch from abstractive
answers when a teacher's answers are all rejected (the embedded 135M teacher invents facts)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from labtax.generate.facts import facts, paragraphs, pick_fact, sentences
from labtax.generate.knowledge import round_answers
from labtax.schemas import validator
from tests.generate.helpers import records, run, write_config, write_leaf
from tests.generate.teacher_server import Reply, TeacherServer, good_teacher, stage_of

KINEMATICS = "taxonomy/knowledge/physics/kinematics/qna.yaml"

PASSAGE = """tail of a sentence cut by the chunk window. \
Kinematics describes motion without asking what causes it.

## Velocity

Average velocity is the displacement divided by the time taken,
written v = Δx / Δt. It is a vector: its sign gives the direction of motion.

| quantity | unit |
|---|---|
| velocity | m/s |

```
v = dx / dt and this line of code is no prose at all.
```

1. v = u + at
- A list item that states a whole fact about speed and velocity.

J. J. Thomson discovered the electron in 1897, e.g. in cathode-ray tubes.
For the runner above, the average speed is 2.5 m/s in this example.
Speed is never negative.
The last sentence is cut off by the window and never"""


def test_paragraphs_leave_out_headings_tables_code_and_join_wrapped_lines() -> None:
    blocks = paragraphs(PASSAGE)
    assert (
        "Average velocity is the displacement divided by the time taken, written v = Δx / Δt. "
        "It is a vector: its sign gives the direction of motion."
    ) in blocks
    assert not any(b.startswith(("#", "|", "```")) or "no prose" in b for b in blocks)
    assert "A list item that states a whole fact about speed and velocity." in blocks


def test_sentences_do_not_split_at_initials_or_abbreviations() -> None:
    assert sentences("J. J. Thomson found it, e.g. in tubes. Then it was named. Dr. Who agreed.") == [
        "J. J. Thomson found it, e.g. in tubes.",
        "Then it was named.",
        "Dr. Who agreed.",
    ]


def test_facts_stand_alone() -> None:
    found = facts(PASSAGE)
    # the cut first piece is not a fact
    assert found[0] == "Kinematics describes motion without asking what causes it."
    # "It is a vector" points back: it joins the sentence before it and starts no fact itself
    assert (
        "Average velocity is the displacement divided by the time taken, written v = Δx / Δt. "
        "It is a vector: its sign gives the direction of motion."
    ) in found
    assert not any(f.startswith("It ") for f in found)
    assert "J. J. Thomson discovered the electron in 1897, e.g. in cathode-ray tubes." in found[-2:]
    assert not any("runner above" in f for f in found)  # it needs a part of the document the passage lacks
    # three words: too short, and nothing whole follows it
    assert not any("never negative" in f for f in found)
    assert not any("cut off" in f or "tail of" in f or "v = u + at" in f for f in found)
    assert all(f in " ".join(paragraphs(PASSAGE)) for f in found)  # whole sentences, as written


def test_pick_fact_visits_every_fact_before_repeating() -> None:
    found = ["a.", "b.", "c.", "d."]
    visits = [pick_fact(found, "seed", v) for v in range(8)]
    assert sorted(visits[:4]) == found and visits[4:] == visits[:4]
    assert pick_fact([], "seed", 0) is None


def test_round_answers() -> None:
    assert round_answers("auto", [], True) == "abstractive"
    assert round_answers("auto", [("abstractive", 0)], True) == "extractive"
    assert round_answers("auto", [("abstractive", 1)], True) == "abstractive"
    # stays extractive
    assert round_answers("auto", [("abstractive", 0), ("extractive", 2)], True) == "extractive"
    assert round_answers("auto", [("abstractive", 0)], False) == "abstractive"  # nothing to copy
    assert round_answers("abstractive", [("abstractive", 0)], True) == "abstractive"
    assert round_answers("extractive", [], True) == "extractive"


class Unfaithful:
    """A teacher whose own answers are always judged unfaithful; counts requests per stage."""

    def __init__(self) -> None:
        self.stages: list[str] = []

    def __call__(self, body: dict[str, Any], attempt: int = 0) -> Reply:
        stage = stage_of(body)
        self.stages.append(stage)
        return Reply("no") if stage == "evaluate_faithfulness" else good_teacher(body)


def _document(repo: Path) -> str:
    return " ".join((repo / "taxonomy/knowledge/physics/kinematics/kinematics.md").read_text().split())


def test_auto_turns_extractive_when_no_answer_is_faithful(repo: Path) -> None:
    teacher = Unfaithful()
    with TeacherServer(teacher) as server:
        write_config(
            repo,
            server.url,
            num_instructions=3,
            target_per_leaf=2,
            max_candidates_per_leaf=12,
            calibrate=False,
        )
        result = run(repo, leaves=(KINEMATICS,))
    entry = result.manifest["leaves"][KINEMATICS]
    assert entry["target_met"] and entry["rounds"] == 2
    # round 1: three abstractive candidates, all judged unfaithful; round 2 copies facts: no faithfulness call
    assert teacher.stages.count("generate_qa") == 3 and teacher.stages.count("evaluate_faithfulness") == 3
    assert teacher.stages.count("generate_qa_extractive") == entry["candidates"] - 3 > 0
    assert entry["stages"]["evaluate_faithfulness"]["dropped"] == {"rejected": 3}
    kept = records(repo, "knowledge/physics/kinematics.jsonl")
    assert len(kept) == entry["records"] >= 2
    document = _document(repo)
    for rec in kept:
        assert not list(validator("record.schema.json").iter_errors(rec))
        assert rec["provenance"]["answers"] == "extractive"
        assert rec["messages"][-1]["content"] in document  # the document's own words
        # ... from the record's chunk
        assert rec["messages"][-1]["content"] in " ".join(rec["context"].split())
        assert rec["scores"] == {"faithfulness": True, "relevance": True}
        assert set(rec["provenance"]["templates"]) >= {"generate_qa", "generate_qa_extractive"}


def test_abstractive_never_copies(repo: Path) -> None:
    teacher = Unfaithful()
    with TeacherServer(teacher) as server:
        write_config(
            repo,
            server.url,
            num_instructions=2,
            target_per_leaf=1,
            max_candidates_per_leaf=6,
            calibrate=False,
            knowledge_answers="abstractive",
        )
        result = run(repo, leaves=(KINEMATICS,))
    assert "generate_qa_extractive" not in teacher.stages and result.empty == [KINEMATICS]


def test_extractive_asks_no_faithfulness_judge(repo: Path) -> None:
    teacher = Unfaithful()
    with TeacherServer(teacher) as server:
        write_config(repo, server.url, num_instructions=3, calibrate=False, knowledge_answers="extractive")
        result = run(repo, leaves=(KINEMATICS,))
    entry = result.manifest["leaves"][KINEMATICS]
    assert "generate_qa" not in teacher.stages and "evaluate_faithfulness" not in teacher.stages
    assert entry["stages"]["evaluate_faithfulness"] == {"generated": 3, "kept": 3, "dropped": {}}
    assert entry["records"] == 3


def test_extractive_needs_prose(repo: Path) -> None:
    write_leaf(
        repo,
        "knowledge/physics/kinematics",
        (repo / KINEMATICS).read_text(),
        {"kinematics.md": "# Formulas\n\n| v | u + at |\n|---|---|\n\n1. v = u + at\n2. s = ut\n"},
    )
    with TeacherServer(good_teacher) as server:
        write_config(repo, server.url, knowledge_answers="extractive")
        result = run(repo, leaves=(KINEMATICS,))
    assert (
        "no prose sentence to copy" in result.failed[KINEMATICS]
        and "knowledge_answers" in result.failed[KINEMATICS]
    )
