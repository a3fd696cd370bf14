"""A teacher behind one or several OpenAI-compatible servers (vLLM, llama.cpp server, Ollama, TGI).

With `auto` settings the servers are probed once (probe.py) and replies are shaped by the
strongest form all of them support. Calls in flight are bounded per server by `concurrency`
slots spread over a few httpx.AsyncClients of at most POOL_SIZE connections each: httpcore scans its
whole pool on every request, so small pools keep the client's own cost per request low at high
concurrency. Connection errors, timeouts, dropped connections, 429 and 5xx are retried with
exponential backoff and full jitter (a server's Retry-After wins); any other 4xx is a mistake in the
request and fails at once. A 200 whose body is not a reply (an HTML
page from a proxy, `choices: []`, a message without content) is a failed attempt too: retried,
and never handed on (so never cached). `request_timeout_s` bounds each whole request, however
slowly a server trickles its body.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from dataclasses import dataclass
from typing import Any

import httpx

from labtax.errors import LabtaxError
from labtax.models.cache import CallCache, call_key
from labtax.models.openai_protocol import (
    MAX_BACKOFF_S,
    auto_choice,
    choice_fields,
    context_of,
    json_label,
    logprob_scores,
    model_entries,
    parse_label,
    reply_data,
    retry_after,
    tagged,
)
from labtax.models.probe import (
    PROBE_VERSION,
    Capabilities,
    describe,
    json_schema_format,
    probe,
    reply_text,
)
from labtax.models.teacher import (
    Choice,
    Completion,
    Messages,
    TeacherError,
)

API_KEY_ENV = "LABTAX_API_KEY"
POOL_SIZE = 8  # connections per httpx client


@dataclass
class Server:
    """One teacher server: its connection slots, calls in flight, and when it may be asked again."""

    url: str
    clients: list[httpx.AsyncClient]
    slots: asyncio.Queue[httpx.AsyncClient]
    limit: int
    in_flight: int = 0
    failures: int = 0  # consecutive failed calls
    rested_until: float = 0.0  # time.monotonic() before which it gets no call
    context_tokens: int | None = None


class OpenAITeacher:
    """`complete` and `choose` over /v1/chat/completions of one or several servers of one model.

    Each call goes to the server with the fewest calls in flight among those below their
    concurrency limit and not resting; a server whose call failed rests (exponential backoff with
    full jitter, or its Retry-After) and the retry goes to another server where there is one.
    """

    def __init__(
        self, base_urls: str | list[str], section: dict[str, Any], cache: CallCache | None = None
    ) -> None:
        self.base_urls = [u.rstrip("/") for u in ([base_urls] if isinstance(base_urls, str) else base_urls)]
        self.base_url = self.base_urls[0]
        self.model: str | None = section.get("model")
        self.name = f"openai:{self.model or '?'}"
        self.concurrency = int(section["concurrency"])  # per server
        self.timeout_s = float(section["request_timeout_s"])
        self.max_retries = int(section["max_retries"])
        self.backoff_s = float(section["retry_backoff_s"])
        self.choice_setting = str(section["choice"])
        self.prefill_setting = section["assistant_prefill"]
        self.context_setting: int | None = section.get("context_tokens")
        self.context_tokens: int | None = self.context_setting
        self.cache = cache
        self.capabilities: Capabilities | None = None  # learned by the probe (auto settings only)
        self.probe_answers: dict[str, Any] = {}
        self.shape = "prefill" if self.prefill_setting is True else "plain"
        self.choice_mode = self.choice_setting
        self._servers: list[Server] = []
        self._changed: asyncio.Condition | None = None
        self._rng = random.Random()

    async def start(self) -> None:
        headers = (
            {"Authorization": f"Bearer {os.environ[API_KEY_ENV]}"} if os.environ.get(API_KEY_ENV) else {}
        )
        self._changed = asyncio.Condition()
        self._servers = [
            _new_server(url, self.concurrency, headers, self.timeout_s) for url in self.base_urls
        ]
        try:
            listed = [await self._models(server) for server in self._servers]
            self.model = self.model or (listed[0][0] if listed[0] else None)
            if self.model is None:
                raise LabtaxError(f"{self.base_url}/models lists no model: pass --model NAME")
            for server, models in zip(self._servers, listed, strict=True):
                if len(self._servers) > 1 and self.model not in models:
                    raise LabtaxError(
                        f"{server.url} serves {models or 'no model'}, not {self.model}: "
                        "every --teacher server must serve the same model"
                    )
            self.name = f"openai:{self.model}"
            await self._resolve_modes()
        except BaseException:
            await self.close()
            raise
        known = [s.context_tokens for s in self._servers if s.context_tokens]
        self.context_tokens = self.context_setting or (min(known) if known else None)

    async def _models(self, server: Server) -> list[str]:
        """The model ids `server` lists (its context window noted on the way)."""
        url = f"{server.url}/models"
        try:
            response = await server.clients[0].get(url)
        except httpx.HTTPError as exc:
            raise LabtaxError(
                f"the teacher server at {server.url} is unreachable ({type(exc).__name__}: {exc}); "
                "is it running?"
            ) from None
        if response.status_code in (401, 403):
            raise LabtaxError(
                f"the teacher server at {server.url} refused the API key "
                f"(HTTP {response.status_code}); set {API_KEY_ENV}"
            )
        if response.status_code == 404:
            raise LabtaxError(
                f"{url} answered HTTP 404: {server.url} is probably not the API base (it usually ends in /v1)"
            )
        entries = model_entries(response)
        chosen = next((e for e in entries if e.get("id") == self.model), entries[0] if entries else {})
        server.context_tokens = context_of(chosen)
        return [str(e.get("id")) for e in entries if e.get("id")]

    async def _resolve_modes(self) -> None:
        """Probe (once per URL and model, cached) when a setting is auto, then pick the strongest forms."""
        if "auto" not in (self.prefill_setting, self.choice_setting):
            return
        capabilities = None
        for server in self._servers:
            found = await self._probe(server)
            capabilities = found if capabilities is None else capabilities.both(found)
        self.capabilities = capabilities
        if self.prefill_setting == "auto":
            self.shape = (
                "prefill" if capabilities.prefill else "json" if capabilities.json_schema else "plain"
            )
        if self.choice_setting == "auto":
            self.choice_mode = auto_choice(capabilities)

    async def _probe(self, server: Server) -> Capabilities:
        key = call_key(kind="probe", version=PROBE_VERSION, url=server.url, model=self.model)
        value = self.cache.get(key) if self.cache is not None else None
        if value is None:
            value = await probe(lambda body: self._raw_post(server, body), str(self.model))
            if self.cache is not None:
                self.cache.put(key, value)
        self.probe_answers[server.url] = value
        return Capabilities(**value["capabilities"])

    def describe(self) -> str:
        """One line for the run: the servers, what the probe found, what is used."""
        where = ", ".join(self.base_urls)
        if self.capabilities is None:
            return (
                f"teacher {self.name} at {where}: replies shaped by {self.shape}, "
                f"judgements by {self.choice_mode}"
            )
        return f"teacher {self.name} at {where}: {describe(self.capabilities, self.shape, self.choice_mode)}"

    def features(self) -> dict[str, Any]:
        """What the manifest records about the teacher's features."""
        found = self.capabilities.as_dict() if self.capabilities else None
        return {"servers": self.base_urls, "probed": found, "shape": self.shape, "choice": self.choice_mode}

    async def close(self) -> None:
        for server in self._servers:
            for client in server.clients:
                await client.aclose()
        self._servers = []

    async def complete(
        self, messages: Messages, prefix: str, params: dict[str, Any], tags: tuple[str, ...] = ()
    ) -> Completion:
        body = {"model": self.model, "messages": self._messages(messages, prefix), **params}
        structured = self.shape == "json" and bool(tags)
        if structured:
            body["response_format"] = json_schema_format({tag.lower(): {"type": "string"} for tag in tags})
        data = await self._post(body)
        text = _message_text(data)
        usage = data.get("usage") or {}
        return Completion(
            tagged(text, tags) if structured else text,
            int(usage.get("prompt_tokens") or 0),
            int(usage.get("completion_tokens") or 0),
        )

    async def choose(self, messages: Messages, prefix: str, options: list[str]) -> Choice:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": self._messages(messages, prefix),
            "temperature": 0.0,
            "max_tokens": 8,
        }
        for part in self.choice_mode.split("+"):
            body.update(choice_fields(part, options))
        data = await self._post(body)
        usage = data.get("usage") or {}
        tokens = int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
        text = _message_text(data)
        scores = logprob_scores(data, options)
        if scores is not None:
            return Choice.best(scores, *tokens, text=text)
        return Choice(parse_label(json_label(text), options), *tokens, text=text)

    def _messages(self, messages: Messages, prefix: str) -> Messages:
        if (
            self.shape == "prefill" and prefix
        ):  # servers that continue a final assistant turn (llama.cpp, vLLM)
            return [*messages, {"role": "assistant", "content": prefix}]
        return messages

    async def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        if not self._servers:
            raise TeacherError("the teacher was not started")
        if body["messages"][-1]["role"] == "assistant":
            body = {**body, "continue_final_message": True, "add_generation_prompt": False}
        for attempt in range(self.max_retries + 1):
            server = await self._acquire()
            client = server.slots.get_nowait()  # below its limit: a slot is free
            url = f"{server.url}/chat/completions"
            try:
                async with asyncio.timeout(self.timeout_s):  # the whole request, not each read
                    response = await client.post(url, json=body)
            except (
                httpx.TransportError,
                TimeoutError,
            ) as exc:  # connect/read errors, timeouts, dropped connections
                reason, wait = (
                    f"{type(exc).__name__}: {str(exc) or f'no complete reply within {self.timeout_s:g} s'}",
                    None,
                )
            except (
                BaseException
            ):  # cancelled (another call of its leaf failed) or interrupted: the slot goes back
                await self._release(server, client, failed=False)
                raise
            else:
                if response.status_code < 400:
                    data, reason = reply_data(response)
                    if data is not None:
                        await self._release(server, client, failed=False)
                        return data
                    wait = None  # a 200 without a reply (empty, HTML): the server failing, retried
                elif response.status_code != 429 and response.status_code < 500:
                    await self._release(server, client, failed=False)
                    raise TeacherError(f"{url} answered HTTP {response.status_code}: {response.text[:300]}")
                else:
                    reason, wait = (
                        f"HTTP {response.status_code}",
                        retry_after(response.headers.get("retry-after")),
                    )
            await self._release(server, client, failed=True, wait=wait)
            if attempt == self.max_retries:
                raise TeacherError(f"{url} failed after {self.max_retries + 1} attempts ({reason})")
        raise AssertionError("unreachable")

    async def _raw_post(self, server: Server, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """One probe call to `server`: its status and JSON body (no retries; unreachable is an error)."""
        url = f"{server.url}/chat/completions"
        try:
            response = await server.clients[0].post(url, json=body)
        except httpx.HTTPError as exc:
            raise LabtaxError(
                f"probing {url} failed ({type(exc).__name__}: {exc}); "
                "set generate.assistant_prefill and generate.choice explicitly"
            ) from None
        try:
            data = response.json()
        except ValueError:
            data = {}
        return response.status_code, data if isinstance(data, dict) else {}

    async def _acquire(self) -> Server:
        """The server for the next call: fewest in flight, below its limit, not resting; waits for one.

        Waiters are woken one at a time (baton passing), not all at once: with hundreds of calls
        queued, waking every waiter on every release costs the client CPU time quadratic in the queue.
        A woken call that finds more room wakes the next; one cancelled while waiting hands its
        wake-up on, so a free slot never waits unused.
        """
        assert self._changed is not None
        async with self._changed:
            while True:
                now = time.monotonic()
                ready = [s for s in self._servers if s.in_flight < s.limit and s.rested_until <= now]
                if ready:
                    server = min(ready, key=lambda s: s.in_flight)
                    server.in_flight += 1
                    if len(ready) > 1 or server.in_flight < server.limit:
                        self._changed.notify(1)
                    return server
                resting = [s.rested_until - now for s in self._servers if s.rested_until > now]
                try:
                    if resting:
                        await asyncio.wait_for(self._changed.wait(), timeout=min(resting))
                    else:
                        await self._changed.wait()
                except TimeoutError:
                    pass  # a rest is over: look again
                except asyncio.CancelledError:
                    self._changed.notify(1)  # the wake-up may have been this call's
                    raise

    async def _release(
        self, server: Server, client: httpx.AsyncClient, *, failed: bool, wait: float | None = None
    ) -> None:
        """Give the slot back (a failed server rests first) and wake one waiting call for it."""
        assert self._changed is not None
        server.slots.put_nowait(client)
        server.in_flight -= 1
        if failed:
            server.rested_until = time.monotonic() + (
                wait if wait is not None else self._backoff(server.failures)
            )
            server.failures += 1
        else:
            server.failures = 0
        async with self._changed:
            self._changed.notify(1)

    def _backoff(self, attempt: int) -> float:
        """Full jitter: a uniform wait up to base * 2^attempt, so retrying clients spread out."""
        return self._rng.uniform(0, min(MAX_BACKOFF_S, self.backoff_s * 2**attempt))


def _new_server(url: str, concurrency: int, headers: dict[str, str], timeout_s: float) -> Server:
    clients: list[httpx.AsyncClient] = []
    slots: asyncio.Queue[httpx.AsyncClient] = asyncio.Queue()
    for first in range(0, concurrency, POOL_SIZE):
        size = min(POOL_SIZE, concurrency - first)
        limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)
        client = httpx.AsyncClient(headers=headers, timeout=timeout_s, limits=limits)
        clients.append(client)
        for _ in range(size):
            slots.put_nowait(client)
    return Server(url, clients, slots, concurrency)


_message_text = reply_text  # a reply without text counts as empty (the stage then drops it as unparseable)
