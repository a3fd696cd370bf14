"""Several teacher servers: load shared by calls in flight, a failing server rested while the
others answer, cache keys independent of the server, one model checked via /models."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from labtax.errors import LabtaxError
from tests.generate.helpers import outputs, run, write_config
from tests.generate.teacher_server import Reply, TeacherServer, good_teacher

HAIKU = "taxonomy/compositional_skills/writing/haiku/qna.yaml"


def slow(body: dict[str, Any], attempt: int = 0) -> Reply:
    time.sleep(0.05)  # each request holds its server thread: calls pile up unless spread
    return good_teacher(body)


def broken(body: dict[str, Any], attempt: int = 0) -> Reply:
    return Reply(status=503)


def test_calls_spread_over_servers_and_outputs_do_not_depend_on_them(tmp_path: Path) -> None:
    from tests.generate.helpers import make_repo

    one, two = make_repo(tmp_path / "one"), make_repo(tmp_path / "two")
    with TeacherServer(slow) as first, TeacherServer(slow) as second:
        write_config(two, [first.url, second.url], num_instructions=6, concurrency=2)
        result = run(two)
        shares = len(first.answered), len(second.answered)
        write_config(one, first.url, num_instructions=6, concurrency=2)
        run(one)
    assert not result.failed and min(shares) >= sum(shares) // 3  # both took a fair part
    assert outputs(one) == outputs(two)  # same records whichever server answered
    assert result.manifest["teacher_features"]["servers"] == [first.url, second.url]


def test_cache_key_does_not_name_the_server(repo: Path) -> None:
    with TeacherServer() as first:
        write_config(repo, first.url, num_instructions=2)
        run(repo, leaves=(HAIKU,))
    with TeacherServer() as other:
        write_config(repo, other.url, num_instructions=2)
        result = run(repo, leaves=(HAIKU,))
        assert other.answered == []  # every call found in the cache filled by the first server
    assert result.manifest["leaves"][HAIKU]["teacher_calls"] == 0


def test_a_failing_server_rests_and_the_others_take_its_calls(repo: Path) -> None:
    with TeacherServer() as good, TeacherServer(broken) as bad:
        write_config(repo, [bad.url, good.url], num_instructions=4, retry_backoff_s=0.5, max_retries=3)
        result = run(repo)
        asked_bad, answered_good = len(bad.received), len(good.answered)
    assert not result.failed and result.manifest["totals"]["records"] > 0
    # rested after failing, not asked for every call
    assert answered_good > 20 and asked_bad < answered_good // 4


def test_servers_must_serve_the_same_model(repo: Path) -> None:
    with TeacherServer() as first, TeacherServer(models=[{"id": "another-model"}]) as second:
        write_config(repo, [first.url, second.url], num_instructions=1)
        with pytest.raises(LabtaxError, match="another-model.*same model"):
            run(repo, leaves=(HAIKU,))


def test_cli_takes_several_teachers(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from labtax.cli import cli

    monkeypatch.chdir(repo)
    with TeacherServer() as first, TeacherServer() as second:
        write_config(repo, "embedded", num_instructions=2)
        result = CliRunner().invoke(cli, ["generate", "--teacher", first.url, "--teacher", second.url, HAIKU])
        assert result.exit_code == 0, result.output
        assert first.answered and second.answered


def test_cancelled_waiters_hand_their_wake_up_on() -> None:
    """Calls queue for one slot and are woken one at a time; cancelling waiters (a leaf that failed)
    must not strand the others (a lost wake-up would hang them)."""
    import asyncio

    from labtax.models.openai_teacher import OpenAITeacher

    section = {
        "model": None,
        "concurrency": 1,
        "request_timeout_s": 10,
        "max_retries": 0,
        "retry_backoff_s": 0.01,
        "choice": "text",
        "assistant_prefill": False,
        "context_tokens": None,
    }
    messages = [{"role": "user", "content": "Task: write one new instruction."}]

    async def queue_and_cancel(url: str) -> list[Any]:
        teacher = OpenAITeacher([url], section)
        await teacher.start()
        calls = [
            asyncio.create_task(teacher.complete(messages, "", {"max_tokens": 8, "seed": i}))
            for i in range(12)
        ]
        await asyncio.sleep(0.02)  # the first is in flight, the rest wait for its slot
        for call in calls[2:8]:
            call.cancel()
        finished = await asyncio.wait_for(asyncio.gather(*calls[:2], *calls[8:]), timeout=20)
        await teacher.close()
        return finished

    with TeacherServer(slow) as server:
        finished = asyncio.run(queue_and_cancel(server.url))
        assert len(finished) == 6 and all(reply.text for reply in finished)
        assert len(server.answered) <= 7  # the cancelled waiters never asked


def test_a_wake_up_is_not_lost_with_its_cancelled_call() -> None:
    """A waiter cancelled after its wake-up was sent, before it ran, hands the wake-up to the next."""
    import asyncio

    from labtax.models.openai_teacher import OpenAITeacher

    section = {
        "model": None,
        "concurrency": 1,
        "request_timeout_s": 10,
        "max_retries": 0,
        "retry_backoff_s": 0.01,
        "choice": "text",
        "assistant_prefill": False,
        "context_tokens": None,
    }

    async def scenario(url: str) -> str:
        teacher = OpenAITeacher([url], section)
        await teacher.start()
        server = await teacher._acquire()
        client = server.slots.get_nowait()  # the only slot is taken
        first, second = asyncio.create_task(teacher._acquire()), asyncio.create_task(teacher._acquire())
        await asyncio.sleep(0.05)  # both wait
        await teacher._release(server, client, failed=False)  # wakes the first ...
        first.cancel()  # ... which is cancelled before it runs
        got = await asyncio.wait_for(second, timeout=5)
        await teacher.close()
        return got.url

    with TeacherServer(good_teacher) as server:
        assert asyncio.run(scenario(server.url)) == server.url
