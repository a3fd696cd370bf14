"""A non-editable `pip install .` into a fresh virtual environment finds its data files inside the wheel.

To stay fast and offline, the fresh environment borrows the already-installed dependencies through a
.pth file and labtax itself is installed with --no-deps (and without build isolation when hatchling
is importable). Only labtax comes from the wheel, which is what this test is about.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
LEAF = "taxonomy/foundational_skills/mathematics/arithmetic_word_problems"


def _has_hatchling() -> bool:
    try:
        import hatchling  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with labtax installed from the project as a wheel; returns its bin folder."""
    venv = tmp_path_factory.mktemp("install") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = Path(sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)}))
    (site / "_borrowed_deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    isolation = ["--no-build-isolation"] if _has_hatchling() else []
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(venv / "bin" / "python"),
            "install",
            "-q",
            "--no-deps",
            "--no-cache-dir",
            *isolation,
            str(REPO_ROOT),
        ],
        check=True,
    )
    return venv / "bin"


def _run(bindir: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(
        [str(bindir / args[0]), *args[1:]], cwd=cwd, env=env, capture_output=True, text=True
    )


def test_data_files_come_from_the_wheel(installed: Path, tmp_path: Path) -> None:
    code = (
        "import labtax, labtax.resources as r; print(labtax.__file__); "
        "print(r.data_dir('schemas')); print(r.data_dir('prompts'))"
    )
    result = _run(installed, tmp_path, "python", "-c", code)
    assert result.returncode == 0, result.stderr
    module, schemas, prompts = (Path(line) for line in result.stdout.split())
    venv = installed.parent
    assert venv in module.parents and REPO_ROOT not in module.parents  # not the editable source tree
    assert schemas == module.parent / "_data" / "schemas" and (schemas / "config.schema.json").is_file()
    assert prompts == module.parent / "_data" / "prompts"


def test_core_requirements_do_not_pull_torch(installed: Path, tmp_path: Path) -> None:
    code = "import importlib.metadata as m; print('\\n'.join(m.requires('labtax')))"
    result = _run(installed, tmp_path, "python", "-c", code)
    core = [r for r in result.stdout.splitlines() if "extra ==" not in r]
    assert any(r.startswith("click") for r in core)
    assert not [
        r for r in core if r.split(">")[0].split("=")[0].strip() in ("torch", "transformers", "deepspeed")
    ]


def test_installed_lint_checks_a_leaf_outside_the_source_tree(installed: Path, tmp_path: Path) -> None:
    shutil.copytree(REPO_ROOT / LEAF, tmp_path / LEAF)
    good = _run(installed, tmp_path, "labtax", "lint", LEAF)
    assert good.returncode == 0, good.stdout + good.stderr
    qna = tmp_path / LEAF / "qna.yaml"
    qna.write_text(qna.read_text().replace("version: 3\n", "version: 3\nunknown_key: 1\n"))
    bad = _run(installed, tmp_path, "labtax", "lint", LEAF)  # the schema (from the wheel) rejects the key
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "unknown_key" in bad.stdout


def test_installed_diff_runs(installed: Path, tmp_path: Path) -> None:
    shutil.copytree(REPO_ROOT / LEAF, tmp_path / LEAF)
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=tmp_path, check=True)
    result = _run(installed, tmp_path, "labtax", "diff", "--base", "empty")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"A  {LEAF}/qna.yaml\n"
