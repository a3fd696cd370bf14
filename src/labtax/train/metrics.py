"""metrics.jsonl (one line per optimizer step and per epoch) and the progress lines on rank 0."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from labtax.files import write_text_atomic
from labtax.train.packing import packing_efficiency

NAME = "metrics.jsonl"


def read(run_dir: Path) -> list[dict[str, Any]]:
    file = run_dir / NAME
    if not file.is_file():
        return []
    records = []
    for line in file.read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:  # the half-written last line of a killed run
            continue
    return records


class MetricsLog:
    """Appends metrics on rank 0. On resume, lines of the interrupted epoch are dropped first, so
    the file matches the journal (the epoch is trained again from its saved start)."""

    def __init__(self, run_dir: Path, phase: str, rank: int, resume_after: int) -> None:
        self.file, self.phase, self.active = run_dir / NAME, phase, rank == 0
        self.began = time.perf_counter()
        self.first_step: int | None = None
        if self.active:
            kept = [m for m in read(run_dir) if m["phase"] != phase or m["epoch"] <= resume_after]
            write_text_atomic(self.file, "".join(json.dumps(m) + "\n" for m in kept))

    def _append(self, record: dict[str, Any]) -> None:
        with self.file.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")

    def step(
        self,
        epoch: int,
        step: int,
        total: int,
        stats: dict[str, float],
        lr: float,
        s: Any,
        ctx: Any,
        seconds: float,
    ) -> None:
        """One optimizer step: `stats` are the objective's means, loss first (reward and dpo add
        pair accuracy and reward margins)."""
        if not self.active:
            return
        loss = stats["loss"]
        lengths = [len(x) for x in ctx.train]
        bins = [m for rank in s.per_rank for m in rank]
        tokens = sum(lengths[i] for b in bins for i in b)
        efficiency = packing_efficiency(lengths, bins, ctx.config.pad_to_multiple_of)
        self._append(
            {
                "kind": "step",
                "phase": self.phase,
                "epoch": epoch,
                "step": step,
                **stats,
                "lr": lr,
                "tokens": tokens,
                "tokens_per_s": tokens / max(seconds, 1e-9),
                "packing_efficiency": efficiency,
                "accumulation": s.accumulation,
                "samples": s.samples,
                "time": time.time(),
            }
        )
        self.first_step = step if self.first_step is None else self.first_step
        if step % ctx.config.log_every == 0 or step == total:
            done = step - self.first_step + 1
            eta = (time.perf_counter() - self.began) / done * (total - step)
            print(
                f"[{self.phase}] epoch {epoch} step {step}/{total} loss {loss:.4f}{_others(stats)} "
                f"lr {lr:.2e} {tokens / max(seconds, 1e-9):,.0f} tok/s "
                f"packing {efficiency:.1%} eta {eta:,.0f}s",
                flush=True,
            )

    def epoch(self, epoch: int, step: int, val: dict[str, float] | None) -> None:
        """An epoch's (or, as epoch 0, the starting checkpoint's) validation statistics."""
        if self.active:
            fields = prefixed("val", val)
            self._append(
                {
                    "kind": "epoch",
                    "phase": self.phase,
                    "epoch": epoch,
                    "step": step,
                    **fields,
                    "time": time.time(),
                }
            )
            shown = "n/a" if val is None else f"{fields['val_loss']:.4f}{_others(val)}"
            what = "starting checkpoint" if epoch == 0 else f"epoch {epoch} done"
            print(f"[{self.phase}] {what}: validation loss {shown}", flush=True)


def prefixed(prefix: str, stats: dict[str, float] | None) -> dict[str, float | None]:
    """Validation statistics as journal and metrics fields: `val_loss` (None without a validation
    split) and, for reward and dpo, `val_accuracy` and the rest."""
    return {
        f"{prefix}_loss": None if stats is None else stats["loss"],
        **{f"{prefix}_{k}": v for k, v in (stats or {}).items() if k != "loss"},
    }


def _others(stats: dict[str, float]) -> str:
    """The statistics besides the loss, for a progress line (` accuracy 0.750 margin 0.120`)."""
    return "".join(f" {k.replace('_', ' ')} {v:.3f}" for k, v in stats.items() if k != "loss")
