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


LOGPROB_FLOOR = -100.0  # the score of an option a teacher could not score (absent from its top log-probabilities)

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

    @classmethod
    def best(cls, logprobs: dict[str, float], prompt_tokens: int, completion_tokens: int) -> Choice:
        """The likeliest option (the first listed on a tie)."""
        label = max(logprobs, key=lambda o: logprobs[o])
        return cls(label, prompt_tokens, completion_tokens, dict(logprobs))


class TeacherError(LabtaxError):
    """A teacher call failed for good (after retries): names the server and the reason."""

    exit_code = EXIT_FINDINGS


class Teacher(Protocol):
    """What generation needs from a teacher model. `name` identifies the model in cache keys;
    `forces_prefix` tells whether replies continue the reply prefix (else they must repeat it)."""

    name: str
    forces_prefix: bool

    async def start(self) -> None:
        """Load the model or check that the server answers; raise LabtaxError if it cannot."""

    async def complete(self, messages: Messages, prefix: str, params: dict[str, Any]) -> Completion:
        """Reply to `messages`, the reply starting with `prefix`. `params`: temperature, top_p,
        max_tokens, seed."""

    async def choose(self, messages: Messages, prefix: str, options: list[str]) -> Choice:
        """Pick the most likely of `options` as the reply's first word after `prefix`."""

    async def close(self) -> None:
        """Release connections or memory."""


def make_teacher(section: dict[str, Any]) -> Teacher:
    """The teacher named by the generate config section: "embedded" or an http(s) URL."""
    spec = str(section["teacher"])
    if spec == "embedded":
        from labtax.generate.embedded import EmbeddedTeacher

        return EmbeddedTeacher(section)
    if spec.startswith(("http://", "https://")):
        from labtax.generate.openai import OpenAITeacher

        return OpenAITeacher(spec, section)
    raise LabtaxError(f"unknown teacher {spec!r}: use 'embedded' or a server URL such as http://127.0.0.1:8000/v1")
