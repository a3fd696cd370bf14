"""The judge reads grades by constrained choice, through the cached caller (scripted server on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path
from typing import Any

import pytest

from labtax.config import load_config
from labtax.eval.judge import GRADES, Grade, Judge, expected_grade, judge_section
from labtax.models.cache import CallCache, call_key
from labtax.models.calls import NoProgress
from labtax.models.teacher import LOGPROB_FLOOR
from labtax.models.templates import Templates
from tests.generate.teacher_server import Reply, TeacherServer, capable, field_of, stage_of


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


# A judge whose grade depends on the answer; its replies are the texts below.
GRADE_OF = {"Blue.": "10", "Bluish.": "9", "Green.": "1"}
TRIPLES = [("Sky colour?", "Blue.", answer) for answer in GRADE_OF]
# logprobs.content of a server whose tokenizer writes digits one by one (so "10" is "1" then "0"):
# (the reply's token, its top log-probabilities) per position.
DIGITS = {
    "10": [("1", {"1": -0.05, "9": -3.2, "8": -5.0}), ("0", {"0": -0.02, "<|im_end|>": -4.0})],
    "9": [("9", {"9": -0.1, "1": -2.5, "8": -4.0})],
    "1": [("1", {"1": -0.1, "2": -3.0}), ("<|im_end|>", {"<|im_end|>": -0.2, "0": -1.9})],
}
# what each reply's probability-weighted grade is by the documented reading: "1" keeps p(1) times
# (1 - p(0 after 1)), "10" gets p(1) p(0 after 1); after a reply "9" the split of "1" is unknown
WEIGHTS = {
    "10": {10: math.exp(-0.07), 1: math.exp(-0.05) * -math.expm1(-0.02), 9: math.exp(-3.2), 8: math.exp(-5)},
    "9": {9: math.exp(-0.1), 8: math.exp(-4.0)},
    "1": {1: math.exp(-0.1) * -math.expm1(-1.9), 10: math.exp(-2.0), 2: math.exp(-3.0)},
}


def digit_logprobs(text: str) -> list[dict[str, Any]]:
    return [
        {
            "token": token,
            "logprob": top[token],
            "top_logprobs": [{"token": t, "logprob": lp} for t, lp in top.items()],
        }
        for token, top in DIGITS[text]
    ]


def judge_reply(body: dict[str, Any], attempt: int = 0) -> Reply:
    """The judge's text: its grade of the answer ("hello" to the probe's other questions)."""
    return Reply(GRADE_OF.get(field_of(body, "Answer to grade"), "hello"))


def explicit(field: str | None) -> Any:
    """A server for an explicit choice setting: it honours `field` (else rambles) and logprobs."""

    def script(body: dict[str, Any], attempt: int) -> Reply:
        if field and field not in body:
            return Reply("It is hard to say.")
        text = judge_reply(body).text
        if field == "response_format":
            text = json.dumps({"label": text})
        return Reply(text, logprobs=digit_logprobs(text) if body.get("logprobs") else None)

    return script


def probed(features: set[str]) -> Any:
    """A server with `features`, found by the probe (choice: auto); digits one token each."""
    inner = capable(features, judge_reply)

    def script(body: dict[str, Any], attempt: int) -> Reply:
        reply = inner(body, attempt)
        if stage_of(body) == "judge_answer" and reply.logprobs is not None:
            return Reply(reply.text, logprobs=digit_logprobs(reply.text))
        return reply

    return script


@pytest.mark.parametrize(
    ("choice", "script", "mode"),
    [
        ("text", explicit(None), "text"),
        ("guided", explicit("guided_choice"), "guided"),
        ("grammar", explicit("grammar"), "grammar"),
        ("logprobs", explicit(None), "logprobs"),
        ("auto", probed({"json_schema"}), "json"),
        ("auto", probed({"guided_choice", "logprobs"}), "guided+logprobs"),
        ("auto", probed({"grammar", "logprobs"}), "grammar+logprobs"),
    ],
    ids=["text", "guided", "grammar", "logprobs", "json", "guided+logprobs", "grammar+logprobs"],
)
def test_a_ten_is_a_ten_in_every_choice_mode(tmp_path: Path, choice: str, script: Any, mode: str) -> None:
    with TeacherServer(script) as server:
        (tmp_path / "labtax.yaml").write_text(
            f"generate: {{teacher: '{server.url}', choice: {choice}, assistant_prefill: false, "
            "retry_backoff_s: 0.01}\n"
        )
        section = judge_section(load_config(tmp_path).section("generate"), {"judge": None})

        async def go() -> tuple[str, list[Grade]]:
            judge = Judge(section, CallCache(tmp_path / "calls.sqlite"), None, NoProgress())
            async with judge:
                return judge.teacher.choice_mode, await judge.grade_all(TRIPLES)

        used, grades = asyncio.run(go())
    assert used == mode
    assert [g.grade for g in grades] == [10, 9, 1]
    if "logprobs" in mode:
        for g, reply in zip(grades, GRADE_OF.values(), strict=True):
            weights = WEIGHTS[reply]
            assert g.expected == pytest.approx(sum(k * w for k, w in weights.items()) / sum(weights.values()))
        assert grades[0].expected > 9.5  # the old reading gave a 1 and about 1.07 here
    else:
        assert all(g.expected is None for g in grades)


def test_expected_grade_counts_a_ten() -> None:
    logprobs = {g: LOGPROB_FLOOR for g in GRADES} | {
        "10": math.log(0.5),
        "9": math.log(0.3),
        "1": math.log(0.2),
    }
    assert expected_grade(logprobs) == pytest.approx(0.5 * 10 + 0.3 * 9 + 0.2 * 1)
    assert expected_grade({"10": 0.0}) == 10.0


def test_grades_cached_under_the_old_reading_are_asked_again(tmp_path: Path) -> None:
    """A grade stored before the split reading (a "10" read as "1") is not read back as a grade now."""
    with TeacherServer(explicit(None)) as server:
        (tmp_path / "labtax.yaml").write_text(
            f"generate: {{teacher: '{server.url}', choice: logprobs, assistant_prefill: false}}\n"
        )
        section = judge_section(load_config(tmp_path).section("generate"), {"judge": None})
        rendered = Templates(None).render(
            "judge_answer", question="Sky colour?", reference="Blue.", answer="Blue."
        )
        old_key = call_key(  # the key the caller gave a judge call before the split reading
            teacher="openai:scripted-teacher",
            kind="choose",
            messages=[{"role": "user", "content": rendered.text}],
            prefix=rendered.prefix,
            options=GRADES,
            mode="logprobs",
        )
        cache = CallCache(tmp_path / "calls.sqlite")
        cache.put(old_key, {"label": "1", "logprobs": {"1": -0.05}, "text": "10"})

        async def go() -> list[Grade]:
            judge = Judge(section, cache, None, NoProgress())
            async with judge:
                return await judge.grade_all(TRIPLES[:1])

        (fresh,) = asyncio.run(go())
        asked = [b for b in server.received if stage_of(b) == "judge_answer"]
    assert fresh.grade == 10 and len(asked) == 1
