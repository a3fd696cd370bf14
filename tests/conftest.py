"""Shared test helpers: real git repositories and the starter taxonomy."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def git(cwd: Path, *args: str) -> str:
    """Run git in `cwd` with a fixed identity; return stdout."""
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Test",
        "GIT_AUTHOR_EMAIL": "test@example.com",
        "GIT_COMMITTER_NAME": "Test",
        "GIT_COMMITTER_EMAIL": "test@example.com",
    }
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def git_repo(tmp_path: Path) -> Path:
    """An empty git repository on branch main with one initial commit."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "README.md").write_text("test taxonomy\n")
    git(repo, "add", "README.md")
    git(repo, "commit", "-q", "-m", "init")
    return repo


@pytest.fixture
def starter_repo(tmp_path: Path) -> Path:
    """A git repository holding a copy of the project's starter taxonomy and labtax.yaml,
    committed on main."""
    repo = tmp_path / "starter"
    repo.mkdir()
    shutil.copytree(REPO_ROOT / "taxonomy", repo / "taxonomy")
    if (REPO_ROOT / "labtax.yaml").is_file():
        shutil.copy(REPO_ROOT / "labtax.yaml", repo / "labtax.yaml")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "starter taxonomy")
    return repo
