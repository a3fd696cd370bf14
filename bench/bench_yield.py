"""Benchmark: kept records per teacher call on the starter taxonomy with the embedded teacher (not a test).

Copies this repository's taxonomy/ and labtax.yaml into a fresh git repository in a temporary
folder, runs `labtax generate --all` with the default settings (plus any `--set KEY=VALUE`),
and prints per leaf: records kept, teacher calls, kept per call, and the totals with the wall time.
Each run starts with an empty call cache, so every call is a real teacher call.

Run: nice -n 5 .venv/bin/python bench/bench_yield.py [--set num_instructions=4]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def make_copy(target: Path) -> Path:
    shutil.copytree(ROOT / "taxonomy", target / "taxonomy")
    shutil.copy(ROOT / "labtax.yaml", target / "labtax.yaml")
    for args in (
        ["init", "-q", "-b", "main"],
        ["add", "-A"],
        ["-c", "user.name=b", "-c", "user.email=b@b", "commit", "-q", "-m", "taxonomy"],
    ):
        subprocess.run(["git", *args], cwd=target, check=True)
    return target


def generate_starter(overrides: dict[str, Any]) -> tuple[Any, float]:
    """`labtax generate --all` on a fresh copy of the starter taxonomy with `overrides`; the result
    and its wall time."""
    from labtax.generate import GenerateOptions, generate

    with tempfile.TemporaryDirectory() as folder:
        repo = make_copy(Path(folder))
        if overrides:
            with (repo / "labtax.yaml").open("a") as config:
                config.write("\ngenerate: " + json.dumps(overrides) + "\n")
        started = time.monotonic()
        result = generate(GenerateOptions(root=repo, all_leaves=True, show_progress=False))
        return result, time.monotonic() - started


def print_yield(result: Any, wall: float) -> None:
    """Per leaf: records, teacher calls, kept per call; then the totals."""
    leaves = result.manifest.get("leaves", {})
    kept = calls = 0
    print(f"{'leaf':<60} {'records':>7} {'calls':>6} {'kept/call':>9}")
    for path, entry in sorted(leaves.items()):
        kept += entry["records"]
        calls += entry["teacher_calls"]
        print(
            f"{path.removesuffix('/qna.yaml'):<60} {entry['records']:>7} {entry['teacher_calls']:>6} "
            f"{entry['records'] / max(1, entry['teacher_calls']):>9.3f}"
        )
    empty = sum(1 for entry in leaves.values() if entry["records"] == 0)
    print(
        f"total: {kept} records from {calls} teacher calls = {kept / max(1, calls):.3f} kept per call; "
        f"{empty} of {len(leaves)} leaves empty; failed {len(result.failed)}; {wall:.0f} s"
    )
    for reason in result.failed.values():
        print(f"failed: {reason}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a generate.* setting (JSON value)",
    )
    args = parser.parse_args()
    overrides = {key: json.loads(value) for key, value in (item.split("=", 1) for item in args.sets)}
    print_yield(*generate_starter(overrides))


if __name__ == "__main__":
    main()
