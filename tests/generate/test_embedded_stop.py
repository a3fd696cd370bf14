"""Ctrl-C with the embedded teacher: decoding stops at the next token and close() returns at once
(a tiny random Llama stands in for SmolLM2: the mechanism, not the model, is under test)."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

pytest.importorskip("transformers", reason="the embedded teacher needs labtax[embedded]")

from labtax.models.decode import Stopped, sample_batch  # noqa: E402
from labtax.models.embedded_teacher import EmbeddedTeacher  # noqa: E402
from tests.train import tiny  # noqa: E402


@pytest.fixture(scope="module")
def student(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, object]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = tiny.make_model(tmp_path_factory.mktemp("student"))
    return AutoModelForCausalLM.from_pretrained(folder).eval(), AutoTokenizer.from_pretrained(folder)


def test_decoding_stops_at_the_next_token(student: tuple[object, object]) -> None:
    model, tokenizer = student
    stop = threading.Event()
    rows, _ = sample_batch(model, tokenizer, ["hello"], [{"max_tokens": 3, "seed": 1}], stop)
    assert 1 <= len(rows[0]) <= 3  # not set: decodes
    stop.set()
    with pytest.raises(Stopped):
        sample_batch(model, tokenizer, ["hello"], [{"max_tokens": 3, "seed": 1}], stop)


def never_ending(model: object, tokenizer: object) -> object:
    """The model with its end-of-turn tokens masked out: it decodes until its token budget."""
    import torch

    ends = [tokenizer.eos_token_id, tokenizer.convert_tokens_to_ids("<|im_end|>")]

    class NeverEnding(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = model

        def forward(self, **inputs: object) -> object:
            out = self.inner(**inputs)
            out.logits[..., ends] = float("-inf")
            return out

    return NeverEnding()


def test_close_during_a_long_decode_returns_within_two_seconds(student: tuple[object, object]) -> None:
    model, tokenizer = student
    teacher = EmbeddedTeacher({"embedded_batch": 1})
    teacher._model, teacher._tokenizer = never_ending(model, tokenizer), tokenizer  # loaded: decodes at once

    async def scenario() -> tuple[float, BaseException | None]:
        params = {"max_tokens": 200_000, "temperature": 1.0, "top_p": 1.0, "seed": 3}  # minutes of decoding
        call = asyncio.ensure_future(teacher.complete([{"role": "user", "content": "go on"}], "", params))
        await asyncio.sleep(0.5)
        assert not call.done()
        started = time.monotonic()
        await asyncio.wait_for(teacher.close(), timeout=20)
        took = time.monotonic() - started
        error = await asyncio.gather(call, return_exceptions=True)
        return took, error[0] if isinstance(error[0], BaseException) else None

    took, error = asyncio.run(scenario())
    assert took < 2.5
    assert isinstance(error, Stopped)
