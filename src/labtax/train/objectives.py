"""The three things a phase can optimise, on packed micro-batches.

| objective | a unit is        | loss (mean over units)                                              |
| sft       | one label token  | cross-entropy of the answer tokens                                  |
| reward    | one pair         | -log sigmoid(r_w - r_l) + reward_l2 * (r_w^2 + r_l^2)
                                 (the STEM-tutor paper's) |
| dpo       | one pair         | -log sigmoid(beta * ((pi_w - ref_w) - (pi_l - ref_l)))  on answer tokens |

A pair is packed as two samples, prompt+chosen and prompt+rejected, back to back with the others
of its micro-batch (no attention across samples, labtax.train.packing). Each objective returns,
for one micro-batch, the summed loss to backpropagate and a vector of summed statistics (loss
first); the recipe divides both by the units of the whole step, whatever the accumulation and the
number of processes.

DPO's reference is the phase's starting checkpoint: its log-probabilities are computed once,
before the first step, by the same model (it is still the reference then), so no second model
sits in memory while training.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

from labtax.models.tokenize import Encoded, encode_chat
from labtax.train.loss import CHUNK_TOKENS, label_positions, linear_cross_entropy, wide
from labtax.train.packing import collate


@dataclass(frozen=True)
class Pair:
    """A tokenized preference pair; packing sees it as one sample of both answers' length."""

    chosen: Encoded
    rejected: Encoded

    def __len__(self) -> int:
        return len(self.chosen) + len(self.rejected)

    @property
    def n_targets(self) -> int:
        return 1  # the preference losses are means over pairs

    def sequences(self) -> tuple[Encoded, Encoded]:
        return self.chosen, self.rejected


def encode_row(objective: str, tokenizer: Any, row: dict[str, Any], max_len: int | None) -> Encoded | Pair:
    """One training row as the objective sees it: a chat sample (sft) or a pair whose labels cover
    the answer only (the prompt's earlier assistant turns carry none)."""
    if objective == "sft":
        return encode_chat(tokenizer, row["messages"], max_len)
    prompt = row["prompt"]
    return Pair(
        *(
            encode_chat(tokenizer, prompt + row[side], max_len, last_only=True)
            for side in ("chosen", "rejected")
        )
    )


def longest(unit: Encoded | Pair) -> int:
    """Tokens of the longest sequence in a unit (what max_seq_len truncates)."""
    return max(len(s) for s in unit.sequences()) if isinstance(unit, Pair) else len(unit)


# ---- the packed micro-batch ---------------------------------------------------------------------


def _inputs(ctx: Any, sequences: Sequence[Encoded]) -> dict[str, torch.Tensor]:
    pad = ctx.tokenizer.pad_token_id if ctx.tokenizer.pad_token_id is not None else 0
    batch = collate(sequences, ctx.config.pad_to_multiple_of, pad)
    return {k: torch.tensor(v, device=ctx.device) for k, v in batch.items()}


def whole_output_layer(ctx: Any, model: Any) -> torch.Tensor | None:
    """The output layer's weight when the loss may be taken from the hidden states: a plain
    bias-free linear head over whole (not ZeRO-3-partitioned) weights, logits not post-processed."""
    head = model.get_output_embeddings()
    partitioned = ctx.phase.zero_stage == 3 and not ctx.plain
    plain_head = isinstance(head, torch.nn.Linear) and head.bias is None
    rescaled = any(getattr(model.config, k, None) for k in ("final_logit_softcapping", "logit_scale"))
    return head.weight if plain_head and not partitioned and not rescaled else None


def _label_hidden(
    ctx: Any, engine: Any, batch: dict[str, torch.Tensor]
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor]:
    """(label positions, their targets, the output weight, and either the hidden states of those
    positions (whole weights) or their logits (ZeRO-3: the model's own head, label positions only))."""
    # Position t predicts token t+1; the shift never crosses a sample since each starts with a prompt token.
    where, targets = label_positions(batch["labels"][0])
    inputs = {"input_ids": batch["input_ids"], "position_ids": batch["position_ids"], "use_cache": False}
    weight = whole_output_layer(ctx, engine.module)
    if weight is not None:
        return where, targets, weight, engine.module.get_decoder()(**inputs).last_hidden_state[0][where]
    return where, targets, None, engine(**inputs, logits_to_keep=where).logits[0]


# ---- sft ----------------------------------------------------------------------------------------


def sft_micro(ctx: Any, engine: Any, units: list[Encoded], split: str) -> tuple[torch.Tensor, torch.Tensor]:  # noqa: ARG001
    """Summed cross-entropy over the label tokens of one packed micro-batch.

    Only label positions reach the output layer: prompt tokens never get vocabulary logits. With
    whole weights the loss comes chunk by chunk from the hidden states (labtax.train.loss)."""
    _, targets, weight, states = _label_hidden(ctx, engine, _inputs(ctx, units))
    total = (
        linear_cross_entropy(states, weight, targets)
        if weight is not None
        else F.cross_entropy(states.float(), targets, reduction="sum")
    )
    return total, total.detach().double().cpu().reshape(1)


# ---- per-sequence sums ----------------------------------------------------------------------------


def _chunk_logps(hidden: torch.Tensor, weight: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    logits = wide(hidden @ weight.t())
    return logits.gather(1, targets[:, None]).squeeze(1) - torch.logsumexp(logits, dim=-1)


def token_logps(
    hidden: torch.Tensor, weight: torch.Tensor, targets: torch.Tensor, chunk: int = CHUNK_TOKENS
) -> torch.Tensor:
    """log p(target) per token from the hidden states, `chunk` tokens at a time; under autograd
    each chunk's logits are recomputed in the backward pass instead of kept (one chunk at a time)."""
    parts = []
    for start in range(0, len(targets), chunk):
        part = slice(start, start + chunk)
        if torch.is_grad_enabled():
            parts.append(checkpoint(_chunk_logps, hidden[part], weight, targets[part], use_reentrant=False))
        else:
            parts.append(_chunk_logps(hidden[part], weight, targets[part]))
    return torch.cat(parts) if parts else hidden.new_zeros(0, dtype=torch.float32)


def _segments(sequences: Sequence[Encoded], device: torch.device) -> torch.Tensor:
    """For every token of the packed row (padding excluded), the index of its sequence."""
    lengths = torch.tensor([len(s) for s in sequences], device=device, dtype=torch.long)
    return torch.repeat_interleave(torch.arange(len(sequences), device=device), lengths)


def sequence_logps(ctx: Any, engine: Any, sequences: Sequence[Encoded]) -> torch.Tensor:
    """Summed log-probability of each sequence's label tokens (its answer), one value per sequence."""
    batch = _inputs(ctx, sequences)
    where, targets, weight, states = _label_hidden(ctx, engine, batch)
    if weight is not None:
        logps = token_logps(states, weight, targets)
    else:
        logps = torch.log_softmax(wide(states), dim=-1).gather(1, targets[:, None]).squeeze(1)
    owner = _segments(sequences, ctx.device)[where + 1]
    return torch.zeros(len(sequences), dtype=logps.dtype, device=ctx.device).index_add(0, owner, logps)


def sequence_rewards(ctx: Any, engine: Any, sequences: Sequence[Encoded]) -> torch.Tensor:
    """The reward model's score of each sequence: the score head on its last token (what
    AutoModelForSequenceClassification reads for an unpadded sequence).

    The model's own forward runs (ZeRO-3 gathers and releases weights around it); its pooled
    output reads one position of the packed row, so the head's output at every position is taken
    from a hook instead and the last token of each sequence is read from it."""
    batch = _inputs(ctx, sequences)
    seen: list[torch.Tensor] = []
    hook = engine.module.score.register_forward_hook(lambda _module, _args, out: seen.append(out))
    try:
        engine(input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False)
    finally:
        hook.remove()
    last = torch.cumsum(torch.tensor([len(s) for s in sequences], device=ctx.device), 0) - 1
    return wide(seen[0][0, last, 0])


def _pairs(units: Sequence[Pair]) -> list[Encoded]:
    return [s for pair in units for s in pair.sequences()]


# ---- reward ------------------------------------------------------------------------------------


def reward_loss(chosen: torch.Tensor, rejected: torch.Tensor, l2: float) -> torch.Tensor:
    """Per pair: -log sigmoid(r_w - r_l) + l2 * (r_w^2 + r_l^2)."""
    return -F.logsigmoid(chosen - rejected) + l2 * (chosen.square() + rejected.square())


def reward_micro(ctx: Any, engine: Any, units: list[Pair], split: str) -> tuple[torch.Tensor, torch.Tensor]:  # noqa: ARG001
    """Summed pairwise loss of a micro-batch; statistics: loss, correct pairs, summed margin."""
    if not units:  # a filler: every rank runs the same number of forward passes
        return _filler(ctx, engine, 3)
    rewards = sequence_rewards(ctx, engine, _pairs(units))
    chosen, rejected = rewards[0::2], rewards[1::2]
    losses = reward_loss(chosen, rejected, ctx.phase.reward_l2)
    stats = torch.stack([losses.sum(), (chosen > rejected).sum(), (chosen - rejected).sum()])
    return losses.sum(), stats.detach().double().cpu()


# ---- dpo ----------------------------------------------------------------------------------------


def dpo_loss(
    policy: torch.Tensor, reference: torch.Tensor, beta: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per pair, from (pairs, 2) log-probabilities [chosen, rejected]: the DPO loss and the implicit
    rewards of the chosen and the rejected answer, beta * (policy - reference)."""
    rewards = beta * (policy - reference.to(policy.dtype))
    return -F.logsigmoid(rewards[:, 0] - rewards[:, 1]), rewards[:, 0], rewards[:, 1]


def dpo_micro(ctx: Any, engine: Any, units: list[int], split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Summed DPO loss of a micro-batch (units are pair indices into the split, so the reference
    log-probabilities can be looked up); statistics: loss, correct pairs, chosen and rejected
    rewards, margin."""
    if not units:
        return _filler(ctx, engine, 5)
    pairs = [ctx.split(split)[i] for i in units]
    policy = sequence_logps(ctx, engine, _pairs(pairs)).view(-1, 2)
    losses, chosen, rejected = dpo_loss(
        policy, ctx.reference[split][list(units)].to(ctx.device), ctx.phase.dpo_beta
    )
    stats = torch.stack(
        [losses.sum(), (chosen > rejected).sum(), chosen.sum(), rejected.sum(), (chosen - rejected).sum()]
    )
    return losses.sum(), stats.detach().double().cpu()


def _filler(ctx: Any, engine: Any, n_stats: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A one-token forward pass whose loss and gradients are zero, yet reach every weight the real
    loss reaches: all ranks then run the same passes and reduce the same gradients (ZeRO)."""
    if ctx.objective.name == "reward":
        loss = sequence_rewards(ctx, engine, [Encoded([ctx.tokenizer.pad_token_id or 0], [-100])]).sum() * 0.0
    else:
        # cross-entropy over no token: 0, with zero gradients everywhere
        loss = sft_micro(ctx, engine, [], "train")[0]
    return loss, torch.zeros(n_stats, dtype=torch.float64)


@torch.no_grad()
def reference_logps(
    ctx: Any, engine: Any, units: Sequence[Pair], batches: Sequence[Sequence[int]]
) -> torch.Tensor:
    """(pairs, 2) log-probabilities of the chosen and rejected answers under the model as it is now,
    for this rank's `batches` of pair indices (zeros elsewhere; the caller sums over ranks)."""
    out = torch.zeros(len(units), 2, dtype=torch.float64)
    for micro in batches:
        if not micro:
            _filler(ctx, engine, 0)
            continue
        out[list(micro)] = (
            sequence_logps(ctx, engine, _pairs([units[i] for i in micro])).view(-1, 2).double().cpu()
        )
    return out


@dataclass(frozen=True)
class Objective:
    """What the recipe needs to know of an objective: its micro-batch function and the names of
    its statistics (loss first), which become per-step metrics and validation figures."""

    name: str
    micro: Callable[[Any, Any, list[Any], str], tuple[torch.Tensor, torch.Tensor]]
    stats: tuple[str, ...]
    by_index: bool = False  # the micro function takes indices (dpo: the reference is looked up by index)


OBJECTIVES = {
    "sft": Objective("sft", sft_micro, ("loss",)),
    "reward": Objective("reward", reward_micro, ("loss", "accuracy", "margin")),
    "dpo": Objective(
        "dpo", dpo_micro, ("loss", "accuracy", "chosen_reward", "rejected_reward", "margin"), by_index=True
    ),
}
