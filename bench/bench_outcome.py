"""Does tuning teach? The outcome experiment of docs/eval.md, end to end with the embedded models.

A knowledge leaf about an invented island (bench/outcome/varnholm/: nothing in it is true, so the
base model cannot know it) goes through the README's path in a fresh git repository:

    labtax lint && labtax generate --all && labtax mix
    labtax train --config outcome.yaml          # KT/1 -> KT/2 on the leaf's records and seeds
    labtax eval --run runs/outcome --benchmark BENCH --sets knowledge,benchmark

BENCH holds two plain-layout files: bench/outcome/benchmark/varnholm.jsonl (32 questions on the
document's facts, worded unlike the document and the seeds; answers spread evenly over A-D) and
bench/data/general_knowledge.jsonl (64 general-knowledge facts, to watch forgetting). The table
gives each model's accuracy per file in both formulations with 95 % intervals, and the paired
change of the tuned model against the base (labtax.bootstrap.paired, same items).

    .venv/bin/python bench/bench_outcome.py [--target 40] [--lr 1e-4] [--epochs 6] [--keep DIR]

One torch job at a time: run it on a quiet machine (about 15-25 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from labtax import bootstrap

REPO = Path(__file__).resolve().parents[1]
LEAF = REPO / "bench/outcome/varnholm"
BENCHMARK_FILES = [
    REPO / "bench/outcome/benchmark/varnholm.jsonl",
    REPO / "bench/data/general_knowledge.jsonl",
]
LABTAX = Path(sys.executable).parent / "labtax"
SUBJECTS = ("varnholm", "general_knowledge")


def project(root: Path, target: int) -> None:
    """A fresh taxonomy repository holding only the invented leaf, committed."""
    leaf = root / "taxonomy/knowledge/fiction/varnholm"
    shutil.copytree(LEAF, leaf)
    (root / "labtax.yaml").write_text(
        "taxonomy_root: taxonomy\n"
        "lint:\n  licenses: [CC0-1.0]\n"
        # The answers are the document's own sentences (extractive): a 135M teacher's own answers
        # invent facts (docs/generate.md), and a student tuned on them would learn the inventions.
        f"generate:\n  target_per_leaf: {target}\n  max_candidates_per_leaf: {4 * target}\n"
        "  knowledge_answers: extractive\n"
        "mix:\n  include_seeds: true\n"
    )
    bench = root / "benchmark"
    bench.mkdir()
    for path in BENCHMARK_FILES:
        shutil.copy(path, bench / path.name)
    for command in (
        ["init", "-q"],
        ["add", "-A"],
        ["-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "leaf"],
    ):
        subprocess.run(["git", *command], cwd=root, check=True)


def train_config(root: Path, lr: float, epochs: int) -> Path:
    path = root / "outcome.yaml"
    path.write_text(
        "model: embedded\ndata_dir: data\noutput_dir: runs/outcome\nschedule: [kt1, kt2]\n"
        "gradient_checkpointing: true\nselector: val_loss\n"
        f"defaults:\n  lr: {lr}\n  epochs: {epochs}\n  effective_batch_size: 8\n  warmup_steps: 0\n"
        "  scheduler: constant_with_warmup\n"
    )
    return path


def step(root: Path, *args: str) -> float:
    began = time.monotonic()
    print(f"$ labtax {' '.join(args)}", flush=True)
    done = subprocess.run([str(LABTAX), *args], cwd=root, check=False)
    if done.returncode != 0:
        raise SystemExit(f"labtax {args[0]} failed with exit {done.returncode}")
    return time.monotonic() - began


def table(result: dict) -> str:
    """Per model and file: letter and cloze accuracy with their intervals; then the paired change."""
    models = result["models"]
    lines = ["| model | file | items | letter accuracy | cloze accuracy |", "|---|---|---|---|---|"]
    for model in models:
        for subject in SUBJECTS:
            entry = model["by_subject"].get(subject, {})
            ivs = entry.get("intervals", {})
            letter, cloze = (
                bootstrap.shown(entry.get(metric), ivs.get(metric))
                for metric in ("benchmark_accuracy", "benchmark_accuracy_cloze")
            )
            lines.append(
                f"| {model['name']} | {subject} | {entry.get('benchmark_items', 0)} | {letter} | {cloze} |"
            )
    base, tuned = models[0], models[-1]
    lines += ["", f"Paired change, {tuned['name']} against {base['name']} (same items, 95 % interval):", ""]
    lines += ["| file | formulation | change |", "|---|---|---|"]
    for subject in SUBJECTS:
        for metric, name in (("benchmark_accuracy", "letter"), ("benchmark_accuracy_cloze", "cloze")):
            before = base["by_subject"].get(subject, {}).get("items", {}).get(metric, {})
            after = tuned["by_subject"].get(subject, {}).get("items", {}).get(metric, {})
            change = bootstrap.paired(before, after)
            shown = bootstrap.shown(change.mean if change else None, change, signed=True)
            lines.append(f"| {subject} | {name} | {shown} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", type=int, default=40, help="records generated for the leaf")
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--keep", type=Path, help="run in this folder and keep it (default: a temporary one)")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="labtax-outcome-"))
    root.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    project(root, args.target)
    timings = {
        "lint": step(root, "lint"),
        "generate": step(root, "generate", "--all"),
        "mix": step(root, "mix"),
        "train": step(root, "train", "--config", str(train_config(root, args.lr, args.epochs))),
        "eval": step(
            root, "eval", "--run", "runs/outcome", "--benchmark", "benchmark", "--sets", "knowledge,benchmark"
        ),
    }
    result = json.loads((root / "runs/outcome/eval/eval.json").read_text())
    print(table(result))
    print("\nseconds: " + ", ".join(f"{k} {v:.0f}" for k, v in timings.items()))
    print(f"folder: {root}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
