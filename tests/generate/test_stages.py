"""Skills-SDG and knowledge-SDG stages against a scripted server: filters, drop reasons, records."""

from __future__ import annotations

import json
import threading
from collections import Counter
from pathlib import Path
from typing import Any

from labtax.generate.documents import chunk_text
from labtax.schemas import validator
from tests.generate.helpers import records, run, write_config
from tests.generate.teacher_server import (
    Reply,
    TeacherServer,
    field_of,
    good_teacher,
    stage_of,
)


class Scripted:
    """Per (leaf, stage), the n-th request gets the n-th scripted reply (then the good teacher's).

    Counting per stage (not per arrival order) keeps the expected counts exact under concurrency.
    """

    def __init__(self, plan: dict[tuple[str, str], list[str]]) -> None:
        self.plan = plan
        self.seen: Counter[tuple[str, str]] = Counter()
        self.lock = threading.Lock()

    def __call__(self, body: dict[str, Any], attempt: int) -> Reply:
        text = body["messages"][0]["content"]
        leaf = "haiku" if "haiku" in text else "summary" if "Summarise" in text else "kinematics"
        key = (leaf, stage_of(body))
        # calibration calls ("N/A" items) are not part of the plan
        if field_of(body, "Instruction") == "N/A":
            return good_teacher(body)
        with self.lock:
            index = self.seen[key]
            self.seen[key] += 1
        scripted = self.plan.get(key, [])
        return Reply(scripted[index]) if index < len(scripted) else good_teacher(body)


def test_skills_four_stages_filter_and_count(repo: Path) -> None:
    script = Scripted(
        {
            ("haiku", "generate_instructions"): [
                "Answer: Sure, here is one!",  # a wrong tag, even leniently: unparseable
                "Instruction: Write a haiku about gravity.",  # a seed again: near-duplicate
                "Instruction: Write a haiku about the orbit of the moon around the earth.",
                "Instruction: Write a haiku about the colour of copper flames.",
                # near-duplicate of the third
                "Instruction: Write a haiku about the orbit of the moon around earth.",
                "Instruction: Describe plate tectonics as a haiku for children.",
            ],
            ("haiku", "evaluate_instructions"): ["no", "I cannot tell", "yes", "yes"],
            ("haiku", "generate_responses"): ["   ", "Answer: Tectonic plates drift."],
            ("haiku", "evaluate_pairs"): ["1"],
        }
    )
    with TeacherServer(script) as server:
        write_config(repo, server.url, num_instructions=7)
        result = run(repo, leaves=("taxonomy/compositional_skills/writing/haiku",))
    entry = result.manifest["leaves"]["taxonomy/compositional_skills/writing/haiku/qna.yaml"]
    assert entry["stages"] == {
        "generate_instructions": {
            "generated": 7,
            "kept": 4,
            "dropped": {"near_duplicate": 2, "unparseable": 1},
        },
        "evaluate_instructions": {"generated": 4, "kept": 2, "dropped": {"rejected": 1, "unparseable": 1}},
        "generate_responses": {"generated": 2, "kept": 1, "dropped": {"unparseable": 1}},
        "evaluate_pairs": {"generated": 1, "kept": 0, "dropped": {"below_threshold": 1}},
    }
    assert entry["records"] == 0


def test_skills_records_valid_with_provenance(repo: Path) -> None:
    with TeacherServer() as server:
        write_config(repo, server.url, num_instructions=3, seed=7)
        result = run(
            repo,
            leaves=(
                "taxonomy/compositional_skills/writing/haiku",
                "taxonomy/compositional_skills/reading/summary",
            ),
        )
    assert not result.failed
    check = validator("record.schema.json")
    plain = records(repo, "compositional_skills/writing/haiku.jsonl")
    grounded = records(repo, "compositional_skills/reading/summary.jsonl")
    assert len(plain) == 3 and len(grounded) == 3
    for rec in plain + grounded:
        assert not list(check.iter_errors(rec)), rec
        assert rec["scores"] == {"instruction": True, "pair": 3}
        prov = rec["provenance"]
        assert prov["teacher"] == "openai:scripted-teacher" and prov["seed"] == 7
        assert set(prov["templates"]) == {
            "generate_instructions",
            "evaluate_instructions",
            "generate_responses",
            "evaluate_pairs",
        }
        assert len(prov["taxonomy_commit"]) == 40 and prov["sampling"]["temperature"] == 0.7
    assert all(r["context"] is None for r in plain)
    # grounded skills: the new context is kept and shown to the student in the user turn
    assert all(r["context"] and r["messages"][0]["content"].startswith(r["context"]) for r in grounded)
    assert len({r["id"] for r in plain + grounded}) == 6
    manifest = json.loads((repo / "generated" / "manifest.json").read_text())
    assert manifest["totals"] == {"leaves": 2, "records": 6}
    assert (repo / "generated" / "generate.log").read_text().count("records") >= 2


def test_knowledge_stages_filter_and_keep_chunk(repo: Path) -> None:
    script = Scripted(
        {
            ("kinematics", "generate_qa"): [
                "Question: What is velocity?",  # no answer: unparseable
                "Question: What is velocity 0?\nAnswer: A rate.",  # a seed question: near-duplicate
                "Question: How is velocity defined in sentence three?\n"
                "Answer: As the rate of change of position.",
                "Question: What does sentence twenty say about position?\nAnswer: That it changes with time.",
                "Question: Which quantity changes with time according to the text?\nAnswer: Position.",
            ],
            ("kinematics", "evaluate_faithfulness"): ["no"],
            ("kinematics", "evaluate_relevance"): ["nonsense"],
        }
    )
    with TeacherServer(script) as server:
        write_config(repo, server.url, num_instructions=5, chunk_tokens=200, chunk_overlap=40)
        result = run(repo, leaves=("taxonomy/knowledge/physics/kinematics",))
    entry = result.manifest["leaves"]["taxonomy/knowledge/physics/kinematics/qna.yaml"]
    assert entry["stages"] == {
        "generate_qa": {"generated": 5, "kept": 3, "dropped": {"near_duplicate": 1, "unparseable": 1}},
        "evaluate_faithfulness": {"generated": 3, "kept": 2, "dropped": {"rejected": 1}},
        "evaluate_relevance": {"generated": 2, "kept": 1, "dropped": {"unparseable": 1}},
    }
    (rec,) = records(repo, "knowledge/physics/kinematics.jsonl")
    assert not list(validator("record.schema.json").iter_errors(rec))
    assert rec["scores"] == {"faithfulness": True, "relevance": True}
    assert rec["source"] == "taxonomy/knowledge/physics/kinematics/kinematics.md"
    document = (repo / "taxonomy/knowledge/physics/kinematics/kinematics.md").read_text()
    assert rec["context"] in [c.text for c in chunk_text(document, "doc", 200, 40)]
    assert rec["messages"][0]["content"].endswith("?") and rec["branch"] == "knowledge"
    assert entry["teacher_calls"] == 5 + 3 + 2 and entry["tokens"]["prompt"] > 0


def test_calibrated_choice_with_server_logprobs(repo: Path) -> None:
    """With logprobs, a teacher leaning "no" on everything accepts what it leans on less than on "N/A"."""

    def leaning(body: dict[str, Any], attempt: int) -> Reply:
        stage = stage_of(body)
        if stage != "evaluate_instructions":
            return good_teacher(body)
        assert body["logprobs"] is True and body["temperature"] == 0.0
        instruction = field_of(body, "Instruction")
        yes = {"N/A": -2.0}.get(instruction, -1.5 if "orbit" in instruction else -2.5)
        top = [{"token": " no", "logprob": -0.3}, {"token": " yes", "logprob": yes}]
        return Reply("no", logprobs=[{"token": " no", "logprob": -0.3, "top_logprobs": top}])

    plan = [
        "Instruction: Write a haiku about a planet in orbit.",
        "Instruction: Write a haiku about copper wire and current.",
    ]
    sequence = Scripted({("haiku", "generate_instructions"): plan})

    def combined(body: dict[str, Any], attempt: int) -> Reply:
        return (
            sequence(body, attempt) if stage_of(body) == "generate_instructions" else leaning(body, attempt)
        )

    with TeacherServer(combined) as server:
        write_config(repo, server.url, num_instructions=2)
        result = run(repo, leaves=("taxonomy/compositional_skills/writing/haiku",))
        calibration_calls = sum(1 for b in server.answered if field_of(b, "Instruction") == "N/A")
    entry = result.manifest["leaves"]["taxonomy/compositional_skills/writing/haiku/qna.yaml"]
    assert entry["stages"]["evaluate_instructions"] == {"generated": 2, "kept": 1, "dropped": {"rejected": 1}}
    assert calibration_calls == 1  # the content-free call is made once and cached
    (rec,) = records(repo, "compositional_skills/writing/haiku.jsonl")
    assert "orbit" in rec["messages"][0]["content"]


def test_calibration_ignores_an_option_the_server_did_not_score(repo: Path) -> None:
    """ "no" is absent from every top-logprobs list: its floor score must not win the calibrated pick."""

    def yes_only(body: dict[str, Any], attempt: int) -> Reply:
        if stage_of(body) != "evaluate_instructions":
            return good_teacher(body)
        yes = -0.05 if field_of(body, "Instruction") == "N/A" else -0.3  # leans less on yes than on "N/A"
        top = [{"token": "yes", "logprob": yes}, {"token": "maybe", "logprob": -3.0}]
        return Reply("yes", logprobs=[{"token": "yes", "logprob": yes, "top_logprobs": top}])

    with TeacherServer(yes_only) as server:
        write_config(repo, server.url, num_instructions=2)
        result = run(repo, leaves=("taxonomy/compositional_skills/writing/haiku",))
    entry = result.manifest["leaves"]["taxonomy/compositional_skills/writing/haiku/qna.yaml"]
    assert (
        entry["stages"]["evaluate_instructions"]["kept"]
        == entry["stages"]["evaluate_instructions"]["generated"]
        == 2
    )


def test_dropped_candidates_written_next_to_records(repo: Path) -> None:
    """Every drop the manifest counts is a line of <leaf>.dropped.jsonl, with its stage, reason,
    verdict and the records' provenance; mix does not read it as training data."""
    script = Scripted(
        {
            ("haiku", "generate_instructions"): [
                "Context: a passage, and no instruction after it",
                "Instruction: Write a haiku about gravity.",
                "Instruction: Write a haiku about the orbit of the moon around the earth.",
                "Instruction: Write a haiku about the colour of copper flames.",
            ],
            ("haiku", "evaluate_instructions"): ["no", "yes"],
            ("haiku", "evaluate_pairs"): ["1"],
        }
    )
    with TeacherServer(script) as server:
        write_config(repo, server.url, num_instructions=4, pair_threshold=2)
        result = run(repo, leaves=("taxonomy/compositional_skills/writing/haiku",))
    entry = result.manifest["leaves"]["taxonomy/compositional_skills/writing/haiku/qna.yaml"]
    dropped = records(repo, "compositional_skills/writing/haiku.dropped.jsonl")
    check = validator("dropped.schema.json")
    assert all(not list(check.iter_errors(d)) for d in dropped), dropped
    counted = Counter(
        (stage, reason)
        for stage, s in entry["stages"].items()
        for reason, n in s["dropped"].items()
        for _ in range(n)
    )
    assert Counter((d["stage"], d["reason"]) for d in dropped) == counted
    by_reason = {(d["stage"], d["reason"]): d for d in dropped}
    assert (
        by_reason[("generate_instructions", "unparseable")]["raw"]
        == "Context: a passage, and no instruction after it"
    )
    duplicate = by_reason[("generate_instructions", "near_duplicate")]
    # a seed
    assert (
        duplicate["question"] == "Write a haiku about gravity."
        and duplicate["duplicate_of"] == "Write a haiku about gravity."
    )
    rejected = by_reason[("evaluate_instructions", "rejected")]
    below = by_reason[("evaluate_pairs", "below_threshold")]
    # the two judged instructions reach the judge concurrently: either may get the scripted "no"
    judged = {
        "Write a haiku about the orbit of the moon around the earth.",
        "Write a haiku about the colour of copper flames.",
    }
    assert rejected["verdict"] == "no" and {rejected["question"], below["question"]} == judged
    assert below["verdict"] == "1" and below["answer"] and below["scores"] == {"instruction": True}
    assert records(repo, "compositional_skills/writing/haiku.jsonl") == [] and entry["records"] == 0
    assert all(
        d["provenance"]["templates"] == entry["templates"]
        and d["provenance"]["leaf_hash"] == entry["leaf_hash"]
        for d in dropped
    )
    from labtax.mix import read_generated

    assert all("stage" not in r for r in read_generated(repo / "generated"))
