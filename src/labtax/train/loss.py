"""Summed token cross-entropy straight from the last hidden states, a chunk of tokens at a time.

The plain way, `F.cross_entropy(model(...).logits, labels)`, materialises fp32 logits for every
packed token (2,048 tokens x 49,152 words x 4 bytes = 400 MB for the 135M student), then as much
again for their gradient. Here only the tokens that carry a label go through the output layer,
`chunk` of them at a time: each chunk's logits live only while its loss and its gradients (towards
the hidden states and the output weight) are computed, in the forward pass, so the backward pass
only scales them. Peak extra memory: one chunk of logits plus one output-weight-sized gradient.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from labtax.models.tokenize import IGNORE

CHUNK_TOKENS = 1024


def wide(x: torch.Tensor) -> torch.Tensor:
    """Logits in at least fp32 (bf16 logits lose the softmax's small probabilities)."""
    return x.to(torch.promote_types(x.dtype, torch.float32))


def _chunk_loss_and_grads(
    h: torch.Tensor, weight: torch.Tensor, labels: torch.Tensor, want_grad: bool
) -> tuple[torch.Tensor, ...]:
    logits = wide(h @ weight.t())
    lse = torch.logsumexp(logits, dim=-1)
    loss = (lse - logits.gather(1, labels[:, None]).squeeze(1)).sum()
    if not want_grad:
        return (loss,)
    # d(sum CE)/d logits = softmax - one_hot(label); reuse the logits buffer for it.
    probs = logits.sub_(lse[:, None]).exp_()
    probs[torch.arange(len(labels), device=labels.device), labels] -= 1.0
    probs = probs.to(h.dtype)
    return loss, probs @ weight, probs.t() @ h


class _LinearCrossEntropy(torch.autograd.Function):
    """sum_t CE(hidden_t @ weight.T, label_t); gradients computed chunk by chunk in forward."""

    @staticmethod
    def forward(
        ctx: Any, hidden: torch.Tensor, weight: torch.Tensor, labels: torch.Tensor, chunk: int
    ) -> torch.Tensor:
        total = torch.zeros((), dtype=wide(hidden[:0]).dtype, device=hidden.device)
        grad_h = torch.empty_like(hidden)
        grad_w = wide(torch.zeros_like(weight))
        for start in range(0, len(labels), chunk):
            part = slice(start, start + chunk)
            loss, gh, gw = _chunk_loss_and_grads(hidden[part], weight, labels[part], want_grad=True)
            total += loss
            grad_h[part] = gh
            grad_w += gw
        ctx.save_for_backward(grad_h, grad_w.to(weight.dtype))
        return total

    @staticmethod
    def backward(ctx: Any, grad_out: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        grad_h, grad_w = ctx.saved_tensors
        return grad_h * grad_out.to(grad_h.dtype), grad_w * grad_out.to(grad_w.dtype), None, None


def label_positions(labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Positions t whose next token t+1 carries a label, and those labels (position t predicts t+1)."""
    targets = labels[1:]
    where = (targets != IGNORE).nonzero().squeeze(1)
    return where, targets[where]


def linear_cross_entropy(
    hidden: torch.Tensor, weight: torch.Tensor, labels: torch.Tensor, chunk: int = CHUNK_TOKENS
) -> torch.Tensor:
    """Summed cross-entropy of `hidden @ weight.T` against `labels` (one row per token, no IGNORE)."""
    if torch.is_grad_enabled() and (hidden.requires_grad or weight.requires_grad):
        return _LinearCrossEntropy.apply(hidden, weight, labels, chunk)
    total = torch.zeros((), dtype=wide(hidden[:0]).dtype, device=hidden.device)
    for start in range(0, len(labels), chunk):
        part = slice(start, start + chunk)
        total += _chunk_loss_and_grads(hidden[part], weight, labels[part], want_grad=False)[0]
    return total


def plain_cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The reference: summed fp32 cross-entropy of one packed row's logits, shifted by one."""
    return F.cross_entropy(wide(logits[:-1]), labels[1:], ignore_index=IGNORE, reduction="sum")
