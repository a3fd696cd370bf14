"""Fixtures for rank tests: the generate tests' repository (three leaves, committed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.generate.helpers import make_repo


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repo (branch main) with one skills leaf, one grounded skills leaf and one knowledge leaf,
    committed."""
    return make_repo(tmp_path / "repo")
