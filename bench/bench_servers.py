"""Benchmark: throughput over 1, 2 and 4 teacher servers (not a test).

Each server (bench_teacher's raw HTTP server; all of them in one process apart from the client's)
works on at most 4 requests at a time, each taking 100 ms, so one server tops out at 40 requests/s.
The client is labtax's OpenAITeacher with those servers as its `teacher` list and `concurrency: 4`
per server, driven by many concurrent calls. Targets: 2 servers >= 1.8x the throughput of 1,
4 servers >= 3.5x.

Run: .venv/bin/python bench/bench_servers.py [--requests N] [--latency S]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_teacher import serve  # noqa: E402

from labtax.models.openai_teacher import OpenAITeacher  # noqa: E402

CAPACITY = 4


async def throughput(ports: list[int], requests: int) -> tuple[float, float]:
    """Requests per second, and the client's CPU milliseconds per request."""
    section = {
        "model": None,
        "concurrency": CAPACITY,
        "request_timeout_s": 30,
        "max_retries": 0,
        "retry_backoff_s": 0.1,
        "choice": "text",
        "assistant_prefill": False,
        "context_tokens": None,
    }
    teacher = OpenAITeacher([f"http://127.0.0.1:{port}/v1" for port in ports], section)
    await teacher.start()
    messages = [{"role": "user", "content": "Task: write one new instruction."}]
    params = {"temperature": 0.7, "top_p": 0.95, "max_tokens": 16, "seed": 1}
    # open the connections
    await asyncio.gather(*(teacher.complete(messages, "", params) for _ in range(CAPACITY * len(ports))))
    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(teacher.complete(messages, "", params) for _ in range(requests)))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    await teacher.close()
    return requests / elapsed, 1000 * cpu / requests


def servers_process(count: int, latency: float, ports: multiprocessing.Queue) -> None:
    """`count` capacity-limited servers in one process and event loop (apart from the client's CPU time;
    one process rather than `count` keeps the servers' own scheduling delays equal across runs)."""

    async def run() -> None:
        started = [await serve(latency, CAPACITY) for _ in range(count)]
        for _, port in started:
            ports.put(port)
        await asyncio.gather(*(server.serve_forever() for server, _ in started))

    asyncio.run(run())


def measure(servers: int, latency: float, requests: int) -> tuple[float, float]:
    queue: multiprocessing.Queue = multiprocessing.Queue()
    process = multiprocessing.Process(target=servers_process, args=(servers, latency, queue), daemon=True)
    process.start()
    try:
        return asyncio.run(throughput([queue.get(timeout=30) for _ in range(servers)], requests))
    finally:
        process.terminate()
        process.join()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=160, help="requests per server")
    parser.add_argument("--latency", type=float, default=0.1, help="seconds each request takes on its server")
    args = parser.parse_args()
    rates = {n: measure(n, args.latency, args.requests * n) for n in (1, 2, 4)}
    ideal = CAPACITY / args.latency
    for n, (rate, cpu_ms) in rates.items():
        print(
            f"{n} server{'s' * (n > 1)} ({CAPACITY} at a time, {args.latency * 1000:.0f} ms each): "
            f"{rate:6.1f} requests/s = {rate / rates[1][0]:.2f}x of one (ideal {ideal * n:.0f}); "
            f"client CPU {cpu_ms:.1f} ms/request"
        )


if __name__ == "__main__":
    main()
