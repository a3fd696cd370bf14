"""What `labtax generate` tells the terminal: plain progress lines when piped, rate and ETA from
completed calls over wall time, teacher calls and cache hits in the summary, whole leaf names,
plurals, and the cost of a cache-served rerun kept next to the original cost."""

from __future__ import annotations

import io
import re
from pathlib import Path

from rich.console import Console

from labtax.generate import GenerateOptions, generate
from labtax.generate.summary import print_result
from labtax.models.progress import StageProgress, eta, per_time, rate
from tests.generate.helpers import run, write_config
from tests.generate.teacher_server import TeacherServer

HAIKU = "taxonomy/compositional_skills/writing/haiku"


def _piped(width: int = 120) -> tuple[Console, io.StringIO]:
    """A console writing to a pipe, as wide as `table_console` makes one."""
    out = io.StringIO()
    return Console(file=out, force_terminal=False, width=width), out


def test_rate_and_eta_come_from_completed_calls_over_wall_time() -> None:
    assert rate(30, 60.0) == 0.5 and eta(90, 30, 60.0) == 120.0
    assert rate(0, 5.0) is None and eta(10, 0, 5.0) is None and rate(3, None) is None


def test_plain_progress_lines_when_not_a_terminal() -> None:
    console, out = _piped()
    with StageProgress(console, enabled=True, interval=0.0) as progress:
        progress.planned("generate_instructions", 3)
        for _ in range(3):
            progress.done("generate_instructions")
    lines = out.getvalue().splitlines()
    assert len(lines) == 4  # one per completed call at interval 0, then the final line
    assert re.fullmatch(r"progress: generate_instructions 3/3 [0-9.]+/(s|min) eta 0s", lines[-1]), lines[-1]
    assert "\x1b[" not in out.getvalue()  # no escape codes in a log


def test_no_lines_between_intervals_and_none_when_disabled() -> None:
    console, out = _piped()
    with StageProgress(console, enabled=True, interval=3600) as progress:
        progress.planned("evaluate_pairs", 2)
        progress.done("evaluate_pairs")
        progress.done("evaluate_pairs")
    assert out.getvalue().splitlines() == [
        line for line in out.getvalue().splitlines() if line.startswith("progress: evaluate_pairs 2/2")
    ]
    assert len(out.getvalue().splitlines()) == 1
    console, out = _piped()
    with StageProgress(console, enabled=False, interval=0.0) as progress:
        progress.planned("evaluate_pairs", 1)
        progress.done("evaluate_pairs")
    assert out.getvalue() == ""


def test_piped_generate_prints_progress_and_a_summary_with_cache_counts(repo: Path, capsys) -> None:
    with TeacherServer() as server:
        write_config(repo, server.url, num_instructions=2)
        console, out = _piped()
        first = generate(GenerateOptions(root=repo, leaves=(HAIKU,), show_progress=True), console)
        assert "progress: generate_instructions 2/2" in out.getvalue()
        cost = first.manifest["leaves"][f"{HAIKU}/qna.yaml"]
        assert cost["generated_teacher_calls"] == cost["teacher_calls"] > 0
        second = run(repo, leaves=(HAIKU,))
    entry = second.manifest["leaves"][f"{HAIKU}/qna.yaml"]
    # a rerun served from the cache: its own figures, and the original cost kept
    assert entry["teacher_calls"] == 0 and entry["cache_hits"] == cost["teacher_calls"]
    assert (entry["generated_teacher_calls"], entry["generated_wall_s"]) == (
        cost["teacher_calls"],
        cost["wall_s"],
    )
    table, table_out = _piped()
    print_result(second, table)
    text = table_out.getvalue()
    assert "calls: teacher calls this run made; cached: calls the cache answered" in text
    # whole, on one line
    leaf_row = next(line for line in text.splitlines() if "compositional_skills/writing/haiku" in line)
    assert leaf_row.split("│")[-3].strip() == "0" and leaf_row.split("│")[-2].strip() == str(
        cost["teacher_calls"]
    )
    records_row = next(line for line in text.splitlines() if "│   records" in line)
    assert records_row.split("│")[3].strip() == "2"
    assert f"2 records for 1 leaf in {repo / 'generated'}" in capsys.readouterr().err


def test_slow_rates_read_per_minute() -> None:
    assert (
        per_time(2.345) == "2.3/s"
        and per_time(0.05) == "3.0/min"
        and per_time(None) == "-/s"
        and per_time(0.0) == "-/s"
    )
