"""The embedded teacher's choices over nested labels ("1" and "10", the judge's grades) on a tiny random
Llama whose tokenizer writes "10" as "1" then "0" (as SmolLM2's does). Steering its logits makes its
own greedy reply a chosen grade: the mechanism that reads the grade, not the model, is under test."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest

pytest.importorskip("transformers", reason="the embedded teacher needs labtax[embedded]")

from labtax.eval.judge import GRADES, expected_grade  # noqa: E402
from labtax.models.embedded_teacher import EmbeddedTeacher  # noqa: E402
from labtax.models.teacher import Choice  # noqa: E402
from tests.train import tiny  # noqa: E402

MESSAGES = [{"role": "user", "content": "Grade the answer."}]
PREFIX = "Rating: "


@pytest.fixture(scope="module")
def student(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = tiny.make_model(tmp_path_factory.mktemp("student"))
    tokenizer = AutoTokenizer.from_pretrained(folder)
    assert tokenizer.tokenize(" 10") == ["Ġ", "1", "0"]  # "1" begins "10" in tokens too
    return AutoModelForCausalLM.from_pretrained(folder).eval(), tokenizer


def steered(model: Any, tokenizer: Any, reply: str) -> Any:
    """The model, pushed to write `reply` after "Rating: ": each token of " <reply>" strongly prefers
    the next one, and the last prefers the end of turn."""
    import torch

    chain = [tokenizer.convert_tokens_to_ids(t) for t in tokenizer.tokenize(" " + reply)]
    after = dict(zip(chain, [*chain[1:], tokenizer.convert_tokens_to_ids("<|im_end|>")], strict=True))

    class Steered(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = model

        def forward(self, input_ids: Any, **inputs: Any) -> Any:
            out = self.inner(input_ids=input_ids, **inputs)
            for token, preferred in after.items():
                out.logits[..., preferred] += 30.0 * (input_ids == token)
            return out

    return Steered()


def ask(model: Any, tokenizer: Any, options: list[str]) -> tuple[str, Choice]:
    """The model's greedy reply after the prefix, and its choice among `options`."""

    async def go() -> tuple[str, Choice]:
        teacher = EmbeddedTeacher({"embedded_batch": 1})
        teacher._model, teacher._tokenizer = model, tokenizer  # loaded: no embedded model needed
        try:
            reply = await teacher.complete(MESSAGES, PREFIX, {"temperature": 0.0, "max_tokens": 4, "seed": 1})
            return reply.text, await teacher.choose(MESSAGES, PREFIX, options)
        finally:
            await teacher.close()

    return asyncio.run(go())


@pytest.mark.parametrize("grade", ["10", "1", "9"])
def test_the_grade_the_model_writes_is_the_grade_read(student: tuple[Any, Any], grade: str) -> None:
    model, tokenizer = student
    reply, choice = ask(steered(model, tokenizer, grade), tokenizer, GRADES)
    assert reply == grade  # what the model itself writes
    assert choice.label == grade  # before the split, a written "10" was read as "1"
    assert expected_grade(choice.logprobs) == pytest.approx(int(grade), abs=0.05)


def test_a_first_1_is_split_between_1_and_10(student: tuple[Any, Any]) -> None:
    """p(1) + p(10) is the probability of a first "1"; p(10) that of "1" then "0" (a direct forward pass)."""
    import torch

    model, tokenizer = student
    _, choice = ask(model, tokenizer, GRADES)
    assert choice.logprobs is not None
    text = str(tokenizer.apply_chat_template(MESSAGES, tokenize=False, add_generation_prompt=True))
    ids = tokenizer(text + "Rating: 10", add_special_tokens=False).input_ids
    with torch.no_grad():
        logprobs = torch.log_softmax(model(input_ids=torch.tensor([ids])).logits[0].float(), dim=-1)
    space, one, zero = (float(logprobs[len(ids) - 4 + i, ids[len(ids) - 3 + i]]) for i in range(3))
    first_one = math.exp(space + one)
    assert math.exp(choice.logprobs["1"]) + math.exp(choice.logprobs["10"]) == pytest.approx(
        first_one, rel=1e-4
    )
    assert choice.logprobs["10"] == pytest.approx(space + one + zero, abs=1e-4)


def test_labels_no_one_of_which_begins_another_are_read_as_before(student: tuple[Any, Any]) -> None:
    """Generate's judges (1-3, yes/no): each label's log-probability as the next token after the space
    the labels share, exactly as before the split reading (so their cached results stay valid)."""
    import torch

    model, tokenizer = student
    _, choice = ask(model, tokenizer, ["1", "2", "3"])
    text = str(tokenizer.apply_chat_template(MESSAGES, tokenize=False, add_generation_prompt=True))
    ids = tokenizer(text + "Rating: ", add_special_tokens=False).input_ids
    with torch.no_grad():
        last = torch.log_softmax(model(input_ids=torch.tensor([ids])).logits[0, -1].float(), dim=-1)
    digits = {d: float(last[tokenizer.convert_tokens_to_ids(d)]) for d in "123"}
    assert choice.logprobs == pytest.approx(digits, abs=1e-5)
