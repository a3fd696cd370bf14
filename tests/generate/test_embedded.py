"""End to end with the real embedded teacher (SmolLM2-135M-Instruct) on one tiny leaf."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

from labtax.models.teacher import Choice
from labtax.schemas import validator
from tests.generate.helpers import outputs, run

pytest.importorskip("transformers", reason="the embedded teacher needs labtax[embedded]")


@pytest.mark.slow
def test_embedded_teacher_end_to_end(repo: Path, capfd: pytest.CaptureFixture[str]) -> None:
    settings = {
        "teacher": "embedded",
        "num_instructions": 2,
        "target_per_leaf": 0,
        "max_tokens": {"instruction": 40, "response": 48, "qa": 48},
    }
    (repo / "labtax.yaml").write_text(json.dumps({"generate": settings}))
    leaf = "taxonomy/compositional_skills/writing/haiku/qna.yaml"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = run(repo, leaves=(leaf,))
    assert not result.failed
    # no library noise: it would break the live display in a terminal
    assert not [w for w in caught if issubclass(w.category, FutureWarning)], [str(w.message) for w in caught]
    assert "past_key_values" not in capfd.readouterr().err
    entry = result.manifest["leaves"][leaf]
    assert list(entry["stages"]) == [
        "generate_instructions",
        "evaluate_instructions",
        "generate_responses",
        "evaluate_pairs",
    ]
    first = entry["stages"]["generate_instructions"]
    assert first["generated"] == 2 and first["kept"] + sum(first["dropped"].values()) == 2
    assert entry["teacher"] == "embedded:SmolLM2-135M-Instruct" and entry["tokens"]["completion"] > 0
    lines = (repo / "generated/compositional_skills/writing/haiku.jsonl").read_text().splitlines()
    assert len(lines) == entry["records"]
    for line in lines:
        assert not list(validator("record.schema.json").iter_errors(json.loads(line)))
    before = outputs(repo)
    again = run(repo, leaves=(leaf,))  # everything is cached now: no model call, same bytes
    assert again.manifest["leaves"][leaf]["teacher_calls"] == 0
    assert outputs(repo) == before


@pytest.mark.slow
def test_the_embedded_judge_reads_a_written_10_as_10() -> None:
    """SmolLM2 writes "10" as the tokens "1", "0": its grade is still 10, not 1."""
    import asyncio

    from labtax.eval.judge import GRADES, expected_grade
    from labtax.models.embedded_teacher import EmbeddedTeacher

    messages = [{"role": "user", "content": "Reply with the number 10 and nothing else."}]

    async def go() -> tuple[str, Choice]:
        teacher = EmbeddedTeacher({"embedded_batch": 1})
        await teacher.start()
        try:
            reply = await teacher.complete(
                messages, "Rating: ", {"temperature": 0.0, "max_tokens": 4, "seed": 1}
            )
            return reply.text, await teacher.choose(messages, "Rating: ", GRADES)
        finally:
            await teacher.close()

    reply, choice = asyncio.run(go())
    assert reply.strip() == "10" and choice.label == "10"  # the old reading gave 1 (expected 4.98)
    assert choice.logprobs is not None and expected_grade(choice.logprobs) > 7
