"""`labtax rank` on the command line: exit codes, the summary, bad input as one clear line, and a
student checkpoint's answers among the candidates."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from labtax.cli import cli
from tests.generate.teacher_server import TeacherServer
from tests.rank.helpers import HAIKU, SUMMARY, preference_rows, ranker, run, write_config, write_generated

KEPT = [
    ("Write a haiku about rain.", "Rain taps on the roof"),
    ("Write a haiku about wind.", "Wind bends the tall grass"),
]


def invoke(repo: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> object:
    monkeypatch.chdir(repo)
    return CliRunner().invoke(cli, ["rank", *args])


def test_rank_prints_a_summary_and_exits_0(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_generated(repo, HAIKU, KEPT)
    with TeacherServer(ranker()) as server:
        write_config(repo, server.url)
        result = invoke(repo, monkeypatch, "taxonomy/compositional_skills/writing/haiku", "--candidates", "2")
    assert result.exit_code == 0, result.output
    assert (
        "2 pairs (reward" in result.stderr
        and "for 1 leaf in" in result.stderr
        and "1 cache hit" not in result.stderr
    )
    assert "compositional_skills/writi" in result.stdout and "agree/not" in result.stdout


def test_a_leaf_without_records_is_reported_and_exits_1(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_generated(repo, HAIKU, KEPT)
    with TeacherServer(ranker()) as server:
        write_config(repo, server.url, candidates=2)
        result = invoke(repo, monkeypatch, "--all")
        assert result.exit_code == 1 and "Traceback" not in result.output
        assert f"no records: {SUMMARY} has no generated records" in result.stderr
        assert "2 leaf(s) have no generated records" in result.stderr and "--allow-empty" in result.stderr
        # the others are ranked
        assert len(preference_rows(repo, "compositional_skills/writing/haiku.jsonl")) == 2
        allowed = invoke(repo, monkeypatch, "--all", "--allow-empty")
    assert allowed.exit_code == 0, allowed.output


def test_an_unreachable_teacher_is_one_clear_line(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_generated(repo, HAIKU, KEPT)
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}/v1"
    write_config(repo, "http://127.0.0.1:9/v1")
    result = invoke(repo, monkeypatch, HAIKU, "--teacher", url)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert f"the teacher server at {url} is unreachable" in result.stderr
    assert not (repo / "preferences" / "compositional_skills").exists()


def test_dry_run_prints_the_plan_and_calls_nothing(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_generated(repo, HAIKU, KEPT)
    with TeacherServer(ranker()) as server:
        write_config(repo, server.url)
        result = invoke(repo, monkeypatch, HAIKU, "--dry-run", "--method", "list")
        assert server.received == []
    assert result.exit_code == 0, result.output
    assert "labtax rank --dry-run" in result.stdout and "compositional_skills/writ" in result.stdout
    # 2 questions, 4 candidates each: 3 samples and one list ranking each (8 calls at most)
    assert re.search(r"│\s+2 │\s+8 │\s+6 │\s+2 │\s+8 │", result.stdout), result.stdout


def test_bad_usage_and_bad_settings_exit_2(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_config(repo, "http://127.0.0.1:9/v1", splits={"reward": 0.9})
    both = invoke(repo, monkeypatch, "--all", "--base", "main")
    assert both.exit_code == 2 and "at most one of" in both.output
    shares = invoke(repo, monkeypatch, "--all")
    assert (
        shares.exit_code == 2
        and "rank.splits must add up to 1" in shares.output
        and "Traceback" not in shares.output
    )


def test_a_student_checkpoint_answers_join_the_candidates(repo: Path, tmp_path: Path) -> None:
    from labtax.models.cache import CallCache
    from tests.train import tiny

    student = tiny.make_model(tmp_path / "student")
    write_generated(repo, HAIKU, KEPT)
    with TeacherServer(ranker()) as server:
        write_config(repo, server.url, candidates=3)
        result = run(repo, leaves=(HAIKU,), student=str(student))
        samples = [
            b
            for b in server.received
            if b["messages"][0]["content"].startswith("Task: answer an instruction")
        ]
    rows = preference_rows(repo, "compositional_skills/writing/haiku.jsonl")
    sources = {r["provenance"]["chosen"] for r in rows} | {r["provenance"]["rejected"] for r in rows}
    assert len(samples) == 2  # kept answer + student answer + one sample = 3 candidates per question
    assert (
        sources == {"teacher", "teacher@1.0", "student"}
        and result.manifest["leaves"][HAIKU]["candidates"] == 6
    )
    cache = CallCache(repo / "preferences" / ".cache" / "calls.sqlite")
    try:
        # every teacher call and both student answers are cached
        assert len(cache) == len(server.received) + 2
    finally:
        cache.close()
    assert json.loads((repo / "preferences" / "manifest.json").read_text())["leaves"][HAIKU]["questions"] == 2


def test_clean_removes_the_rank_call_cache(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # clean also removes the labtax cache's compiled ops: not the real ones
    monkeypatch.setenv("LABTAX_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("TORCH_EXTENSIONS_DIR", str(tmp_path / "ops"))
    write_generated(repo, HAIKU, KEPT[:1])
    with TeacherServer(ranker()) as server:
        write_config(repo, server.url, candidates=2)
        run(repo, leaves=(HAIKU,))
    monkeypatch.chdir(repo)
    result = CliRunner().invoke(cli, ["clean"])
    assert str(Path.home()) not in result.stdout
    assert (
        result.exit_code == 0
        and f"removing {repo / 'preferences' / '.cache'} (teacher call cache of labtax rank" in result.stdout
    )
    assert not (repo / "preferences" / ".cache").exists() and (repo / "preferences" / "reward.jsonl").exists()


def test_a_damaged_records_line_fails_its_leaf_with_a_located_error(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_generated(repo, HAIKU, KEPT)
    path.write_text(path.read_text() + "{not json\n")
    with TeacherServer(ranker()) as server:
        write_config(repo, server.url, candidates=2)
        result = invoke(repo, monkeypatch, HAIKU)
        assert server.received == []
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"failed: {HAIKU}: {path}:3:2: error[record] not valid JSON" in result.stderr
