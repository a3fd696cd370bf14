"""The embedded teacher: SmolLM2-135M-Instruct run in-process with transformers.

The model is tiny, so structure comes from decoding: the reply prefix is written into the
prompt after the chat template's assistant header (the model continues it), and a choice
is the option with the highest log-probability as the reply's next tokens. Calls run one
at a time in a worker thread (torch already uses every core), seeded per call so that the
same call gives the same text.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from labtax.embedded import MODEL_NAME, embedded_model_dir
from labtax.errors import MissingExtraError
from labtax.generate.teacher import Choice, Completion, Messages


class EmbeddedTeacher:
    """`complete` and `choose` on the embedded model."""

    name = f"embedded:{MODEL_NAME}"
    forces_prefix = True

    def __init__(self, section: dict[str, Any]) -> None:
        self._lock = threading.Lock()
        self._model: Any = None
        self._tokenizer: Any = None

    async def start(self) -> None:
        """Check the extra and convert the model if needed; loading waits for the first real call,
        so a rerun answered wholly from the cache never loads the model."""
        await asyncio.to_thread(self._folder)

    async def close(self) -> None:
        self._model = None

    def _folder(self) -> Any:
        try:
            import torch  # noqa: F401
            import transformers  # noqa: F401
        except ImportError:
            raise MissingExtraError("embedded", "the embedded teacher") from None
        return embedded_model_dir()

    def _ensure_loaded(self) -> None:
        """Load the model once (callers hold the lock)."""
        if self._model is not None:
            return
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        folder = self._folder()
        self._tokenizer = AutoTokenizer.from_pretrained(folder)
        self._model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()

    async def complete(self, messages: Messages, prefix: str, params: dict[str, Any]) -> Completion:
        return await asyncio.to_thread(self._locked, self._complete, messages, prefix, params)

    async def choose(self, messages: Messages, prefix: str, options: list[str]) -> Choice:
        return await asyncio.to_thread(self._locked, self._choose, messages, prefix, options)

    def _locked(self, call: Any, *args: Any) -> Any:
        with self._lock:
            self._ensure_loaded()
            return call(*args)

    def _prompt_ids(self, messages: Messages, prefix: str) -> Any:
        text = self._tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return self._tokenizer(text + prefix, return_tensors="pt", add_special_tokens=False).input_ids

    def _complete(self, messages: Messages, prefix: str, params: dict[str, Any]) -> Completion:
        import torch

        ids = self._prompt_ids(messages, prefix)
        temperature = float(params.get("temperature", 0.0))
        sampling = {"do_sample": True, "temperature": temperature, "top_p": float(params.get("top_p", 1.0))} if temperature > 0 else {"do_sample": False}
        with torch.no_grad():
            torch.manual_seed(int(params.get("seed", 0)))
            out = self._model.generate(
                input_ids=ids,
                attention_mask=torch.ones_like(ids),
                max_new_tokens=int(params["max_tokens"]),
                pad_token_id=self._tokenizer.eos_token_id,
                **sampling,
            )
        new = out[0, ids.shape[1] :]
        return Completion(self._tokenizer.decode(new, skip_special_tokens=True), int(ids.shape[1]), int(new.shape[0]))

    def _choose(self, messages: Messages, prefix: str, options: list[str]) -> Choice:
        """Score each option by the log-probability of its tokens right after the prompt.

        The prefix's trailing space is tokenized together with the option (BPE writes "Answer: yes"
        as "Answer", ":", " yes"), and "yes" and "Yes" count as one option.
        """
        import torch

        stem = prefix.rstrip()
        ids = self._prompt_ids(messages, stem)
        variants = [[self._continuation(messages, stem, prefix[len(stem) :] + v) for v in sorted({o, o.capitalize()})] for o in options]
        with torch.no_grad():
            if all(len(c) == 1 for group in variants for c in group):  # the usual case: one forward pass decides
                logprobs = torch.log_softmax(self._model(input_ids=ids).logits[0, -1].float(), dim=-1)
                scores = [float(torch.logsumexp(torch.stack([logprobs[c[0]] for c in group]), 0)) for group in variants]
            else:
                scores = [max(self._sequence_logprob(ids, c) for c in group) for group in variants]
        return Choice.best(dict(zip(options, scores)), int(ids.shape[1]), 1)

    def _continuation(self, messages: Messages, stem: str, text: str) -> list[int]:
        """The token ids `text` gets when it follows the prompt (falls back to tokenizing it alone)."""
        base = self._prompt_ids(messages, stem)[0].tolist()
        full = self._prompt_ids(messages, stem + text)[0].tolist()
        if full[: len(base)] == base and len(full) > len(base):
            return full[len(base) :]
        return self._tokenizer(text, add_special_tokens=False).input_ids

    def _sequence_logprob(self, ids: Any, continuation: list[int]) -> float:
        import torch

        full = torch.cat([ids, torch.tensor([continuation])], dim=1)
        logprobs = torch.log_softmax(self._model(input_ids=full).logits[0].float(), dim=-1)
        start = ids.shape[1]
        return float(sum(logprobs[start - 1 + i, token] for i, token in enumerate(continuation)))
