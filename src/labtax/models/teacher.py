"""The teacher interface: a few async methods any backend implements.

A backend answers two kinds of call. `complete` writes free text after a fixed reply
prefix; `choose` picks one label out of a closed set (scores, yes/no), by comparing the
model's log-probabilities of the labels where it can, so that a weak model's judgement
is read from its distribution rather than from text it may not format.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from labtax.errors import EXIT_FINDINGS, LabtaxError

Messages = list[dict[str, str]]


# the score of an option a teacher could not score (absent from its top log-probabilities)
LOGPROB_FLOOR = -100.0


@dataclass(frozen=True)
class Completion:
    """A teacher's reply: the text after the reply prefix, and the tokens it cost."""

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass(frozen=True)
class Choice:
    """The label a teacher chose (None when its reply named none of the options), with the
    log-probability of each option when the backend can tell them (for calibration)."""

    label: str | None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    logprobs: dict[str, float] | None = None
    text: str = ""  # the reply as written (shown when no label could be read)

    @classmethod
    def best(
        cls, logprobs: dict[str, float], prompt_tokens: int, completion_tokens: int, text: str = ""
    ) -> Choice:
        """The likeliest option (the first listed on a tie)."""
        label = max(logprobs, key=lambda o: logprobs[o])
        return cls(label, prompt_tokens, completion_tokens, dict(logprobs), text)


class TeacherError(LabtaxError):
    """A teacher call failed for good (after retries): names the server and the reason."""

    exit_code = EXIT_FINDINGS


class Teacher(Protocol):
    """What generation needs from a teacher model. `name` identifies the model in cache keys;
    `shape` says how replies are shaped: "prefill" (they continue the reply prefix), "json" (a
    structured reply, returned as "Tag: value" lines) or "plain" (they must write the tags themselves);
    `context_tokens` is the context window where known."""

    name: str
    shape: str
    context_tokens: int | None

    async def start(self) -> None:
        """Load the model or check that the server answers; raise LabtaxError if it cannot."""

    async def complete(
        self, messages: Messages, prefix: str, params: dict[str, Any], tags: tuple[str, ...] = ()
    ) -> Completion:
        """Reply to `messages`, the reply starting with `prefix` and holding `tags` ("Tag: value"
        sections). `params`: temperature, top_p, max_tokens, seed."""

    async def choose(self, messages: Messages, prefix: str, options: list[str]) -> Choice:
        """Pick the most likely of `options` as the reply's first word after `prefix`."""

    async def close(self) -> None:
        """Release connections or memory."""

    def describe(self) -> str:
        """One line for the run: which teacher, and how its replies are shaped."""

    def features(self) -> dict[str, Any]:
        """What the manifest records about the teacher's features."""
