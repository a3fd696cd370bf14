"""Batched sampling for the embedded teacher, with one random generator per row.

transformers' `generate` draws every row from the global RNG, so a row's text would depend on
which other prompts shared its batch. Here each row has its own `torch.Generator` seeded from
its call, its own temperature, top_p and token budget, and stops at end of turn.
"""

from __future__ import annotations

import warnings
from threading import Event
from typing import Any


class Stopped(Exception):
    """Decoding was asked to stop (Ctrl-C): the batch is dropped, nothing is answered or cached."""


def sample_batch(
    model: Any, tokenizer: Any, texts: list[str], params: list[dict[str, Any]], halt: Event | None = None
) -> tuple[list[list[int]], list[int]]:
    """New token ids per row, and each row's prompt length (left-padded batch, KV cache).
    When `halt` is set, decoding ends at the next token by raising Stopped."""
    with warnings.catch_warnings():
        # transformers' deprecation notices (past_key_values, ...) are raised here on every step and
        # would break a live display; they concern its internals, not the user's input.
        warnings.filterwarnings(
            "ignore", category=FutureWarning, message=r".*is deprecated and will be removed in"
        )
        return _sample_batch(model, tokenizer, texts, params, halt)


def _sample_batch(
    model: Any, tokenizer: Any, texts: list[str], params: list[dict[str, Any]], halt: Event | None
) -> tuple[list[list[int]], list[int]]:
    # torch loads in seconds: imported only where a model runs
    import torch

    encoded = tokenizer(
        texts, return_tensors="pt", padding=True, padding_side="left", add_special_tokens=False
    )
    attention = encoded.attention_mask
    lengths = [int(n) for n in attention.sum(dim=1)]
    generators = [torch.Generator().manual_seed(int(p.get("seed", 0))) for p in params]
    budgets = [int(p["max_tokens"]) for p in params]
    stop = {tokenizer.eos_token_id, tokenizer.convert_tokens_to_ids("<|im_end|>")}
    rows: list[list[int]] = [[] for _ in texts]
    done = [False] * len(texts)
    inputs, past = encoded.input_ids, None
    positions = (attention.cumsum(dim=1) - 1).clamp(min=0)
    with torch.no_grad():
        for _ in range(max(budgets)):
            if halt is not None and halt.is_set():
                raise Stopped
            out = model(
                input_ids=inputs,
                attention_mask=attention,
                position_ids=positions,
                past_key_values=past,
                use_cache=True,
            )
            past, logits = out.past_key_values, out.logits[:, -1, :].float()
            chosen = []
            for i, row in enumerate(rows):
                token = _pick(logits[i], params[i], generators[i]) if not done[i] else tokenizer.eos_token_id
                if not done[i]:
                    if token in stop:
                        done[i] = True
                    else:
                        row.append(token)
                        done[i] = len(row) >= budgets[i]
                chosen.append(token)
            if all(done):
                break
            inputs = torch.tensor(chosen).unsqueeze(1)
            attention = torch.cat([attention, torch.ones((len(rows), 1), dtype=attention.dtype)], dim=1)
            positions = positions[:, -1:] + 1
    return rows, lengths


def _pick(logits: Any, params: dict[str, Any], generator: Any) -> int:
    """Greedy at temperature 0, else nucleus sampling with the row's generator."""
    # torch loads in seconds: imported only where a model runs
    import torch

    temperature = float(params.get("temperature", 0.0))
    if temperature <= 0:
        return int(torch.argmax(logits))
    probs = torch.softmax(logits / temperature, dim=-1)
    top_p = float(params.get("top_p", 1.0))
    if top_p < 1.0:
        ordered, order = torch.sort(probs, descending=True)
        outside = ordered.cumsum(dim=0) - ordered > top_p  # keep the smallest set reaching top_p
        ordered[outside] = 0.0
        probs = torch.zeros_like(probs).scatter(0, order, ordered)
    return int(torch.multinomial(probs, 1, generator=generator))
