"""Benchmark of `labtax rank`: preference pairs per second against a server with 100 ms latency (not a test).

Copies the starter taxonomy into a fresh git repository in a temporary folder, writes generated
records for each of its 6 leaves with generate's own writer (QUESTIONS per leaf, no teacher
needed), and ranks them with a cold call cache against a raw asyncio HTTP/1.1 server in its own
process that answers every chat request after a fixed latency: a further sample is a short
answer of varying length, a verdict or a ranking prefers the longer answer in either order (so
every verdict pair agrees and the figure counts the pairs a consistent judge gives). Reports per
method: questions, teacher calls, pairs, wall time, pairs/s and teacher calls/s against the ideal
concurrency / latency; then a rerun of the same leaves, answered by the cache.

Run: .venv/bin/python bench/bench_rank.py [--questions 20] [--latency 0.1] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from bench_teacher import completion, server_process  # noqa: E402 - the same raw server as the teacher bench

ANSWER = re.compile(r"^Answer \d: (.*)$", re.MULTILINE)


def reply_text(body: dict[str, Any]) -> str:
    """What the scripted teacher says: longer answers win, in either order."""
    prompt = body["messages"][0]["content"]
    task = prompt.split("\n", 1)[0]
    answers = ANSWER.findall(prompt)
    if task.startswith("Task: compare two answers"):
        return "1" if (len(answers[0]), answers[0]) >= (len(answers[1]), answers[1]) else "2"
    if task.startswith("Task: rank answers"):
        return "".join(
            str(i + 1)
            for i in sorted(range(len(answers)), key=lambda i: (len(answers[i]), answers[i]), reverse=True)
        )
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
    return "Answer: sample " + " ".join(
        digest[i : i + 5] for i in range(0, 5 * (2 + int(digest[0], 16) % 6), 5)
    )


def reply(raw: bytes) -> bytes:
    return completion(reply_text(json.loads(raw)), prompt_tokens=len(raw) // 4)


def make_repo(target: Path, questions: int) -> Path:
    """A copy of the starter taxonomy with `questions` generated records per leaf."""
    from labtax.generate.items import Item
    from labtax.generate.output import output_path, record, write_records
    from labtax.taxonomy import find_leaves, load_leaf

    shutil.copytree(ROOT / "taxonomy", target / "taxonomy")
    for args in (
        ["init", "-q", "-b", "main"],
        ["add", "-A"],
        ["-c", "user.name=b", "-c", "user.email=b@b", "commit", "-q", "-m", "taxonomy"],
    ):
        subprocess.run(["git", *args], cwd=target, check=True)
    provenance = {
        "taxonomy_commit": None,
        "leaf_hash": "",
        "teacher": "bench",
        "templates": {},
        "sampling": {},
        "seed": 42,
    }
    for path in find_leaves(target / "taxonomy"):
        leaf = load_leaf(target, path.relative_to(target).as_posix())
        context = "A passage of the leaf's document about its subject." if leaf.is_knowledge else None
        items = [
            Item(i, f"Question {i} of {leaf.folder}?", f"The kept answer {i}.", context=context)
            for i in range(questions)
        ]
        write_records(
            output_path(target / "generated", leaf.path, "taxonomy"),
            [record(leaf, item, provenance) for item in items],
        )
    return target


def measure(url: str, questions: int, concurrency: int, method: str) -> dict[str, Any]:
    from labtax.rank.run import RankOptions, rank

    with tempfile.TemporaryDirectory() as folder:
        repo = make_repo(Path(folder), questions)
        generate = {"teacher": url, "concurrency": concurrency, "assistant_prefill": False, "choice": "text"}
        (repo / "labtax.yaml").write_text(json.dumps({"generate": generate, "rank": {"method": method}}))
        began = time.perf_counter()
        result = rank(RankOptions(root=repo, all_leaves=True, show_progress=False))
        wall = time.perf_counter() - began
        began = time.perf_counter()
        again = rank(RankOptions(root=repo, all_leaves=True, show_progress=False))
        rerun = time.perf_counter() - began
    totals = result.manifest["totals"]
    calls = sum(e["teacher_calls"] for e in result.manifest["leaves"].values())
    return {
        "method": method,
        "questions": totals["questions"],
        "calls": calls,
        "pairs": totals["pairs"],
        "wall_s": wall,
        "rerun_s": rerun,
        "rerun_calls": sum(e["teacher_calls"] for e in again.manifest["leaves"].values()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=20, help="generated records per leaf (6 leaves)")
    parser.add_argument("--latency", type=float, default=0.1, help="server seconds per chat request")
    parser.add_argument("--concurrency", type=int, default=16, help="generate.concurrency (calls in flight)")
    args = parser.parse_args()
    ports: multiprocessing.Queue = multiprocessing.Queue()
    process = multiprocessing.Process(
        target=server_process, args=(args.latency, ports, 0, reply), daemon=True
    )
    process.start()
    try:
        url = f"http://127.0.0.1:{ports.get(timeout=30)}/v1"
        ideal = args.concurrency / args.latency
        for method in ("pairs", "list"):
            r = measure(url, args.questions, args.concurrency, method)
            print(
                f"{method:>5}: {r['questions']} questions, {r['calls']} teacher calls, "
                f"{r['pairs']} pairs in {r['wall_s']:.1f} s = {r['pairs'] / r['wall_s']:.1f} pairs/s "
                f"({r['calls'] / r['wall_s']:.0f} calls/s, ideal {ideal:.0f}); "
                f"rerun {r['rerun_s']:.2f} s with {r['rerun_calls']} teacher calls"
            )
    finally:
        process.terminate()
        process.join()


if __name__ == "__main__":
    main()
