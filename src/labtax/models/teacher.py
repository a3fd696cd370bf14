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

# How a backend reads options one of which begins another ("1" and "10"): part of the cache key of
# such choices, so that grades stored under the old reading (a reply "10" read as "1") miss.
NESTED_READING = "split-after-prefix"


def nested_options(options: list[str]) -> bool:
    """Whether an option is a proper prefix of another ("1" of "10", case-insensitive). Then the
    reply's first token does not decide the option: a backend splits the mass of the shorter option
    by what follows it (a "0" after "1" makes "10"), so a reply "10" reads as 10, never as 1."""
    lowered = {o.lower() for o in options}
    return any(a != b and b.startswith(a) for a in lowered for b in lowered)


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
        """Pick the most likely of `options` as the reply's first word after `prefix`: where one option
        begins another ("1", "10"), the shorter one counts only when the reply does not go on into the
        longer one (see `nested_options`)."""

    async def close(self) -> None:
        """Release connections or memory."""

    def describe(self) -> str:
        """One line for the run: which teacher, and how its replies are shaped."""

    def features(self) -> dict[str, Any]:
        """What the manifest records about the teacher's features."""
