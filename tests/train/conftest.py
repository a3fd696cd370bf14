"""Session fixtures for the training tests: one tiny student, one mixed dataset, and two real
DeepSpeed runs (2 processes, gloo): ZeRO-2 straight through, ZeRO-3 killed mid-phase and resumed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.train import tiny

REPO = Path(__file__).resolve().parents[2]
os.environ.setdefault("TORCH_EXTENSIONS_DIR", str(REPO / ".torch_extensions"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with a tiny student (model/), a taxonomy, generated records and `labtax mix` output
    (data/)."""
    from labtax.config import load_config
    from labtax.mix import mix

    root = tmp_path_factory.mktemp("project")
    tiny.make_model(root / "model")
    tiny.write_taxonomy(root)
    tiny.write_generated(root / "generated")
    (root / "labtax.yaml").write_text("mix:\n  short_max_tokens: 20\n  tokenizer: model\n")
    mix(load_config(root))
    return root


@pytest.fixture(scope="session")
def zero2_run(project: Path) -> Path:
    """The full KT/1 -> KT/2 -> ST schedule at ZeRO-2, uninterrupted."""
    from labtax.train.config import load_train_config
    from labtax.train.launch import train

    train(load_train_config(tiny.write_config(project, "zero2", 2)), echo=lambda _: None)
    return project / "runs" / "zero2"


def labtax(*args: str, **kwargs) -> subprocess.Popen:
    exe = Path(sys.executable).parent / "labtax"
    return subprocess.Popen(
        [str(exe), *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kwargs
    )


def wait_for_metric(
    run_dir: Path, proc: subprocess.Popen, phase: str, epoch: int, timeout: float = 240
) -> None:
    """Block until metrics.jsonl shows a training step of `phase` in `epoch` (or the process ends)."""
    deadline = time.time() + timeout
    metrics = run_dir / "metrics.jsonl"
    while time.time() < deadline and proc.poll() is None:
        if metrics.is_file():
            for line in metrics.read_text().splitlines():
                row = json.loads(line) if line.strip() else {}
                if row.get("kind") == "step" and row["phase"] == phase and row["epoch"] >= epoch:
                    return
        time.sleep(0.05)
    raise AssertionError(
        f"no {phase} epoch {epoch} step seen; output:\n"
        f"{proc.communicate()[0] if proc.poll() is not None else ''}"
    )


@pytest.fixture(scope="session")
def zero3_resumed(project: Path) -> dict:
    """ZeRO-3: killed (SIGKILL to the whole process group) during KT/2's second epoch, then resumed."""
    config = tiny.write_config(project, "zero3", 3)
    run_dir = project / "runs" / "zero3"
    proc = labtax("train", "--config", str(config), cwd=project, start_new_session=True)
    wait_for_metric(run_dir, proc, "kt2", 2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    killed = json.loads((run_dir / "journal.json").read_text())
    killed["_states"] = sorted(p.name for p in (run_dir / "kt2" / "state").iterdir() if p.is_dir())
    resumed = labtax("train", "--config", str(config), "--resume", cwd=project)
    output = resumed.communicate(timeout=300)[0]
    assert resumed.returncode == 0, output
    return {"run_dir": run_dir, "killed": killed, "output": output}
