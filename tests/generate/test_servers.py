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
    assert answered_good > 20 and asked_bad < answered_good // 4  # rested after failing, not asked for every call


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
