"""A teacher behind any OpenAI-compatible server (vLLM, llama.cpp server, Ollama, TGI).

Calls in flight are bounded by `concurrency` slots spread over a few httpx.AsyncClients of at
most POOL_SIZE connections each: httpcore scans its whole pool on every request, so small
pools keep the client's own cost per request low at high concurrency. Connection errors, timeouts, dropped connections, 429 and 5xx are
retried with exponential backoff and full jitter (a server's Retry-After wins); any other
4xx is a mistake in the request and fails at once. A 200 whose body is not a reply (an HTML
page from a proxy, `choices: []`, a message without content) is a failed attempt too: retried,
and never handed on (so never cached). `request_timeout_s` bounds each whole request, however
slowly a server trickles its body.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import os
import random
import re
import time
from typing import Any

import httpx

from labtax.errors import LabtaxError
from labtax.generate.teacher import (
    LOGPROB_FLOOR,
    Choice,
    Completion,
    Messages,
    TeacherError,
)

API_KEY_ENV = "LABTAX_API_KEY"
MAX_BACKOFF_S = 30.0
POOL_SIZE = 8  # connections per httpx client


class OpenAITeacher:
    """`complete` and `choose` over /v1/chat/completions."""

    def __init__(self, base_url: str, section: dict[str, Any]) -> None:
        self.base_url = base_url.rstrip("/")
        self.model: str | None = section.get("model")
        self.name = f"openai:{self.model or '?'}"
        self.concurrency = int(section["concurrency"])
        self.timeout_s = float(section["request_timeout_s"])
        self.max_retries = int(section["max_retries"])
        self.backoff_s = float(section["retry_backoff_s"])
        self.choice_mode = str(section["choice"])
        self.prefill = bool(section["assistant_prefill"])
        self.forces_prefix = self.prefill
        self._clients: list[httpx.AsyncClient] = []
        self._slots: asyncio.Queue[httpx.AsyncClient] = asyncio.Queue()
        self._rng = random.Random()

    async def start(self) -> None:
        headers = {"Authorization": f"Bearer {os.environ[API_KEY_ENV]}"} if os.environ.get(API_KEY_ENV) else {}
        for first in range(0, self.concurrency, POOL_SIZE):
            size = min(POOL_SIZE, self.concurrency - first)
            limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)
            client = httpx.AsyncClient(headers=headers, timeout=self.timeout_s, limits=limits)
            self._clients.append(client)
            for _ in range(size):
                self._slots.put_nowait(client)
        url = f"{self.base_url}/models"
        try:
            response = await self._clients[0].get(url)
        except httpx.HTTPError as exc:
            await self.close()
            raise LabtaxError(f"the teacher server at {self.base_url} is unreachable ({type(exc).__name__}: {exc}); is it running?") from None
        if response.status_code in (401, 403):
            await self.close()
            raise LabtaxError(f"the teacher server at {self.base_url} refused the API key (HTTP {response.status_code}); set {API_KEY_ENV}")
        if response.status_code == 404:
            await self.close()
            raise LabtaxError(f"{url} answered HTTP 404: {self.base_url} is probably not the API base (it usually ends in /v1)")
        if self.model is None:
            self.model = _first_model(response)
            if self.model is None:
                await self.close()
                raise LabtaxError(f"{url} lists no model: pass --model NAME")
        self.name = f"openai:{self.model}"

    async def close(self) -> None:
        for client in self._clients:
            await client.aclose()
        self._clients = []

    async def complete(self, messages: Messages, prefix: str, params: dict[str, Any]) -> Completion:
        body = {"model": self.model, "messages": self._messages(messages, prefix), **params}
        data = await self._post(body)
        text = _message_text(data)
        usage = data.get("usage") or {}
        return Completion(text, int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0))

    async def choose(self, messages: Messages, prefix: str, options: list[str]) -> Choice:
        body: dict[str, Any] = {"model": self.model, "messages": self._messages(messages, prefix), "temperature": 0.0, "max_tokens": 8}
        if self.choice_mode == "logprobs":
            body.update(logprobs=True, top_logprobs=min(20, max(5, len(options))))
        elif self.choice_mode == "guided":  # vLLM's guided decoding: the reply is exactly one option
            body["guided_choice"] = options
        elif self.choice_mode == "grammar":  # llama.cpp server: a GBNF grammar allowing only the options
            body["grammar"] = choice_grammar(options)
        data = await self._post(body)
        usage = data.get("usage") or {}
        tokens = int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
        scores = _logprob_scores(data, options)
        if scores is not None:
            return Choice.best(scores, *tokens)
        return Choice(parse_label(_message_text(data), options), *tokens)

    def _messages(self, messages: Messages, prefix: str) -> Messages:
        if self.prefill and prefix:  # servers that continue a final assistant turn (llama.cpp, vLLM)
            return [*messages, {"role": "assistant", "content": prefix}]
        return messages

    async def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        if not self._clients:
            raise TeacherError("the teacher was not started")
        if self.prefill:
            body = {**body, "continue_final_message": True, "add_generation_prompt": False}
        url = f"{self.base_url}/chat/completions"
        client = await self._slots.get()  # a free slot: bounds the calls in flight
        try:
            for attempt in range(self.max_retries + 1):
                try:
                    async with asyncio.timeout(self.timeout_s):  # the whole request, not each read
                        response = await client.post(url, json=body)
                except (httpx.TransportError, TimeoutError) as exc:  # connect/read errors, timeouts, dropped connections
                    reason, wait = f"{type(exc).__name__}: {str(exc) or f'no complete reply within {self.timeout_s:g} s'}", None
                else:
                    if response.status_code < 400:
                        data, reason = _reply(response)
                        if data is not None:
                            return data
                        wait = None
                    elif response.status_code != 429 and response.status_code < 500:
                        raise TeacherError(f"{url} answered HTTP {response.status_code}: {response.text[:300]}")
                    else:
                        reason, wait = f"HTTP {response.status_code}", retry_after(response.headers.get("retry-after"))
                if attempt == self.max_retries:
                    raise TeacherError(f"{url} failed after {self.max_retries + 1} attempts ({reason})")
                await asyncio.sleep(wait if wait is not None else self._backoff(attempt))
        finally:
            self._slots.put_nowait(client)
        raise AssertionError("unreachable")

    def _backoff(self, attempt: int) -> float:
        """Full jitter: a uniform wait up to base * 2^attempt, so retrying clients spread out."""
        return self._rng.uniform(0, min(MAX_BACKOFF_S, self.backoff_s * 2**attempt))


def retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, min(MAX_BACKOFF_S, float(value)))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, min(MAX_BACKOFF_S, moment.timestamp() - time.time()))


def parse_label(text: str, options: list[str]) -> str | None:
    """The first option that appears as a whole word in `text` (case-insensitive), else None."""
    best: tuple[int, str] | None = None
    for option in options:
        match = re.search(rf"(?<![\w.]){re.escape(option)}(?!\w|[.,]\d)", text, re.IGNORECASE)
        if match and (best is None or match.start() < best[0]):
            best = (match.start(), option)
    return best[1] if best else None


def _logprob_scores(data: dict[str, Any], options: list[str]) -> dict[str, float] | None:
    """Log-probabilities of the options at the first reply position where one of them is among the
    top tokens (options missing there get a floor value), else None."""
    try:
        positions = data["choices"][0]["logprobs"]["content"] or []
    except (KeyError, IndexError, TypeError):
        return None
    wanted = {o.lower(): o for o in options}
    for position in positions:
        scores: dict[str, float] = {}
        for candidate in position.get("top_logprobs") or [position]:
            token = str(candidate.get("token", "")).strip().lower()
            if token in wanted and wanted[token] not in scores:
                scores[wanted[token]] = float(candidate.get("logprob", LOGPROB_FLOOR))
        if scores:
            return {o: scores.get(o, LOGPROB_FLOOR) for o in options}
    return None


def _first_model(response: httpx.Response) -> str | None:
    try:
        models = response.json().get("data") or []
        return str(models[0]["id"]) if models else None
    except (ValueError, AttributeError, KeyError, IndexError, TypeError):
        return None


def _reply(response: httpx.Response) -> tuple[dict[str, Any] | None, str]:
    """The JSON body of a 200 when it holds a reply with content, else (None, why not): a proxy's
    HTML page or an empty reply is the server failing, not the model answering."""
    try:
        data = response.json()
    except ValueError:
        return None, f"a 200 reply that is not JSON: {response.text[:80]!r}"
    if not isinstance(data, dict):
        return None, "a 200 reply whose JSON is not an object"
    try:
        content = data["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        return None, "a 200 reply without choices[0].message"
    if not content:
        return None, "a 200 reply whose message has no content"
    return data, ""


def _message_text(data: dict[str, Any]) -> str:
    """The reply text (`_reply` made sure there is one)."""
    return str(data["choices"][0]["message"]["content"])


def choice_grammar(options: list[str]) -> str:
    """A GBNF grammar (llama.cpp) whose only sentences are the `options`."""
    return "root ::= " + " | ".join(json.dumps(option) for option in options)
