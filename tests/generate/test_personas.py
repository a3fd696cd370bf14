"""The two response personas (LAB skills stage 3): chosen by taxonomy path pattern, each with its
own template and temperature, named in the records' provenance."""

from __future__ import annotations

from pathlib import Path

from tests.generate.helpers import records, run, write_config
from tests.generate.teacher_server import TeacherServer, stage_of

HAIKU = "taxonomy/compositional_skills/writing/haiku/qna.yaml"
SUMMARY = "taxonomy/compositional_skills/reading/summary/qna.yaml"


def responses(server: TeacherServer, marker: str) -> list[dict]:
    return [
        b
        for b in server.received
        if stage_of(b) == "generate_responses" and marker in b["messages"][0]["content"]
    ]


def test_default_mapping_makes_writing_creative(repo: Path) -> None:
    with TeacherServer() as server:
        write_config(repo, server.url, num_instructions=2)
        run(repo, leaves=(HAIKU, SUMMARY))
        haiku, summary = responses(server, "haiku"), responses(server, "Summarise")
    assert haiku and all(
        "creatively" in b["messages"][0]["content"] and b["temperature"] == 1.0 for b in haiku
    )
    assert summary and all(
        "creatively" not in b["messages"][0]["content"] and b["temperature"] == 0.7 for b in summary
    )
    creative, precise = (
        records(repo, "compositional_skills/writing/haiku.jsonl"),
        records(repo, "compositional_skills/reading/summary.jsonl"),
    )
    assert {r["provenance"]["persona"] for r in creative} == {"creative"} and {
        r["provenance"]["persona"] for r in precise
    } == {"precise"}
    assert (
        creative[0]["provenance"]["templates"]["generate_responses"]
        != precise[0]["provenance"]["templates"]["generate_responses"]
    )


def test_labtax_yaml_mapping_and_temperature(repo: Path) -> None:
    with TeacherServer() as server:
        write_config(
            repo,
            server.url,
            num_instructions=1,
            response_personas={"compositional_skills/reading/*": "creative"},
            sampling={"creative_temperature": 1.3},
        )
        run(repo, leaves=(HAIKU, SUMMARY))
        haiku, summary = responses(server, "haiku"), responses(server, "Summarise")
    # the default mapping is replaced
    assert all("creatively" not in b["messages"][0]["content"] and b["temperature"] == 0.7 for b in haiku)
    assert all("creatively" in b["messages"][0]["content"] and b["temperature"] == 1.3 for b in summary)
    assert (
        records(repo, "compositional_skills/reading/summary.jsonl")[0]["provenance"]["persona"] == "creative"
    )


def test_knowledge_records_name_no_persona(repo: Path) -> None:
    with TeacherServer() as server:
        write_config(repo, server.url, num_instructions=1)
        run(repo, leaves=("taxonomy/knowledge/physics/kinematics",))
    assert "persona" not in records(repo, "knowledge/physics/kinematics.jsonl")[0]["provenance"]
