"""The call layer between the pipeline and a teacher: render -> cache -> teacher -> stats.

Stage functions ask for a completion or a choice by stage name and template fields; this
layer renders the stage's template, looks the call up in the cache, calls the teacher on a
miss, stores the reply at once, and counts calls, cache hits and tokens for the asker (per leaf, per judge).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Iterable, Protocol, TypeVar

from labtax.models.cache import CallCache, call_key
from labtax.models.teacher import LOGPROB_FLOOR, NESTED_READING, Choice, Completion, Teacher, nested_options
from labtax.models.templates import Templates

T = TypeVar("T")
CONTENT_FREE = "N/A"  # the judged field's value in a calibration call
CHARS_PER_TOKEN_MAX = 16  # more characters than this per asked-for token: the reply ran past max_tokens
_WORD = re.compile(r"\S+")


@dataclass
class CallStats:
    """What the caller counts for whoever asked (a leaf, a judge): calls, cache hits, tokens."""

    calls: int = 0
    cache_hits: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    truncated: int = 0  # replies cut to max_tokens (a teacher that ignores it)

    def unlabelled(self, stage: str, text: str) -> None:
        """A choice call of `stage` whose reply named no option (`text` as written): a hook for
        callers that keep the first such reply for their error messages."""


class Progress(Protocol):
    """What the call layer reports to a progress display (rich, or nothing)."""

    def planned(self, stage: str, count: int) -> None: ...

    def done(self, stage: str) -> None: ...


class NoProgress:
    def planned(self, stage: str, count: int) -> None:
        pass

    def done(self, stage: str) -> None:
        pass


@dataclass
class Caller:
    """Cached teacher calls for the stages. `sampling` holds temperature and top_p; `seed` the run's seed."""

    teacher: Teacher
    cache: CallCache
    templates: Templates
    sampling: dict[str, Any]
    seed: int
    progress: Progress = field(default_factory=NoProgress)
    calibrate: bool = True
    _inflight: dict[str, asyncio.Future[dict[str, Any]]] = field(default_factory=dict, repr=False)

    async def complete(
        self,
        stage: str,
        fields: dict[str, Any],
        *,
        sample: int,
        max_tokens: int,
        stats: CallStats,
        template: str | None = None,
        temperature: float | None = None,
    ) -> str:
        """The teacher's reply to `stage` rendered with `fields` (by the stage's template, or `template`):
        the reply prefix and its continuation (teachers that force the prefix), else the reply as
        written (it must carry the tags itself)."""
        rendered = self.templates.render(template or stage, **fields)
        messages = [{"role": "user", "content": rendered.text}]
        params = {**self.sampling, "max_tokens": max_tokens}
        if temperature is not None:
            params["temperature"] = temperature
        # The call's own seed: the run seed mixed with what is asked, so each call samples differently.
        params["seed"] = _mix_seed(self.seed, rendered.text, sample)
        # The shape changes what a stored reply means (a continuation, JSON made tags, a whole
        # reply): part of the key. Which server answered is not: all serve the same model.
        key = call_key(
            teacher=self.teacher.name,
            kind="complete",
            messages=messages,
            prefix=rendered.prefix,
            params=params,
            sample=sample,
            shape=self.teacher.shape,
        )

        async def fetch() -> dict[str, Any]:
            reply: Completion = await self.teacher.complete(messages, rendered.prefix, params, rendered.tags)
            text, cut = cap_reply(reply.text, max_tokens)
            return {
                "text": text,
                "prompt_tokens": reply.prompt_tokens,
                "completion_tokens": reply.completion_tokens,
                "truncated": cut,
            }

        value = await self._cached(stage, key, fetch, stats)
        text = str(value["text"])
        return rendered.prefix + text if self.teacher.shape == "prefill" else text.strip()

    async def choose(
        self,
        stage: str,
        fields: dict[str, Any],
        options: list[str],
        *,
        stats: CallStats,
        content: tuple[str, ...] = (),
    ) -> str | None:
        """The option the teacher picks for `stage` rendered with `fields` (None: it named none).

        With calibration on and log-probabilities available, the pick is contextually calibrated
        (after Zhao et al. 2021): each option's log-probability minus its log-probability when the
        judged fields (`content`, e.g. the response of a pair) read "N/A" and the rest of the prompt
        stays. A small model's fixed lean (always "no", always "1") cancels out, and what is left is
        how much this very item moves the judgement. Identical baselines are asked once (cache).
        """
        value = await self._choice(stage, fields, options, stats)
        if value["label"] is None:
            stats.unlabelled(stage, str(value.get("text") or ""))
        scores = value.get("logprobs")
        if not (self.calibrate and content and scores):
            return value["label"]
        blank = {**fields, **dict.fromkeys(content, CONTENT_FREE)}
        baseline = (await self._choice(stage, blank, options, stats)).get("logprobs")
        # Calibrate over the options both calls actually scored: an option missing from a server's
        # top log-probabilities carries a floor value, and floor minus floor would look like no lean.
        known = [
            o
            for o in options
            if baseline and o in baseline and o in scores and min(scores[o], baseline[o]) > LOGPROB_FLOOR
        ]
        if not known:
            return value["label"]
        return max(known, key=lambda o: scores[o] - baseline[o])

    async def choose_scored(
        self, stage: str, fields: dict[str, Any], options: list[str], *, stats: CallStats
    ) -> tuple[str | None, dict[str, float] | None]:
        """The option the teacher picks (uncalibrated) and each option's log-probability when known."""
        value = await self._choice(stage, fields, options, stats)
        return value["label"], value.get("logprobs")

    async def _choice(
        self, stage: str, fields: dict[str, Any], options: list[str], stats: CallStats
    ) -> dict[str, Any]:
        rendered = self.templates.render(stage, **fields)
        messages = [{"role": "user", "content": rendered.text}]
        key = call_key(
            teacher=self.teacher.name,
            kind="choose",
            messages=messages,
            prefix=rendered.prefix,
            options=options,
            mode=getattr(self.teacher, "choice_mode", None),
            # nested options ("1".."10") are read by splitting after the shorter one: entries stored
            # before that reading (a "10" read as "1") miss; other choices keep their keys
            **({"reading": NESTED_READING} if nested_options(options) else {}),
        )

        async def fetch() -> dict[str, Any]:
            reply: Choice = await self.teacher.choose(messages, rendered.prefix, options)
            return {
                "label": reply.label,
                "logprobs": reply.logprobs,
                "text": reply.text,
                "prompt_tokens": reply.prompt_tokens,
                "completion_tokens": reply.completion_tokens,
            }

        return await self._cached(stage, key, fetch, stats)

    async def _cached(
        self, stage: str, key: str, fetch: Callable[[], Awaitable[dict[str, Any]]], stats: CallStats
    ) -> dict[str, Any]:
        """The cached value of `key`, else fetch it once (concurrent askers of one key share the call)
        and store it before anyone uses it."""
        self.progress.planned(stage, 1)
        value = self.cache.get(key)
        if value is not None:
            stats.cache_hits += 1
        elif key in self._inflight:
            value = await asyncio.shield(self._inflight[key])
            stats.cache_hits += 1
        else:
            future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
            self._inflight[key] = future
            try:
                value = await fetch()
                self.cache.put(key, value)
                future.set_result(value)
            except asyncio.CancelledError:
                future.cancel()
                raise
            except BaseException as exc:
                future.set_exception(exc)
                future.exception()  # mark retrieved: the sharers (if any) re-raise it
                raise
            finally:
                del self._inflight[key]
        self._count(stats, value)
        self.progress.done(stage)
        return value

    def template_hash(self, stage: str) -> str:
        return self.templates.hash(stage)

    @staticmethod
    def _count(stats: CallStats, value: dict[str, Any]) -> None:
        stats.calls += 1
        stats.prompt_tokens += int(value.get("prompt_tokens") or 0)
        stats.completion_tokens += int(value.get("completion_tokens") or 0)
        stats.truncated += bool(value.get("truncated"))


def cap_reply(text: str, max_tokens: int) -> tuple[str, bool]:
    """`text` cut to `max_tokens` words and `max_tokens * CHARS_PER_TOKEN_MAX` characters, and whether
    it was cut. A token is at most a word, so a reply with more words than `max_tokens` tokens came
    from a teacher that ignored the limit; stages then parse and de-duplicate bounded text."""
    limit = max_tokens * CHARS_PER_TOKEN_MAX
    words = _WORD.finditer(text, 0, limit + 1)
    end = next((m.end() for i, m in enumerate(words, 1) if i == max_tokens), None)
    cut = min(len(text), limit) if end is None else end
    return (text, False) if cut >= len(text.rstrip()) else (text[:cut], True)


def _mix_seed(seed: int, text: str, sample: int) -> int:
    digest = hashlib.sha256(f"{seed}\0{sample}\0{text}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


async def gather(coros: Iterable[Awaitable[T]]) -> list[T]:
    """Run `coros` concurrently; results in order. On the first failure the others are cancelled
    (a failed leaf stops asking the teacher) and that failure is raised as itself."""
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(_as_coroutine(c)) for c in coros]
    except ExceptionGroup as failures:
        raise failures.exceptions[0] from None
    return [task.result() for task in tasks]


async def _as_coroutine(awaitable: Awaitable[T]) -> T:
    return await awaitable
