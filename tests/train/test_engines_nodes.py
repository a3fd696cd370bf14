"""Plain torch (one process) against DeepSpeed, and two torchrun "nodes" against one node.

Real launches: `labtax train` starts torchrun, the workers train the tiny student with gloo.
"""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tests.train import tiny
from tests.train.conftest import labtax

pytestmark = pytest.mark.slow


def weights(checkpoint: Path) -> dict[str, torch.Tensor]:
    return load_file(checkpoint / "model.safetensors")


def assert_same_weights(a: Path, b: Path, atol: float) -> None:
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys()
    for name in wa:
        assert torch.allclose(wa[name], wb[name], rtol=0, atol=atol), name


def kt1_losses(run_dir: Path) -> list[float]:
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [r["loss"] for r in rows if r["kind"] == "step" and r["phase"] == "kt1"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(project: Path, config: Path, *args: str) -> subprocess.Popen:
    # keep every epoch's checkpoint: the tests compare epoch 1's weights across launches
    return labtax(
        "train", "--config", str(config), "--phases", "kt1", "--set", "keep=all", *args, cwd=project
    )


def finish(proc: subprocess.Popen) -> str:
    output = proc.communicate(timeout=400)[0]
    assert proc.returncode == 0, output
    return output


def test_plain_torch_path_equals_deepspeed_path(project: Path) -> None:
    """One process: engine torch and engine deepspeed (ZeRO-2) give the same losses and weights."""
    runs = {}
    for engine in ("torch", "deepspeed"):
        config = tiny.write_config(project, f"one-{engine}", 2)
        finish(run(project, config, "--nproc", "1", "--set", f"engine={engine}"))
        runs[engine] = project / "runs" / f"one-{engine}"
    assert kt1_losses(runs["torch"]) == pytest.approx(kt1_losses(runs["deepspeed"]), rel=1e-5)
    assert len(kt1_losses(runs["torch"])) >= 4
    for epoch in (1, 2):
        assert_same_weights(
            runs["torch"] / "kt1" / f"epoch-{epoch}", runs["deepspeed"] / "kt1" / f"epoch-{epoch}", atol=1e-5
        )
    moved = weights(runs["torch"] / "kt1" / "epoch-2")["model.norm.weight"]
    assert not torch.equal(moved, weights(project / "model")["model.norm.weight"]), (
        "training changed the weights"
    )


@pytest.mark.parametrize("stage", [2, 3])
def test_two_nodes_give_the_checkpoints_of_one_node(
    project: Path, stage: int, request: pytest.FixtureRequest
) -> None:
    """`labtax train --nnodes 2 --node-rank 0/1` (one process each, c10d on 127.0.0.1) against one
    node with two processes (the session's ZeRO-2 run, and the ZeRO-3 run whose KT/1 finished)."""
    one_node = request.getfixturevalue("zero2_run" if stage == 2 else "zero3_resumed")
    one_node = one_node if stage == 2 else one_node["run_dir"]
    config = tiny.write_config(project, f"nodes-{stage}", stage)
    port = str(free_port())
    nodes = [
        run(
            project,
            config,
            "--nproc",
            "1",
            "--nnodes",
            "2",
            "--node-rank",
            str(rank),
            "--master-addr",
            "127.0.0.1",
            "--master-port",
            port,
        )
        for rank in (0, 1)
    ]
    outputs = [finish(node) for node in nodes]
    assert "--rdzv-backend c10d" in outputs[0] and "--node-rank 1" in outputs[1]
    two_nodes = project / "runs" / f"nodes-{stage}"
    data = json.loads((two_nodes / "journal.json").read_text())
    assert data["world_size"] == 2 and data["phases"]["kt1"]["status"] == "done"
    assert kt1_losses(two_nodes) == pytest.approx(
        kt1_losses(one_node)[: len(kt1_losses(two_nodes))], rel=1e-5
    )
    # the one-node runs keep only their chosen checkpoint (keep: best): compare what both have
    kept = [epoch for epoch in (1, 2) if (one_node / "kt1" / f"epoch-{epoch}").is_dir()]
    assert kept
    for epoch in kept:
        assert_same_weights(
            two_nodes / "kt1" / f"epoch-{epoch}", one_node / "kt1" / f"epoch-{epoch}", atol=1e-6
        )
