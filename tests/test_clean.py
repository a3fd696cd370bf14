"""`labtax clean`: a dry run lists and keeps; a run removes the caches, and runs only with --runs;
DeepSpeed's ops default to the labtax cache."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from labtax.cli import cli
from labtax.files import torch_extensions_dir


def _project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "project"
    (root / "generated" / ".cache").mkdir(parents=True)
    (root / "generated" / ".cache" / "calls.sqlite").write_bytes(b"x" * 2_000_000)
    (root / "generated" / "a.jsonl").write_text("{}\n")
    (root / "runs" / "default" / "kt1" / "epoch-1").mkdir(parents=True)
    (root / "runs" / "default" / "kt1" / "epoch-1" / "model.safetensors").write_bytes(b"y" * 1000)
    (root / "labtax.yaml").write_text("profile: labtax\n")
    monkeypatch.setenv("LABTAX_CACHE", str(tmp_path / "cache"))
    (torch_extensions_dir() / "py311_cpu").mkdir(parents=True)
    monkeypatch.chdir(root)
    return root


def test_dry_run_lists_with_sizes_and_removes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _project(tmp_path, monkeypatch)
    result = CliRunner().invoke(cli, ["clean", "--dry-run", "--runs"])
    assert result.exit_code == 0, result.output
    assert f"would remove {root / 'generated' / '.cache'} (teacher call cache, 2.0 MB)" in result.stdout
    assert f"would remove {tmp_path / 'cache' / 'torch_extensions'} (compiled DeepSpeed ops" in result.stdout
    assert f"would remove {root / 'runs' / 'default'} (training run" in result.stdout
    assert "would free 2.0 MB" in result.stderr
    assert (root / "generated" / ".cache" / "calls.sqlite").exists() and (root / "runs" / "default").exists()


def test_clean_removes_caches_and_runs_only_when_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _project(tmp_path, monkeypatch)
    assert CliRunner().invoke(cli, ["clean"]).exit_code == 0
    assert not (root / "generated" / ".cache").exists() and not torch_extensions_dir().exists()
    assert (root / "generated" / "a.jsonl").exists() and (root / "runs" / "default").exists()
    CliRunner().invoke(cli, ["clean", "--runs"])
    assert not (root / "runs" / "default").exists()
    assert CliRunner().invoke(cli, ["clean"]).stderr == "nothing to remove\n"


def test_torch_extensions_default_to_the_labtax_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LABTAX_CACHE", str(tmp_path / "c"))
    assert torch_extensions_dir() == tmp_path / "c" / "torch_extensions"
    monkeypatch.delenv("LABTAX_CACHE")
    assert torch_extensions_dir() == Path.home() / ".cache" / "labtax" / "torch_extensions"
