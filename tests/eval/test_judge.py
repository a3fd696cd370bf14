"""The judge reads grades by constrained choice, through the cached caller (scripted server on 127.0.0.1)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from labtax.config import load_config
from labtax.eval.judge import GRADES, Grade, Judge, judge_section
from labtax.models.cache import CallCache
from labtax.models.calls import NoProgress
from tests.generate.teacher_server import Reply, TeacherServer, field_of, stage_of


def grade(section: dict[str, Any], cache_dir: Path, triples: list[tuple[str, str, str]]) -> list[Grade]:
    async def go() -> list[Grade]:
        judge = Judge(section, CallCache(cache_dir / "calls.sqlite"), None, NoProgress())
        async with judge:
            return await judge.grade_all(triples)

    return asyncio.run(go())


@pytest.mark.parametrize(
    ("mode", "field"), [("guided", "guided_choice"), ("grammar", "grammar"), ("text", None)]
)
def test_grades_are_read_by_constrained_choice(tmp_path: Path, mode: str, field: str | None) -> None:
    def script(body: dict[str, Any], attempt: int) -> Reply:
        if field and field not in body:
            return Reply("It is hard to say.")
        return Reply("9" if field_of(body, "Answer to grade") == "Blue." else "2")

    with TeacherServer(script) as server:
        (tmp_path / "labtax.yaml").write_text(
            f"generate: {{teacher: '{server.url}', choice: {mode}, assistant_prefill: false, "
            "retry_backoff_s: 0.01}\n"
        )
        section = judge_section(load_config(tmp_path).section("generate"), {"judge": None})
        grades = grade(
            section, tmp_path, [("Sky colour?", "Blue.", "Blue."), ("Sky colour?", "Blue.", "Green.")]
        )
        bodies = [b for b in server.received if stage_of(b) == "judge_answer"]
    assert grades == [Grade(9, None), Grade(2, None)] and len(bodies) == 2
    if mode == "guided":
        assert all(b["guided_choice"] == GRADES for b in bodies)
    if mode == "grammar":
        assert all(b["grammar"].startswith('root ::= "1" | "2"') for b in bodies)
    assert all("Reference answer: Blue." in b["messages"][0]["content"] for b in bodies)


def test_the_judge_setting_overrides_the_teacher(tmp_path: Path) -> None:
    generate = {"teacher": "embedded", "model": None, "seed": 1}
    assert (
        judge_section(generate, {"judge": "http://127.0.0.1:1/v1", "judge_model": "big"})["teacher"]
        == "http://127.0.0.1:1/v1"
    )
    assert judge_section(generate, {"judge": None, "judge_model": None}) == generate
