"""Plain torch for one process: the part of DeepSpeed's engine interface the recipe uses.

With a single process ZeRO partitions nothing, yet DeepSpeed's ZeRO-1/2 optimizer still keeps its
own flat copies of the weights and gradients and reduces through buckets. With `engine: auto` a
one-process run without offload trains here instead: the same AdamW, scheduler, gradient
clipping and accumulation boundaries, so the numbers match the DeepSpeed path (a test checks it).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

STATE_FILE = "state.pt"


def use_torch(engine: str, world: int, offload: str) -> bool:
    """`auto` picks plain torch for one process without CPU offload (which needs DeepSpeed)."""
    return engine == "torch" or (engine == "auto" and world == 1 and offload == "none")


@dataclass
class TorchEngine:
    """Model, optimizer and scheduler, stepping like DeepSpeed: only at an accumulation boundary."""

    module: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: Any
    max_grad_norm: float
    boundary: bool = True

    def __call__(self, **inputs: Any) -> Any:
        return self.module(**inputs)

    def train(self) -> None:
        self.module.train()

    def eval(self) -> None:
        self.module.eval()

    def set_gradient_accumulation_boundary(self, boundary: bool) -> None:
        self.boundary = boundary

    def backward(self, loss: torch.Tensor, scale_wrt_gas: bool = False) -> None:  # noqa: ARG002 - DeepSpeed's signature
        loss.backward()

    def step(self) -> None:
        if not self.boundary:
            return
        if self.max_grad_norm > 0:
            torch.nn.utils.clip_grad_norm_(self.module.parameters(), self.max_grad_norm)
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)

    def get_lr(self) -> list[float]:
        return [group["lr"] for group in self.optimizer.param_groups]

    def save_checkpoint(self, save_dir: str, tag: str, client_state: dict[str, Any]) -> None:
        """Weights, optimizer and scheduler in one file, written atomically (for --resume)."""
        folder = Path(save_dir) / tag
        folder.mkdir(parents=True, exist_ok=True)
        state = {
            "model": self.module.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "client": client_state,
        }
        tmp = folder / f".{STATE_FILE}.tmp"
        torch.save(state, tmp)
        os.replace(tmp, folder / STATE_FILE)

    def load_checkpoint(self, load_dir: str, tag: str) -> tuple[str, dict[str, Any]]:
        state = torch.load(Path(load_dir) / tag / STATE_FILE, map_location="cpu", weights_only=True)
        self.module.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        return load_dir, state["client"]
