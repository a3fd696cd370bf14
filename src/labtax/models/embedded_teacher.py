"""The embedded teacher: SmolLM2-135M-Instruct run in-process with transformers.

The model is tiny, so structure comes from decoding: the reply prefix is written into the
prompt after the chat template's assistant header (the model continues it), and a choice is
the option with the highest log-probability as the reply's next tokens (where one option begins
another, "1" and "10", the shorter counts only when the reply does not go on into the longer).

One worker thread owns the model. Completions waiting together are decoded as one left-padded
batch (about 2.4x the tokens/s of one at a time on 2 CPU cores); each row samples with its own
generator seeded from the call, so a call's text does not depend on the random state of others.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from labtax.errors import MissingExtraError
from labtax.models.decode import Stopped, sample_batch
from labtax.models.embedded import MODEL_NAME, embedded_model_dir
from labtax.models.teacher import LOGPROB_FLOOR, Choice, Completion, Messages

GATHER_S = 0.01  # how long the worker waits for more requests to batch with the first
STOP_WAIT_S = 1.0  # how long close() waits for the worker (it stops at the next token)
CONTEXT_TOKENS = 8192  # SmolLM2-135M-Instruct's max_position_embeddings


@dataclass
class _Request:
    kind: str  # "complete" | "choose"
    args: tuple[Any, ...]
    future: concurrent.futures.Future[Any] = field(default_factory=concurrent.futures.Future)


class EmbeddedTeacher:
    """`complete` and `choose` on the embedded model."""

    name = f"embedded:{MODEL_NAME}"
    shape = "prefill"
    context_tokens = CONTEXT_TOKENS

    def __init__(self, section: dict[str, Any]) -> None:
        self.batch_size = int(section["embedded_batch"])
        self._queue: queue.Queue[_Request | None] = queue.Queue()
        self._stop = threading.Event()  # set by close(): decoding ends at the next token
        self._thread: threading.Thread | None = None
        self._model: Any = None
        self._tokenizer: Any = None

    async def start(self) -> None:
        """Check the extra and convert the model if needed; loading waits for the first real call,
        so a rerun answered wholly from the cache never loads the model."""
        await asyncio.to_thread(self._folder)

    async def close(self) -> None:
        """Stop the worker: the batch in progress ends at its next token (Ctrl-C returns within about
        two seconds, never after a whole batch); requests still queued are dropped unanswered."""
        if self._thread is not None:
            self._stop.set()
            self._queue.put(None)
            await asyncio.to_thread(self._thread.join, STOP_WAIT_S)  # a daemon thread: never blocks exit
            self._thread = None
        self._model = None

    async def complete(
        self, messages: Messages, prefix: str, params: dict[str, Any], tags: tuple[str, ...] = ()
    ) -> Completion:
        return await self._submit("complete", messages, prefix, params)  # the prefix shapes the reply

    def describe(self) -> str:
        return (
            f"teacher {self.name} (embedded): replies continue the reply prefix, "
            "judgements by log-probabilities"
        )

    def features(self) -> dict[str, Any]:
        return {"servers": [], "probed": None, "shape": self.shape, "choice": "logprobs"}

    async def choose(self, messages: Messages, prefix: str, options: list[str]) -> Choice:
        return await self._submit("choose", messages, prefix, options)

    async def _submit(self, kind: str, *args: Any) -> Any:
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="labtax-embedded", daemon=True)
            self._thread.start()
        request = _Request(kind, args)
        self._queue.put(request)
        return await asyncio.wrap_future(request.future)

    def _work(self) -> None:
        """The worker loop: take what is waiting, decode completions together, answer choices one by one."""
        while (first := self._queue.get()) is not None:
            batch, stop = [first], False
            time.sleep(GATHER_S)
            while len(batch) < self.batch_size and not stop:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                else:
                    batch.append(item)
            self._serve(batch)
            if stop:
                return

    def _serve(self, batch: list[_Request]) -> None:
        # A request whose caller was cancelled (its leaf failed) is skipped, never answered.
        batch = [r for r in batch if r.future.set_running_or_notify_cancel()]
        try:
            if self._stop.is_set():
                raise Stopped
            self._ensure_loaded()
            completes = [r for r in batch if r.kind == "complete"]
            if completes:
                for request, result in zip(
                    completes, self._complete_batch([r.args for r in completes]), strict=True
                ):
                    request.future.set_result(result)
            for request in batch:
                if request.kind == "choose":
                    request.future.set_result(self._choose(*request.args))
        except BaseException as exc:  # handed to the callers, who report it with leaf and stage
            for request in batch:
                if not request.future.done():
                    request.future.set_exception(exc)

    def _folder(self) -> Any:
        try:
            # torch loads in seconds: imported only where a model runs
            import torch  # noqa: F401
            import transformers  # noqa: F401
        except ImportError:
            raise MissingExtraError("embedded", "the embedded teacher") from None
        return embedded_model_dir()

    def _ensure_loaded(self) -> None:
        if self._model is not None:
            return
        # torch loads in seconds: imported only where a model runs
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        # transformers' deprecation notices (past_key_values as a tuple, ...) would print on every run
        # and break the live display; they are about transformers' internals, not the user's input.
        hf_logging.set_verbosity_error()  # the FutureWarnings of decoding are silenced in decode.sample_batch
        folder = self._folder()
        self._tokenizer = AutoTokenizer.from_pretrained(folder)
        self._model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()

    def _prompt_text(self, messages: Messages, prefix: str) -> str:
        return (
            str(self._tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True))
            + prefix
        )

    def _prompt_ids(self, messages: Messages, prefix: str) -> Any:
        return self._tokenizer(
            self._prompt_text(messages, prefix), return_tensors="pt", add_special_tokens=False
        ).input_ids

    def _complete_batch(self, calls: list[tuple[Messages, str, dict[str, Any]]]) -> list[Completion]:

        texts = [self._prompt_text(messages, prefix) for messages, prefix, _ in calls]
        params = [p for _, _, p in calls]
        rows, prompt_lengths = sample_batch(self._model, self._tokenizer, texts, params, self._stop)
        return [
            Completion(self._tokenizer.decode(row, skip_special_tokens=True), n, len(row))
            for row, n in zip(rows, prompt_lengths, strict=True)
        ]

    def _choose(self, messages: Messages, prefix: str, options: list[str]) -> Choice:
        """Score each option by the log-probability of its tokens right after the prompt.

        The prefix's trailing space is tokenized together with the option (BPE writes "Answer: yes"
        as "Answer", ":", " yes"), and "yes" and "Yes" count as one option. Tokens all options
        share (the space before a digit) are fed with the prompt, so one forward pass decides.
        """
        # torch loads in seconds: imported only where a model runs
        import torch

        stem = prefix.rstrip()
        ids = self._prompt_ids(messages, stem)
        variants = [
            [
                self._continuation(ids, messages, stem, prefix[len(stem) :] + v)
                for v in sorted({o, o.capitalize()})
            ]
            for o in options
        ]
        flat = [c for group in variants for c in group]
        if _nested(flat):  # "1" and "10" (tokens "1", "1" "0"): the first token does not decide
            return Choice.best(self._split_scores(ids, variants, options), int(ids.shape[1]), 1)
        shared = _common_prefix(flat)
        with torch.no_grad():
            if all(len(c) == len(shared) + 1 for c in flat):
                full = torch.cat([ids, torch.tensor([shared], dtype=ids.dtype)], dim=1) if shared else ids
                logprobs = torch.log_softmax(self._model(input_ids=full).logits[0, -1].float(), dim=-1)
                scores = [
                    float(torch.logsumexp(torch.stack([logprobs[c[-1]] for c in group]), 0))
                    for group in variants
                ]
            else:  # one pass scores every one-token option; only the longer ones ("10") get a pass each
                last = torch.log_softmax(self._model(input_ids=ids).logits[0, -1].float(), dim=-1)
                scores = [
                    max(float(last[c[0]]) if len(c) == 1 else self._sequence_logprob(ids, c) for c in group)
                    for group in variants
                ]
        return Choice.best(dict(zip(options, scores, strict=True)), int(ids.shape[1]), 1)

    def _split_scores(
        self, ids: Any, variants: list[list[list[int]]], options: list[str]
    ) -> dict[str, float]:
        """Each option's log-probability as the reply's option when one option's tokens begin another's:
        log p(its tokens) + log(1 - p(a next token that goes on into a longer option)). So "1" is "1"
        not followed by "0", and "10" is "1" then "0"; the two share the mass of a first "1".

        One forward pass over the longest token sequence needed gives every next-token distribution
        on its way (for the grades 1-10: one pass over the prompt and " 1").
        """
        import torch

        sequences = {tuple(c) for group in variants for c in group}
        onward = {
            s: {o[len(s)] for o in sequences if len(o) > len(s) and o[: len(s)] == s} for s in sequences
        }
        needed = {s[:j] for s in sequences for j in range(len(s))} | {s for s in sequences if onward[s]}
        passes = [p for p in needed if not any(len(q) > len(p) and q[: len(p)] == p for q in needed)]
        rows: dict[tuple[int, ...], Any] = {}
        with torch.no_grad():
            for path in passes:
                full = torch.cat([ids, torch.tensor([list(path)], dtype=ids.dtype)], dim=1)
                logprobs = torch.log_softmax(self._model(input_ids=full).logits[0].float(), dim=-1)
                for j in range(len(path) + 1):  # the distribution after the prompt and path[:j]
                    rows[path[:j]] = logprobs[ids.shape[1] - 1 + j]

        def score(s: tuple[int, ...]) -> float:
            total = sum(float(rows[s[:j]][token]) for j, token in enumerate(s))
            if onward[s]:
                going_on = torch.logsumexp(torch.stack([rows[s][t] for t in onward[s]]), 0)
                total += float(torch.log(-torch.expm1(going_on)))  # log(1 - p(going on))
            return max(total, 2 * LOGPROB_FLOOR)  # finite (JSON in the cache) where p(going on) is 1

        return {
            option: float(torch.logsumexp(torch.tensor([score(s) for s in {tuple(c) for c in group}]), 0))
            for option, group in zip(options, variants, strict=True)
        }

    def _continuation(self, base_ids: Any, messages: Messages, stem: str, text: str) -> list[int]:
        """The token ids `text` gets when it follows the prompt (falls back to tokenizing it alone)."""
        base = base_ids[0].tolist()
        full = self._prompt_ids(messages, stem + text)[0].tolist()
        if full[: len(base)] == base and len(full) > len(base):
            return full[len(base) :]
        return list(self._tokenizer(text, add_special_tokens=False).input_ids)

    def _sequence_logprob(self, ids: Any, continuation: list[int]) -> float:
        # torch loads in seconds: imported only where a model runs
        import torch

        full = torch.cat([ids, torch.tensor([continuation], dtype=ids.dtype)], dim=1)
        logprobs = torch.log_softmax(self._model(input_ids=full).logits[0].float(), dim=-1)
        start = ids.shape[1]
        return float(sum(logprobs[start - 1 + i, token] for i, token in enumerate(continuation)))


def _nested(sequences: list[list[int]]) -> bool:
    """Whether one token sequence is a proper prefix of another."""
    return any(len(a) < len(b) and b[: len(a)] == a for a in sequences for b in sequences)


def _common_prefix(sequences: list[list[int]]) -> list[int]:
    shared: list[int] = []
    for tokens in zip(*sequences, strict=False):
        if len(set(tokens)) != 1:
            break
        shared.append(tokens[0])
    return shared
