"""Benchmark: `labtax lint` over 10,000 leaves and `labtax diff` with 10 changed leaves.

Builds a synthetic taxonomy in a temporary git repository with 1,000 commits (git fast-import,
a few seconds), then times the real CLI. Targets on 2 cores: lint < 10 s, diff < 1 s.

    .venv/bin/python bench/bench_lint_diff.py [--leaves 10000] [--commits 1000] [--keep]
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LABTAX = str(Path(sys.executable).parent / "labtax")
BRANCHES = ("compositional_skills", "foundational_skills", "knowledge")
ENV = {
    "GIT_AUTHOR_NAME": "Bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "Bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
    "PATH": "/usr/bin:/bin",
}


WORDS = [
    "velocity", "force", "energy", "mass", "charge", "field", "wave", "orbit", "prism", "lens", "circuit",
    "atom", "proton", "photon", "graph", "matrix", "vector", "limit", "series", "prime", "angle", "circle",
    "volume", "area", "ratio", "median", "proof", "lemma", "axiom", "tensor", "spring", "friction", "torque",
    "pressure", "density", "heat", "entropy", "voltage", "current", "magnet", "planet", "comet",
]  # fmt: skip


def words(seed: int, count: int = 10) -> str:
    """Different words for every sentence, so that synthetic seeds are not near-duplicates (LT302)."""
    return " ".join(random.Random(seed).sample(WORDS, count))


def skill(n: int) -> str:
    seeds = "".join(
        f"  - question: Explain {words(n * 10 + i)}?\n    answer: >-\n"
        f"      {words(n * 10 + i + 5_000_000, 20)}.\n"
        for i in range(5)
    )
    return (
        f"version: 3\ncreated_by: bench-{n % 97}\ntask_description: >-\n"
        f"  Synthetic arithmetic skill number {n}.\nseed_examples:\n{seeds}"
    )


def knowledge(n: int) -> str:
    seeds = "".join(
        f"  - context: |\n      Passage {i} of synthetic document {n} describes topic {n * 5 + i}.\n"
        "    questions_and_answers:\n"
        + "".join(
            f"      - question: Which {words(n * 100 + i * 10 + j)}?\n"
            f"        answer: {words(n * 100 + i * 10 + j + 9_000_000, 15)}.\n"
            for j in range(3)
        )
        for i in range(5)
    )
    return (
        f"version: 3\ncreated_by: bench-{n % 97}\ndomain: synthetic\n"
        f"document_outline: Synthetic document {n}.\n"
        f"seed_examples:\n{seeds}document:\n  patterns:\n    - doc.md\n  license: CC-BY-4.0\n"
    )


def leaf_files(n: int) -> dict[str, str]:
    branch = BRANCHES[n % 3]
    folder = f"taxonomy/{branch}/area_{n % 100:02d}/leaf_{n:05d}"
    files = {f"{folder}/attribution.txt": f"Synthetic leaf {n}, CC-BY-4.0.\n"}
    if branch == "knowledge":
        files[f"{folder}/qna.yaml"] = knowledge(n)
        files[f"{folder}/doc.md"] = f"# Synthetic document {n}\n\nSome text.\n"
    else:
        files[f"{folder}/qna.yaml"] = skill(n)
    return files


def build(repo: Path, leaves: int, commits: int) -> float:
    """A repository whose history adds the leaves over `commits` commits, checked out on main."""
    start = time.perf_counter()
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    per_commit = max(1, leaves // commits)
    chunks = []
    for c in range(commits):
        ops = []
        for n in range(c * per_commit, min(leaves, (c + 1) * per_commit) if c < commits - 1 else leaves):
            for path, text in leaf_files(n).items():
                data = text.encode()
                ops.append(b"M 100644 inline " + path.encode() + b"\ndata %d\n" % len(data) + data + b"\n")
        message = f"add leaves, commit {c}".encode()
        chunks.append(
            b"commit refs/heads/main\ncommitter Bench <bench@example.com> %d +0000\ndata %d\n%s\n%s"
            % (1_700_000_000 + c, len(message), message, b"".join(ops))
        )
    subprocess.run(["git", "fast-import", "--quiet"], cwd=repo, input=b"".join(chunks), check=True, env=ENV)
    subprocess.run(["git", "reset", "-q", "--hard", "main"], cwd=repo, check=True, env=ENV)
    return time.perf_counter() - start


def timed(repo: Path, *args: str) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    result = subprocess.run([LABTAX, *args], cwd=repo, capture_output=True, text=True)
    return time.perf_counter() - start, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leaves", type=int, default=10_000)
    parser.add_argument("--commits", type=int, default=1_000)
    parser.add_argument("--keep", action="store_true", help="keep the repository and print where it is")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="labtax-bench-"))
    repo = tmp / "repo"
    try:
        rows = [
            (
                "build repo",
                f"{args.leaves} leaves, {args.commits} commits",
                build(repo, args.leaves, args.commits),
                "",
            )
        ]
        seconds, result = timed(repo, "lint")
        problems = len(result.stdout.splitlines())
        rows.append(
            (
                "labtax lint",
                f"all {args.leaves} leaves, exit {result.returncode}, {problems} findings",
                seconds,
                "< 10 s",
            )
        )
        for n in range(0, args.leaves, max(1, args.leaves // 10))[:10]:  # 10 leaves spread over the tree
            qna = repo / next(p for p in leaf_files(n) if p.endswith("qna.yaml"))
            qna.write_text(qna.read_text() + "# edited\n")
        seconds, result = timed(repo, "diff", "--base", "HEAD")
        if result.returncode != 0:
            rows.append(
                ("labtax diff", f"skipped: {(result.stderr.strip().splitlines() or ['?'])[-1]}", 0.0, "< 1 s")
            )
        else:
            rows.append(
                (
                    "labtax diff",
                    f"10 changed leaves, {len(result.stdout.splitlines())} listed",
                    seconds,
                    "< 1 s",
                )
            )
            seconds, result = timed(repo, "lint", "--changed", "--base", "HEAD")
            rows.append(("labtax lint --changed", f"exit {result.returncode}", seconds, ""))
        print(f"{'step':<24}{'what':<48}{'seconds':>9}  target")
        for step, what, secs, target in rows:
            print(f"{step:<24}{what:<48}{secs:>9.2f}  {target}")
        if args.keep:
            print(f"repository kept at {repo}")
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
