"""auto reply forms: each probe outcome leads to the right request shape; the probe is cached."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.generate.helpers import records, run, write_config
from tests.generate.teacher_server import Reply, TeacherServer, capable, good_teacher, stage_of

HAIKU = "taxonomy/compositional_skills/writing/haiku/qna.yaml"
JUDGES = ("evaluate_instructions", "evaluate_pairs")
PROBE_PROMPTS = ("Count from 1 to 10", "Reply with a JSON object.", "Say hello.")


def careless(body: dict[str, Any], attempt: int = 0) -> Reply:
    """A teacher that writes instructions without the requested "Instruction:" tag."""
    reply = good_teacher(body)
    if stage_of(body) == "generate_instructions":
        return Reply(reply.text.removeprefix("Instruction: ").capitalize())
    return reply


def is_probe(body: dict[str, Any]) -> bool:
    return body["messages"][0]["content"].startswith(PROBE_PROMPTS)


OUTCOMES = {
    "prefill": ("prefill", "text"),
    "json_schema": ("json", "json"),
    "guided_choice": ("plain", "guided"),
    "grammar": ("plain", "grammar"),
    "logprobs": ("plain", "logprobs"),
    "none": ("plain", "text"),
}


@pytest.mark.parametrize("feature", list(OUTCOMES))
def test_probe_outcome_sets_the_request_shape(
    repo: Path, feature: str, capsys: pytest.CaptureFixture[str]
) -> None:
    features = set() if feature == "none" else {feature}
    with TeacherServer(capable(features, careless)) as server:
        write_config(repo, server.url, num_instructions=3, assistant_prefill="auto", choice="auto")
        result = run(repo, leaves=(HAIKU,))
        bodies = [b for b in server.received if not is_probe(b)]
        probes = len(server.received) - len(bodies)
    shape, choice = OUTCOMES[feature]
    found = result.manifest["teacher_features"]
    assert probes == 5 and found["shape"] == shape and found["choice"] == choice
    assert found["probed"] == {
        name: name == feature for name in ("prefill", "json_schema", "guided_choice", "grammar", "logprobs")
    }
    assert not result.failed and len(records(repo, "compositional_skills/writing/haiku.jsonl")) == 3
    generation = [b for b in bodies if stage_of(b) == "generate_instructions"]
    judged = [b for b in bodies if stage_of(b) in JUDGES]
    assert all(
        (b["messages"][-1] == {"role": "assistant", "content": "Instruction:"}) == (shape == "prefill")
        for b in generation
    )
    assert all(("response_format" in b) == (shape == "json") for b in generation)
    if shape == "json":
        assert all(
            set(b["response_format"]["json_schema"]["schema"]["properties"]) == {"instruction"}
            for b in generation
        )
    field = {
        "guided": "guided_choice",
        "grammar": "grammar",
        "logprobs": "logprobs",
        "json": "response_format",
    }.get(choice)
    assert all(
        (field in b) if field else not {"guided_choice", "grammar", "logprobs", "response_format"} & set(b)
        for b in judged
    )
    line = capsys.readouterr().err
    assert "replies shaped by " + shape in line and ("parsed leniently" in line) == (shape == "plain")


def test_probe_is_cached_per_url_and_model(repo: Path) -> None:
    with TeacherServer(capable({"prefill", "logprobs"})) as server:
        write_config(repo, server.url, num_instructions=1, assistant_prefill="auto", choice="auto")
        run(repo, leaves=(HAIKU,))
        (repo / "taxonomy/compositional_skills/writing/haiku/qna.yaml").write_text(
            (repo / "taxonomy/compositional_skills/writing/haiku/qna.yaml")
            .read_text()
            .replace("short haiku", "short, vivid haiku")
        )
        before = len(server.received)
        result = run(repo, leaves=(HAIKU,))
        again = server.received[before:]
    assert again and not any(is_probe(b) for b in again)  # new calls for the changed leaf, no probe
    assert result.manifest["teacher_features"]["choice"] == "logprobs"


def test_explicit_settings_do_not_probe(repo: Path) -> None:
    with TeacherServer(capable(set())) as server:
        write_config(repo, server.url, num_instructions=1, assistant_prefill=True, choice="grammar")
        result = run(repo, leaves=(HAIKU,))
        assert not any(is_probe(b) for b in server.received)
    assert result.manifest["teacher_features"] == {
        "servers": [server.url],
        "probed": None,
        "shape": "prefill",
        "choice": "grammar",
    }
