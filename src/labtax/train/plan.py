"""The plan of a run, per phase, computed without loading the model (`--dry-run` prints it)."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from labtax.errors import LabtaxError
from labtax.models.tokenize import load_tokenizer
from labtax.train.config import TrainConfig
from labtax.train.data import read_phase
from labtax.train.objectives import encode_row, longest
from labtax.train.packing import epoch_seed, epoch_steps, packing_efficiency


@dataclass(frozen=True)
class PhasePlan:
    phase: str
    objective: str
    model: str | None  # a phase's own starting model (null: the chain's checkpoint)
    samples: int  # training rows: samples (sft) or preference pairs (reward, dpo)
    validation: int
    replayed: dict[str, int]
    tokens: int
    truncated: int
    epochs: int
    steps_per_epoch: int
    optimizer_steps: int
    effective_batch_size: int
    micro_batch_tokens: int
    micro_batches_per_step: float
    gradient_accumulation: float  # mean micro-batches per process per step
    warmup_steps: int
    lr: float
    zero_stage: int
    offload: str
    packing_efficiency: float


def hostfile_slots(path: str) -> list[tuple[str, int]]:
    """(host, slots) pairs of a DeepSpeed hostfile (`host slots=N`; # comments)."""
    hosts = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise LabtaxError(f"{path}: cannot read the hostfile ({exc.strerror})") from None
    for lineno, line in enumerate(lines, 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        host, _, slots = line.partition(" slots=")
        if not slots.strip().isdigit():
            raise LabtaxError(f"{path}:{lineno}:1: expected `HOST slots=N`, got {line!r}")
        hosts.append((host.strip(), int(slots)))
    if not hosts:
        raise LabtaxError(f"{path}: the hostfile lists no host")
    return hosts


def world_size(config: TrainConfig) -> int:
    if config.hostfile:
        return sum(slots for _, slots in hostfile_slots(config.hostfile))
    return config.nproc * config.nnodes


def phase_plan(config: TrainConfig, phase: str, tokenizer: Any, world: int) -> PhasePlan:
    p = config.phases[phase]
    rows = read_phase(config, phase, 0)
    encoded = [encode_row(p.objective, tokenizer, r, None) for r in rows]
    truncated = sum(1 for e in encoded if longest(e) > p.max_seq_len)
    encoded = [encode_row(p.objective, tokenizer, r, p.max_seq_len) for r in rows] if truncated else encoded
    # as epoch 1 trains
    steps = epoch_steps(encoded, p.effective_batch_size, p.budget, world, epoch_seed(config.seed, phase, 1))
    lengths = [len(e) for e in encoded]
    bins = [m for s in steps for r in s.per_rank for m in r if m]
    return PhasePlan(
        phase=phase,
        objective=p.objective,
        model=p.model,
        samples=len(rows),
        validation=len(read_phase(config, phase, 1)),
        replayed=dict(sorted(Counter(r.get("phase", "?") for r in rows if r.get("replayed")).items())),
        tokens=sum(lengths),
        truncated=truncated,
        epochs=p.epochs,
        steps_per_epoch=len(steps),
        optimizer_steps=len(steps) * p.epochs,
        effective_batch_size=p.effective_batch_size,
        micro_batch_tokens=p.budget,
        micro_batches_per_step=round(len(bins) / max(len(steps), 1), 2),
        gradient_accumulation=round(sum(s.accumulation for s in steps) / max(len(steps), 1), 2),
        warmup_steps=p.warmup_steps,
        lr=p.lr,
        zero_stage=p.zero_stage,
        offload=p.offload,
        packing_efficiency=round(packing_efficiency(lengths, bins, config.pad_to_multiple_of), 4),
    )


def make_plan(config: TrainConfig, model_dir: str) -> list[PhasePlan]:
    tokenizer = load_tokenizer(model_dir)
    world = world_size(config)
    return [phase_plan(config, phase, tokenizer, world) for phase in config.schedule]


def plan_json(plans: list[PhasePlan]) -> list[dict[str, Any]]:
    return [asdict(p) for p in plans]
