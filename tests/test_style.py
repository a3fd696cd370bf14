"""The codebase's shape, checked like behaviour: the layers contract (pyproject.toml), the formatter,
the linter, and files small enough to read (docs/architecture.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TREES = ["src", "tests", "bench", "scripts"]
MAX_LINES = 400


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)


def test_imports_run_one_way_down_the_layers() -> None:
    done = run(str(BIN / "lint-imports"), "--no-cache")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "1 kept, 0 broken" in done.stdout


@pytest.mark.parametrize("check", [["format", "--check"], ["check"]], ids=["ruff format", "ruff check"])
def test_ruff_finds_nothing(check: list[str]) -> None:
    done = run(str(BIN / "ruff"), *check, *TREES)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]


def test_no_source_file_is_over_400_lines() -> None:
    long = {
        str(p.relative_to(REPO)): n
        for p in sorted((REPO / "src").rglob("*.py"))
        if (n := p.read_text(encoding="utf-8").count("\n")) > MAX_LINES
    }
    assert not long, f"split these modules: {long}"
