"""A student model: loading a checkpoint, log-likelihoods of continuations, and greedy answers.

Log-likelihoods follow lm-evaluation-harness's Hugging Face backend exactly, so multiple-choice
accuracy means what it means there: the context's trailing spaces move to the continuation,
`context + continuation` is tokenized whole (no special tokens) and the continuation's tokens
are what follows the context's own tokens; their log-probabilities are summed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labtax.errors import LabtaxError, MissingExtraError
from labtax.models.cache import CallCache, call_key
from labtax.models.calls import Progress
from labtax.models.decode import sample_batch
from labtax.models.embedded import MODEL_NAME, embedded_model_dir

WEIGHT_SUFFIXES = (".safetensors", ".bin")


def resolve_model(spec: str) -> Path:
    """`embedded` or a Hugging Face model folder, checked to hold a model config."""
    if spec == "embedded":
        return embedded_model_dir()
    path = Path(spec)
    if not (path / "config.json").is_file():
        raise LabtaxError(f"{spec}: not a Hugging Face model folder (no config.json)")
    return path.resolve()


def fingerprint(path: Path) -> str:
    """Identifies a checkpoint's weights cheaply (names, sizes, mtimes): the key of cached answers."""
    digest = hashlib.sha256()
    for file in sorted(path.iterdir()):
        if file.suffix in WEIGHT_SUFFIXES or file.name == "config.json":
            stat = file.stat()
            digest.update(f"{file.name}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode())
    return digest.hexdigest()[:32]


@dataclass
class Student:
    """A loaded causal language model and its tokenizer."""

    path: Path
    model: Any
    tokenizer: Any
    name: str

    @classmethod
    def load(cls, spec: str) -> Student:
        path = resolve_model(spec)
        transformers, torch = quiet_transformers("eval", "labtax eval")
        check_causal(spec, path)
        try:
            tokenizer = transformers.AutoTokenizer.from_pretrained(path, local_files_only=True)
            model = transformers.AutoModelForCausalLM.from_pretrained(
                path, dtype=torch.float32, local_files_only=True
            ).eval()
        except (OSError, ValueError, KeyError) as exc:
            raise LabtaxError(
                f"{spec}: not a causal language model folder ({str(exc).splitlines()[0]})"
            ) from None
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        return cls(path, model, tokenizer, MODEL_NAME if spec == "embedded" else path.name)

    def encode_pair(self, context: str, continuation: str) -> tuple[list[int], list[int]]:
        """Context and continuation token ids, split as lm-evaluation-harness splits them."""
        spaces = len(context) - len(context.rstrip())
        if spaces:
            context, continuation = context[:-spaces], context[-spaces:] + continuation
        whole = self.tokenizer(context + continuation, add_special_tokens=False).input_ids
        head = self.tokenizer(context, add_special_tokens=False).input_ids
        return head, whole[len(head) :]

    def loglikelihoods(self, pairs: list[tuple[str, str]], batch_size: int = 8) -> list[float]:
        """Summed log-probability of each continuation given its context."""
        encoded = [self.encode_pair(c, x) for c, x in pairs]
        scores: list[float] = []
        for start in range(0, len(encoded), batch_size):
            scores += self._score_batch(encoded[start : start + batch_size])
        return scores

    def _score_batch(self, batch: list[tuple[list[int], list[int]]]) -> list[float]:
        # torch loads in seconds: imported only where a model runs
        import torch

        rows = [(head + tail)[:-1] for head, tail in batch]  # position t predicts token t + 1
        width = max(map(len, rows))
        pad = self.tokenizer.pad_token_id or 0
        ids = torch.tensor([r + [pad] * (width - len(r)) for r in rows])
        mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows])
        with torch.no_grad():
            logprobs = torch.log_softmax(
                self.model(input_ids=ids, attention_mask=mask).logits.float(), dim=-1
            )
        out = []
        for i, (head, tail) in enumerate(batch):
            positions = range(len(head) - 1, len(head) - 1 + len(tail))
            out.append(float(sum(logprobs[i, p, t] for p, t in zip(positions, tail, strict=True))))
        return out

    def answers(self, prompts: list[list[dict[str, str]]], max_tokens: int, batch_size: int = 8) -> list[str]:
        """Greedy answers to chat prompts, through the model's chat template, decoded in batches."""
        texts = [
            self.tokenizer.apply_chat_template(p, tokenize=False, add_generation_prompt=True) for p in prompts
        ]
        out: list[str] = []
        for start in range(0, len(texts), batch_size):
            chunk = texts[start : start + batch_size]
            rows, _ = sample_batch(
                self.model,
                self.tokenizer,
                chunk,
                [{"temperature": 0.0, "max_tokens": max_tokens}] * len(chunk),
            )
            out += [self.tokenizer.decode(row, skip_special_tokens=True).strip() for row in rows]
        return out


def cached_answers(
    student: Student,
    prompts: list[list[dict[str, str]]],
    max_tokens: int,
    batch_size: int,
    cache: CallCache,
    progress: Progress,
    stage: str = "student answers",
) -> list[str]:
    """Greedy answers to `prompts`; those this checkpoint gave before come from the cache (resume,
    reruns, and `labtax eval` and `labtax rank` share them: one key for one answer)."""
    model = fingerprint(student.path)
    keys = [
        call_key(kind="student_answer", model=model, prompt=prompt, max_tokens=max_tokens)
        for prompt in prompts
    ]
    found = {k: str(v["text"]) for k in keys if (v := cache.get(k)) is not None}
    todo = [(k, p) for k, p in zip(keys, prompts, strict=True) if k not in found]
    progress.planned(stage, len(prompts))
    for _ in range(len(prompts) - len(todo)):
        progress.done(stage)
    for start in range(0, len(todo), batch_size):
        chunk = todo[start : start + batch_size]
        for (key, _), text in zip(
            chunk, student.answers([p for _, p in chunk], max_tokens, batch_size), strict=True
        ):
            cache.put(key, {"text": text})
            found[key] = text
            progress.done(stage)
    return [found[k] for k in keys]


def quiet_transformers(extra: str, what: str) -> tuple[Any, Any]:
    """transformers and torch, imported here (seconds), with transformers' progress bars off and its
    notices below errors, so a user's wrong folder gets labtax's one line; MissingExtraError without
    the extra."""
    try:
        # torch loads in seconds: imported only where a model runs
        import torch
        import transformers
        from transformers.utils import logging as hf_logging
    except ImportError:
        raise MissingExtraError(extra, what) from None
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    return transformers, torch


def check_causal(spec: str, path: Path) -> None:
    """A model folder whose config names a causal language model (not a classifier, an encoder, ...)."""
    # transformers loads in seconds: imported only where a model runs
    from transformers import AutoConfig
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    try:
        config = AutoConfig.from_pretrained(path, local_files_only=True)
    except (OSError, ValueError, KeyError) as exc:
        raise LabtaxError(
            f"{spec}: not a causal language model folder ({str(exc).splitlines()[0]})"
        ) from None
    if config.model_type not in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES:
        raise LabtaxError(f"{spec}: not a causal language model folder (model type {config.model_type!r})")
