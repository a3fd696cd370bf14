"""Label masking through the chat template, packing, and packed attention (no DeepSpeed)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from labtax.models.tokenize import (
    IGNORE,
    Encoded,
    assistant_spans,
    encode_chat,
    load_tokenizer,
)
from labtax.train.packing import (
    collate,
    epoch_steps,
    pack,
    packing_efficiency,
    padding_efficiency,
    spread,
)

CONVERSATION = [
    {"role": "system", "content": "Answer briefly."},
    {"role": "user", "content": "How many legs does a spider have?"},
    {"role": "assistant", "content": "Eight."},
    {"role": "user", "content": "Which planet is the largest?"},
    {"role": "assistant", "content": "Jupiter."},
]


@pytest.fixture(scope="module")
def tok(project: Path):
    return load_tokenizer(str(project / "model"))


def test_masked_labels_cover_exactly_the_non_assistant_tokens(tok) -> None:
    enc = encode_chat(tok, CONVERSATION)
    text, spans = assistant_spans(tok, CONVERSATION)
    offsets = tok(text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    for token, label, (begin, end) in zip(enc.input_ids, enc.labels, offsets, strict=True):
        inside = any(s <= begin and end <= e for s, e in spans)
        assert (label == token) if inside else (label == IGNORE)
    kept = tok.decode([t for t, label in zip(enc.input_ids, enc.labels, strict=False) if label != IGNORE])
    assert kept == "Eight.<|im_end|>\nJupiter.<|im_end|>\n"
    masked = tok.decode([t for t, label in zip(enc.input_ids, enc.labels, strict=False) if label == IGNORE])
    assert "spider" in masked and "Answer briefly." in masked and "Eight" not in masked


def test_truncation_keeps_ids_and_labels_aligned(tok) -> None:
    enc = encode_chat(tok, CONVERSATION, max_len=10)
    assert len(enc.input_ids) == len(enc.labels) == 10


@pytest.mark.parametrize("attn", ["sdpa", "eager"])
def test_packed_samples_do_not_attend_to_each_other(project: Path, tok, attn: str) -> None:
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(project / "model", attn_implementation=attn).eval()
    a = encode_chat(tok, CONVERSATION[1:3])
    b = encode_chat(tok, CONVERSATION[3:5])

    def logits(samples: list[Encoded]) -> torch.Tensor:
        batch = collate(samples, 1, tok.pad_token_id)
        with torch.no_grad():
            return model(
                input_ids=torch.tensor(batch["input_ids"]),
                position_ids=torch.tensor(batch["position_ids"]),
                use_cache=False,
            ).logits[0]

    packed = logits([a, b])
    assert torch.allclose(packed[len(a) :], logits([b]), atol=1e-5)
    assert torch.allclose(packed[: len(a)], logits([a]), atol=1e-5)


def test_pack_respects_the_budget_and_places_every_sample_once() -> None:
    lengths = [50, 30, 70, 20, 90, 10, 60]
    bins = pack(lengths, range(len(lengths)), 100)
    assert sorted(i for b in bins for i in b) == list(range(len(lengths)))
    assert all(sum(lengths[i] for i in b) <= 100 for b in bins)
    assert bins == [(4, 5), (2, 1), (6, 3), (0,)]  # first fit, longest first: 100, 100, 80, 50 tokens
    assert packing_efficiency(lengths, bins) == 1.0
    assert packing_efficiency(lengths, bins, multiple=64) == pytest.approx(330 / (128 + 128 + 128 + 64))
    assert padding_efficiency(lengths, 2) == pytest.approx(330 / (2 * 50 + 2 * 70 + 2 * 90 + 60))


def test_spread_gives_every_rank_the_same_number_of_micro_batches() -> None:
    per_rank = spread([(0,), (1,), (2,)], 2)
    assert per_rank == (((0,), (2,)), ((1,), ()))
    filler = collate([], 8, 0)
    assert len(filler["input_ids"][0]) == 8 and set(filler["labels"][0]) == {IGNORE}


def test_steps_follow_the_effective_batch_and_the_seed() -> None:
    samples = [Encoded([1] * n, [IGNORE] + [1] * (n - 1)) for n in (5, 9, 3, 7, 11, 4, 6)]
    steps = epoch_steps(samples, 3, 16, 2, seed=1)
    assert [s.samples for s in steps] == [3, 3, 1]
    assert sum(s.targets for s in steps) == sum(x.n_targets for x in samples)
    assert steps == epoch_steps(samples, 3, 16, 2, seed=1)
    assert steps != epoch_steps(samples, 3, 16, 2, seed=2)
    for s in steps:
        assert len({len(r) for r in s.per_rank}) == 1
