"""The OpenAI-compatible client: retries on 429, 5xx, timeouts and dropped connections; no retry
on other 4xx; a clear error when the server is unreachable; logprob and text choices."""

from __future__ import annotations

import math
import socket
from pathlib import Path
from typing import Any

import pytest

from labtax.errors import LabtaxError
from labtax.models.openai_protocol import logprob_scores, parse_label, retry_after
from labtax.models.teacher import LOGPROB_FLOOR
from tests.generate.helpers import outputs, run, write_config
from tests.generate.teacher_server import Reply, TeacherServer, good_teacher, stage_of

LEAF = ("taxonomy/compositional_skills/writing/haiku",)


def failing_once(kind: str):
    def script(body: dict[str, Any], attempt: int) -> Reply:
        if attempt == 0:
            return {
                "429": Reply(status=429, headers={"Retry-After": "0"}),
                "500": Reply(status=500),
                "503": Reply(status=503, headers={"Retry-After": "0.05"}),
                "timeout": Reply(delay=1.5),
                "drop": Reply(drop=True),
            }[kind]
        return good_teacher(body)

    return script


@pytest.fixture(scope="module")
def clean_output(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    from tests.generate.helpers import make_repo

    repo = make_repo(tmp_path_factory.mktemp("clean") / "repo")
    with TeacherServer() as server:
        write_config(repo, server.url, num_instructions=3)
        run(repo, leaves=LEAF)
    return outputs(repo)


@pytest.mark.parametrize("kind", ["429", "500", "503", "timeout", "drop"])
def test_transient_failures_are_retried(repo: Path, kind: str, clean_output: dict[str, str]) -> None:
    with TeacherServer(failing_once(kind)) as server:
        write_config(repo, server.url, num_instructions=3, request_timeout_s=0.5)
        result = run(repo, leaves=LEAF)
        distinct = len({str(sorted(b.items())) for b in server.received})
        assert len(server.received) == 2 * distinct  # every request failed once, then succeeded
    assert not result.failed
    assert outputs(repo) == clean_output  # the retries changed nothing in the output


def test_client_error_is_not_retried_and_names_leaf_and_stage(repo: Path) -> None:
    with TeacherServer(lambda body, attempt: Reply(status=400)) as server:
        write_config(repo, server.url, num_instructions=2)
        result = run(repo, leaves=LEAF)
        bodies = [str(sorted(b.items())) for b in server.received]
        assert 1 <= len(bodies) == len(set(bodies))  # no request was sent twice
    (reason,) = result.failed.values()
    assert "taxonomy/compositional_skills/writing/haiku/qna.yaml: stage generate_instructions:" in reason
    assert "HTTP 400" in reason and server.url in reason
    assert not (repo / "generated/compositional_skills/writing/haiku.jsonl").exists()


def test_gives_up_after_max_retries(repo: Path) -> None:
    with TeacherServer(lambda body, attempt: Reply(status=500)) as server:
        write_config(repo, server.url, num_instructions=1, max_retries=2)
        result = run(repo, leaves=LEAF)
        assert len(server.received) == 3
    assert "failed after 3 attempts (HTTP 500)" in next(iter(result.failed.values()))


def test_unreachable_server_is_named(repo: Path) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    write_config(repo, f"http://127.0.0.1:{port}/v1")
    with pytest.raises(LabtaxError, match=rf"teacher server at http://127.0.0.1:{port}/v1 is unreachable"):
        run(repo, leaves=LEAF)


def test_api_key_is_sent(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []

    monkeypatch.setenv("LABTAX_API_KEY", "sekret")
    with TeacherServer() as server:
        handler = server._httpd.RequestHandlerClass
        original = handler.do_POST

        def spy(self: Any) -> None:
            seen.append(self.headers.get("Authorization"))
            original(self)

        handler.do_POST = spy  # type: ignore[method-assign]
        write_config(repo, server.url, num_instructions=1)
        run(repo, leaves=LEAF)
    assert seen and set(seen) == {"Bearer sekret"}


def test_retry_after_and_label_parsing() -> None:
    assert retry_after("2") == 2.0 and retry_after(None) is None and retry_after("soon") is None
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # a date in the past: no wait
    assert parse_label("Score: 2 out of 3", ["1", "2", "3"]) == "2"
    assert parse_label("Yes, it is.", ["yes", "no"]) == "yes"
    assert parse_label("I think 2.5", ["1", "2", "3"]) is None
    assert parse_label("nothing", ["yes", "no"]) is None


@pytest.mark.parametrize(("mode", "field"), [("guided", "guided_choice"), ("grammar", "grammar")])
def test_constrained_choice_sends_the_allowed_labels(repo: Path, mode: str, field: str) -> None:
    judges = ("evaluate_instructions", "evaluate_pairs")

    def script(body: dict[str, Any], attempt: int) -> Reply:
        if stage_of(body) not in judges:
            return good_teacher(body)
        if field not in body:  # unconstrained, this teacher rambles and names no label
            return Reply("Well, that depends on the reader.")
        return Reply("3" if stage_of(body) == "evaluate_pairs" else "yes")

    with TeacherServer(script) as server:
        write_config(repo, server.url, num_instructions=2, choice=mode)
        result = run(repo, leaves=LEAF)
        judged = [b for b in server.received if stage_of(b) in judges]
    assert not result.failed and judged and all("logprobs" not in b for b in judged)
    allowed = {str(b[field]) for b in judged}
    if mode == "guided":
        assert allowed == {str(["yes", "no"]), str(["1", "2", "3"])}
    else:
        assert allowed == {'root ::= "yes" | "no"', 'root ::= "1" | "2" | "3"'}
    (text,) = outputs(repo).values()
    assert len(text.splitlines()) == 2  # both candidates judged through the constraint and kept


def reply_logprobs(*positions: tuple[str, dict[str, float]]) -> dict[str, Any]:
    """A chat completion whose logprobs.content holds (the reply's token, its top log-probabilities)."""
    content = [
        {
            "token": token,
            "logprob": top[token],
            "top_logprobs": [{"token": t, "logprob": v} for t, v in top.items()],
        }
        for token, top in positions
    ]
    return {"choices": [{"message": {"content": "x"}, "logprobs": {"content": content}}]}


def test_logprob_labels_one_of_which_begins_another() -> None:
    grades = [str(g) for g in range(1, 11)]
    # digits one token each: a first "1" followed by "0" (or "0.") is a 10, by anything else a 1
    ten = logprob_scores(
        reply_logprobs(("1", {"1": -0.1, "9": -2.0}), ("0.", {"0.": -0.5, "\n": -1.0})), grades
    )
    assert ten is not None and max(ten, key=ten.__getitem__) == "10"
    assert ten["10"] == pytest.approx(-0.6) and ten["1"] == pytest.approx(-0.1 + math.log(1 - math.exp(-0.5)))
    one = logprob_scores(reply_logprobs((" 1", {" 1": -0.1}), ("/", {"/": -0.1, "0": -3.0})), grades)
    assert one is not None and max(one, key=one.__getitem__) == "1" and one["10"] == pytest.approx(-3.1)
    # a reply that ended after "1" is a 1; one that took another token leaves the split unknown
    ended = logprob_scores(reply_logprobs(("1", {"1": -0.2, "2": -1.9})), grades)
    assert ended == {g: {"1": -0.2, "2": -1.9}.get(g, LOGPROB_FLOOR) for g in grades}
    nine = logprob_scores(reply_logprobs(("9", {"9": -0.1, "1": -2.5})), grades)
    assert nine is not None and nine["9"] == -0.1 and nine["1"] == nine["10"] == LOGPROB_FLOOR
    # a tokenizer with "10" as one token: the token "1" is the grade 1
    whole = logprob_scores(reply_logprobs(("10", {"10": -0.1, "1": -3.0})), grades)
    assert whole is not None and (whole["10"], whole["1"]) == (-0.1, -3.0)
    # labels no one of which begins another are read at the first position, as before
    yes = logprob_scores(
        reply_logprobs(("Yes", {"Yes": -0.3, "No": -1.5}), ("!", {"!": -0.1})), ["yes", "no"]
    )
    assert yes == {"yes": -0.3, "no": -1.5}
