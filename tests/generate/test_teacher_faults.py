"""A misbehaving teacher server: empty or non-JSON 200 replies, a wrong API base, a body trickled
slowly. None of them may poison the call cache or replace a leaf's earlier output."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from labtax.errors import LabtaxError
from tests.generate.helpers import outputs, run, write_config
from tests.generate.teacher_server import Reply, TeacherServer, good_teacher

LEAF = ("taxonomy/compositional_skills/writing/haiku",)
BROKEN = {
    "no choices": Reply(payload={"id": "x", "object": "chat.completion", "choices": []}),
    "no content": Reply(
        payload={"choices": [{"index": 0, "message": {"role": "assistant", "content": None}}]}
    ),
    "empty content": Reply(
        payload={"choices": [{"index": 0, "message": {"role": "assistant", "content": ""}}]}
    ),
    "html page": Reply(raw=b"<html><body>502 Bad Gateway</body></html>"),
}


def cached(repo: Path) -> int:
    with sqlite3.connect(repo / "generated/.cache/calls.sqlite") as db:
        return int(db.execute("SELECT COUNT(*) FROM calls").fetchone()[0])


@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_a_broken_200_reply_is_retried_and_never_cached(repo: Path, kind: str) -> None:
    def once_broken(body: dict[str, Any], attempt: int) -> Reply:
        return BROKEN[kind] if attempt == 0 else good_teacher(body)

    with TeacherServer(once_broken) as server:
        write_config(repo, server.url, num_instructions=2)
        result = run(repo, leaves=LEAF)
        distinct = len({str(sorted(b.items())) for b in server.received})
        assert len(server.received) == 2 * distinct  # every request was asked again after the broken reply
    assert not result.failed
    assert result.manifest["leaves"][LEAF[0] + "/qna.yaml"]["records"] > 0


def test_a_server_that_only_answers_empty_keeps_the_old_output_and_caches_nothing(repo: Path) -> None:
    with TeacherServer() as server:
        write_config(repo, server.url, num_instructions=2)
        run(repo, leaves=LEAF)
    before, calls_before = outputs(repo), cached(repo)
    assert before
    with TeacherServer(lambda body, attempt: BROKEN["no choices"]) as server:
        write_config(repo, server.url, num_instructions=2, max_retries=1, seed=7)  # a new seed: new calls
        result = run(repo, leaves=LEAF)
    (reason,) = result.failed.values()
    assert "failed after 2 attempts (a 200 reply without choices[0].message)" in reason
    assert outputs(repo) == before  # the failed run replaced nothing
    assert cached(repo) == calls_before  # and stored no empty reply
    with TeacherServer() as server:  # the server is fixed: the rerun asks it and writes records
        write_config(repo, server.url, num_instructions=2, seed=7)
        result = run(repo, leaves=LEAF)
        assert server.answered
    assert not result.failed and result.manifest["leaves"][LEAF[0] + "/qna.yaml"]["records"] > 0


def test_a_url_that_is_not_the_api_base_says_so(repo: Path) -> None:
    with TeacherServer() as server:
        write_config(repo, server.url.removesuffix("/v1") + "/api")
        with pytest.raises(
            LabtaxError, match=r"/api/models answered HTTP 404: .*/api is probably not the API base"
        ):
            run(repo, leaves=LEAF)


def test_request_timeout_bounds_the_whole_request(repo: Path) -> None:
    """A server trickling its body one byte every 20 ms (about 5 s per reply) never stalls a read."""
    with TeacherServer(lambda body, attempt: Reply(text="Instruction: slow?", trickle=0.02)) as server:
        write_config(repo, server.url, num_instructions=1, request_timeout_s=1, max_retries=0)
        started = time.monotonic()
        result = run(repo, leaves=LEAF)
        took = time.monotonic() - started
    (reason,) = result.failed.values()
    assert "TimeoutError: no complete reply within 1 s" in reason
    assert took < 3.5


def test_a_teacher_that_ignores_max_tokens_is_cut_and_counted(repo: Path) -> None:
    """33,000-word replies (the issue's case took 133 s in de-duplication) are cut to max_tokens."""
    from tests.generate.teacher_server import WORDS, stage_of

    def rambling(body: dict[str, Any], attempt: int) -> Reply:
        if stage_of(body) != "generate_instructions":
            return good_teacher(body)
        start = len(json.dumps(body)) % len(WORDS)
        return Reply("Instruction: " + " ".join(WORDS[(start + i * 7) % len(WORDS)] for i in range(33_000)))

    with TeacherServer(rambling) as server:
        write_config(repo, server.url, num_instructions=6, max_tokens={"instruction": 64})
        started = time.monotonic()
        result = run(repo, leaves=LEAF)
        took = time.monotonic() - started
    entry = result.manifest["leaves"][LEAF[0] + "/qna.yaml"]
    assert entry["truncated_replies"] == 6
    assert took < 20
    with sqlite3.connect(repo / "generated/.cache/calls.sqlite") as db:
        replies = [json.loads(v) for (v,) in db.execute("SELECT value FROM calls")]
    longest = max(len(reply["text"].split()) for reply in replies if "text" in reply)
    assert longest <= 64
