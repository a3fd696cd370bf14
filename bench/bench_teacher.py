"""Benchmark of the OpenAI-compatible teacher client (not a test).

A raw asyncio HTTP/1.1 server on 127.0.0.1, in its own process, answers /v1/chat/completions with
a fixed reply, optionally after a fixed latency; it parses only what it must, so the client is
what is measured. Reports:
  1. requests/s sustained at concurrency 64 with a zero-latency server;
  2. achieved/ideal throughput at concurrency 32 with 100 ms server latency (target >= 0.9),
     where ideal = concurrency / latency.

Run: .venv/bin/python bench/bench_teacher.py [--requests N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import time
from collections.abc import Callable

from labtax.models.openai_teacher import OpenAITeacher

REPLY = json.dumps(
    {
        "id": "b",
        "object": "chat.completion",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Instruction: hi"},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 3},
    }
).encode()
MODELS = json.dumps({"data": [{"id": "bench"}]}).encode()


def completion(text: str, prompt_tokens: int = 10) -> bytes:
    """A chat completion body whose reply is `text`."""
    return json.dumps(
        {
            "id": "b",
            "object": "chat.completion",
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
            ],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": len(text.split())},
        }
    ).encode()


async def serve(
    latency: float, capacity: int = 0, reply: Callable[[bytes], bytes] | None = None
) -> tuple[asyncio.AbstractServer, int]:
    """The server; with `capacity`, at most that many requests are worked on at once (the rest queue);
    `reply` makes each answer from the request body (default: one fixed reply)."""
    gate = asyncio.Semaphore(capacity) if capacity else None

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                raw = await reader.readexactly(length) if length else b""
                body = MODELS if head.startswith(b"GET") else reply(raw) if reply else REPLY
                if latency and not head.startswith(b"GET"):
                    if gate is not None:
                        async with gate:
                            await asyncio.sleep(latency)
                    else:
                        await asyncio.sleep(latency)
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                    % (len(body), body)
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
    return server, server.sockets[0].getsockname()[1]


def server_process(
    latency: float,
    ports: multiprocessing.Queue,
    capacity: int = 0,
    reply: Callable[[bytes], bytes] | None = None,
) -> None:
    """The server in its own process and event loop, so it does not share the client's CPU time."""

    async def run() -> None:
        server, port = await serve(latency, capacity, reply)
        ports.put(port)
        async with server:
            await server.serve_forever()

    asyncio.run(run())


async def measure(latency: float, concurrency: int, requests: int) -> float:
    ports: multiprocessing.Queue = multiprocessing.Queue()
    process = multiprocessing.Process(target=server_process, args=(latency, ports), daemon=True)
    process.start()
    try:
        return await _measure(ports.get(timeout=30), concurrency, requests)
    finally:
        process.terminate()
        process.join()


async def _measure(port: int, concurrency: int, requests: int) -> float:
    section = {
        "model": None,
        "concurrency": concurrency,
        "request_timeout_s": 30,
        "max_retries": 0,
        "retry_backoff_s": 0.1,
        "choice": "text",
        "assistant_prefill": False,
        "context_tokens": None,
    }
    teacher = OpenAITeacher(f"http://127.0.0.1:{port}/v1", section)
    await teacher.start()
    messages = [{"role": "user", "content": "Task: write one new instruction."}]
    params = {"temperature": 0.7, "top_p": 0.95, "max_tokens": 16, "seed": 1}
    # warm the pool
    await asyncio.gather(*(teacher.complete(messages, "", params) for _ in range(concurrency)))
    started = time.perf_counter()
    await asyncio.gather(*(teacher.complete(messages, "", params) for _ in range(requests)))
    elapsed = time.perf_counter() - started
    await teacher.close()
    return requests / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=4000, help="requests in the zero-latency run")
    args = parser.parse_args()
    rate = asyncio.run(measure(0.0, 64, args.requests))
    print(f"zero latency, concurrency 64: {rate:,.0f} requests/s over {args.requests} requests")
    latency, concurrency, requests = 0.1, 32, 32 * 50
    achieved = asyncio.run(measure(latency, concurrency, requests))
    ideal = concurrency / latency
    print(
        f"100 ms latency, concurrency 32: {achieved:,.1f} requests/s of an ideal {ideal:.0f} = "
        f"{achieved / ideal:.3f}"
    )


if __name__ == "__main__":
    main()
