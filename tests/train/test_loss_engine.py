"""The chunked loss against plain cross-entropy, and the plain-torch engine against DeepSpeed."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from labtax.models.tokenize import IGNORE
from labtax.train.loss import label_positions, linear_cross_entropy, plain_cross_entropy


def reference_and_chunked(n: int, chunk: int, seed: int = 0) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Loss and gradients (hidden, weight) both ways on the same random batch."""
    gen = torch.Generator().manual_seed(seed)
    hidden = torch.randn(n, 16, generator=gen, dtype=torch.float64)
    weight = torch.randn(50, 16, generator=gen, dtype=torch.float64)
    labels = torch.randint(0, 50, (n,), generator=gen)
    labels[::3] = IGNORE  # prompt tokens
    out = []
    for chunked in (False, True):
        h, w = hidden.clone().requires_grad_(), weight.clone().requires_grad_()
        if chunked:
            where, targets = label_positions(labels)
            loss = linear_cross_entropy((h * 1.5)[:-1][where], w, targets, chunk=chunk)
        else:
            loss = plain_cross_entropy((h * 1.5) @ w.t(), labels)
        (loss * 0.7).backward()
        out.append([loss.detach(), h.grad, w.grad])
    return out[0], out[1]


@pytest.mark.parametrize(("n", "chunk"), [(37, 8), (37, 1024), (2, 1)])
def test_chunked_loss_and_gradients_equal_plain_cross_entropy(n: int, chunk: int) -> None:
    plain, chunked = reference_and_chunked(n, chunk)
    for a, b in zip(plain, chunked, strict=True):
        assert torch.allclose(a, b, rtol=1e-10, atol=1e-12)
    assert plain[0] > 0


def test_no_label_gives_zero_loss_and_zero_gradient() -> None:
    hidden = torch.randn(5, 4, requires_grad=True)
    where, targets = label_positions(torch.full((6,), IGNORE))
    loss = linear_cross_entropy(hidden[where], torch.randn(7, 4), targets)
    loss.backward()
    assert loss.item() == 0 and not hidden.grad.any()


def test_without_grad_the_loss_is_the_same(project: Path) -> None:
    gen = torch.Generator().manual_seed(1)
    hidden, weight = torch.randn(30, 8, generator=gen), torch.randn(40, 8, generator=gen)
    labels = torch.randint(0, 40, (30,), generator=gen)
    with torch.no_grad():
        fast = linear_cross_entropy(hidden, weight, labels, chunk=7)
    assert fast.item() == pytest.approx(
        F.cross_entropy(hidden @ weight.t(), labels, reduction="sum").item(), rel=1e-5
    )


# ---- the recipe's loss on a real (tiny) model; whole runs with each engine --------------------------


def test_recipe_loss_equals_cross_entropy_of_the_model_logits(project: Path) -> None:
    """The label-only chunked loss of a packed micro-batch, and its gradients, equal the plain path."""
    from transformers import AutoModelForCausalLM

    from labtax.models.tokenize import load_tokenizer
    from labtax.train.data import encode_file
    from labtax.train.packing import collate

    tok = load_tokenizer(str(project / "model"))
    samples = encode_file(project / "data" / "kt1.jsonl", tok, 96)[:4]
    batch = {k: torch.tensor(v) for k, v in collate(samples, 8, tok.pad_token_id).items()}
    inputs = {"input_ids": batch["input_ids"], "position_ids": batch["position_ids"], "use_cache": False}
    model = AutoModelForCausalLM.from_pretrained(project / "model", dtype=torch.float64)
    results = []
    for chunked in (False, True):
        model.zero_grad()
        if chunked:
            where, targets = label_positions(batch["labels"][0])
            hidden = model.get_decoder()(**inputs).last_hidden_state[0]
            loss = linear_cross_entropy(
                hidden[where], model.get_output_embeddings().weight, targets, chunk=16
            )
        else:
            loss = plain_cross_entropy(model(**inputs).logits[0], batch["labels"][0])
        loss.backward()
        results.append((loss.item(), [p.grad.clone() for p in model.parameters()]))
    (plain, plain_grads), (fast, fast_grads) = results
    assert fast == pytest.approx(plain, rel=1e-9) and plain > 0
    assert all(
        torch.allclose(a, b, rtol=1e-7, atol=1e-10) for a, b in zip(plain_grads, fast_grads, strict=True)
    )
