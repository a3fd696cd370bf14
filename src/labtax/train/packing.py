"""Token-budgeted micro-batches with no attention across sample boundaries.

Samples of one optimizer step are packed first-fit-decreasing into micro-batches of at most
`budget` tokens. A micro-batch is one row: the samples back to back, `position_ids` restarting
at 0 for each one. transformers turns restarting positions into a block-diagonal causal mask
(sdpa/eager) or varlen boundaries (flash attention), so no token sees another sample.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

from labtax.models.tokenize import IGNORE, Encoded


@dataclass(frozen=True)
class Step:
    """One optimizer step: for each rank, its micro-batches (tuples of sample indices; () = filler)."""

    per_rank: tuple[tuple[tuple[int, ...], ...], ...]
    samples: int
    targets: int  # label tokens in the whole step, over all ranks: the loss denominator

    @property
    def accumulation(self) -> int:
        """Micro-batches each rank runs before the optimizer steps (gradient accumulation)."""
        return len(self.per_rank[0])


def pack(lengths: Sequence[int], indices: Sequence[int], budget: int) -> list[tuple[int, ...]]:
    """First-fit-decreasing bins of sample indices whose lengths sum to at most `budget`."""
    bins: list[list[int]] = []
    room: list[int] = []
    for i in sorted(indices, key=lambda j: (-lengths[j], j)):
        for b, free in enumerate(room):
            if lengths[i] <= free:
                bins[b].append(i)
                room[b] -= lengths[i]
                break
        else:
            bins.append([i])
            room.append(budget - lengths[i])
    return [tuple(b) for b in bins]


def spread(bins: list[tuple[int, ...]], world: int) -> tuple[tuple[tuple[int, ...], ...], ...]:
    """Deal micro-batches round-robin over ranks; ranks with fewer get empty fillers, because
    every rank must run the same number of forward/backward passes (ZeRO collectives)."""
    per_rank = [bins[r::world] for r in range(world)]
    depth = max(1, max(len(p) for p in per_rank))
    return tuple(tuple(p) + ((),) * (depth - len(p)) for p in per_rank)


def epoch_steps(
    samples: Sequence[Encoded], batch_size: int, budget: int, world: int, seed: int
) -> list[Step]:
    """The optimizer steps of one epoch: a seeded shuffle cut into `batch_size`-sample steps."""
    order = list(range(len(samples)))
    random.Random(seed).shuffle(order)
    lengths = [len(s) for s in samples]
    steps = []
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        targets = sum(samples[i].n_targets for i in chunk)
        steps.append(Step(spread(pack(lengths, chunk, budget), world), len(chunk), targets))
    return steps


def eval_batches(
    samples: Sequence[Encoded], budget: int, world: int
) -> tuple[tuple[tuple[int, ...], ...], ...]:
    """Validation micro-batches per rank (no shuffle: the same split every epoch)."""
    return spread(pack([len(s) for s in samples], range(len(samples)), budget), world)


def padded(length: int, multiple: int) -> int:
    return math.ceil(length / multiple) * multiple if multiple > 1 else length


def collate(samples: Sequence[Encoded], multiple: int, pad_id: int) -> dict[str, list[list[int]]]:
    """One packed row: ids, per-sample position ids and labels, padded to `multiple` tokens.

    An empty `samples` gives a one-token filler whose labels are all IGNORE (zero loss, zero gradient).
    """
    ids: list[int] = []
    pos: list[int] = []
    labels: list[int] = []
    for s in samples:
        ids += s.input_ids
        labels += s.labels
        pos += range(len(s))
    pad = padded(max(len(ids), 1), multiple) - len(ids)
    ids += [pad_id] * pad
    labels += [IGNORE] * pad
    pos += range(pad)  # the padding is its own segment, so nothing attends to it
    return {"input_ids": [ids], "position_ids": [pos], "labels": [labels]}


def packing_efficiency(lengths: Sequence[int], bins: Sequence[Sequence[int]], multiple: int = 1) -> float:
    """Real tokens / processed tokens for packed micro-batches."""
    real = sum(lengths[i] for b in bins for i in b)
    processed = sum(padded(sum(lengths[i] for i in b), multiple) for b in bins if b)
    return real / processed if processed else 1.0


def padding_efficiency(lengths: Sequence[int], batch_size: int) -> float:
    """Real tokens / processed tokens for plain padded batches of `batch_size` samples in order."""
    real = sum(lengths)
    processed = sum(
        max(lengths[i : i + batch_size]) * len(lengths[i : i + batch_size])
        for i in range(0, len(lengths), batch_size)
    )
    return real / processed if processed else 1.0


def epoch_seed(seed: int, phase: str, epoch: int) -> int:
    """A stable per-(phase, epoch) shuffle seed (Python's hash() of str is salted per process)."""
    return seed * 1_000_003 + sum(ord(c) * 31**i for i, c in enumerate(phase)) * 1009 + epoch
