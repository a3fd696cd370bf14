"""Chat samples to token ids and labels, through the student's own chat template.

The loss is taken on assistant tokens only. Which characters belong to an assistant turn is found
by rendering the conversation up to each turn (with and without the assistant reply), so the
rule holds for any chat template; characters are mapped to tokens with the fast tokenizer's
offsets, which stays correct when BPE merges across a turn boundary.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labtax.errors import LabtaxError, MissingExtraError

IGNORE = -100  # label value that cross-entropy skips


@dataclass(frozen=True)
class Encoded:
    """One tokenized sample: ids, labels (IGNORE outside assistant tokens) and its length."""

    input_ids: list[int]
    labels: list[int]

    def __len__(self) -> int:
        return len(self.input_ids)

    @property
    def n_targets(self) -> int:
        """Tokens that carry loss after the one-position shift (the first position never does)."""
        return sum(1 for label in self.labels[1:] if label != IGNORE)


def _render(tokenizer: Any, messages: list[dict[str, str]], add_generation_prompt: bool = False) -> str:
    return tokenizer.apply_chat_template(
        messages, tokenize=False, add_generation_prompt=add_generation_prompt
    )


def assistant_spans(tokenizer: Any, messages: list[dict[str, str]]) -> tuple[str, list[tuple[int, int]]]:
    """The rendered conversation and the character spans of its assistant turns (end marker included)."""
    text = _render(tokenizer, messages)
    spans = []
    for i, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        start = len(_render(tokenizer, messages[:i], add_generation_prompt=True)) if i else 0
        upto = _render(tokenizer, messages[: i + 1])
        if not text.startswith(upto):
            raise LabtaxError(
                "the chat template does not render conversations incrementally; cannot mask prompt tokens"
            )
        spans.append((start, len(upto)))
    return text, spans


def encode_chat(
    tokenizer: Any, messages: list[dict[str, str]], max_len: int | None = None, last_only: bool = False
) -> Encoded:
    """Token ids of `messages` and labels that keep only assistant tokens (with `last_only`, only
    the final assistant turn's: a preference pair's answer); truncated to `max_len`."""
    text, spans = assistant_spans(tokenizer, messages)
    spans = spans[-1:] if last_only else spans
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids = list(enc["input_ids"])
    labels = [
        tok if any(s <= begin and end <= e for s, e in spans) and end > begin else IGNORE
        for tok, (begin, end) in zip(ids, enc["offset_mapping"], strict=True)
    ]
    if max_len is not None:
        ids, labels = ids[:max_len], labels[:max_len]
    return Encoded(ids, labels)


def response_tokens(tokenizer: Any, text: str) -> int:
    """Length of a response in the student's tokens (no special tokens): the short/long criterion."""
    return len(tokenizer(text, add_special_tokens=False)["input_ids"])


def load_tokenizer(path: str) -> Any:
    """The student's fast tokenizer from a local Hugging Face directory (never the hub)."""
    try:
        # transformers loads in seconds: imported only where a model runs
        from transformers import AutoTokenizer
    except ImportError:
        raise MissingExtraError("train", "tokenizing for mix and train") from None
    if not Path(path).is_dir():
        raise LabtaxError(f"{path}: no such folder; give a local Hugging Face model or tokenizer folder")
    try:
        tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise LabtaxError(f"{path}: cannot load a tokenizer from this folder ({exc})") from None
    if not tok.is_fast:
        raise LabtaxError(f"{path}: a fast tokenizer (tokenizer.json) is needed to map labels to tokens")
    if getattr(tok, "chat_template", None) is None:
        raise LabtaxError(f"{path}: the tokenizer has no chat template; pick a chat (instruct) model")
    return tok
