"""Benchmark for labtax eval, on the starter taxonomy with the embedded student and judge (CPU).

1. Throughput of the embedded student (SmolLM2-135M): multiple-choice items per second
   (lm-eval-style log-likelihood scoring of " A".." D"), answers per second (greedy, batched,
   up to eval.max_answer_tokens), and judged answers per second (embedded judge, 1-10 choice).
2. The share of a three-phase training run's time that checkpoint scoring adds, with the LAB
   selectors (configs/train-lab.yaml: mcq for KT/1 and KT/2, judge for ST) on the starter data,
   and `labtax eval --run` of that run.

Needs generated/ with its eval/ folder (`bash scripts/run.sh --all` makes it).

    .venv/bin/python bench/bench_eval.py [--items 32] [--answers 16] [--skip-train]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# a copy with generated/ may be given
REPO = Path(os.environ.get("LABTAX_BENCH_REPO") or Path(__file__).resolve().parent.parent)
os.environ.setdefault("TORCH_EXTENSIONS_DIR", str(REPO / ".torch_extensions"))
LABTAX = str(Path(sys.executable).parent / "labtax")


def throughput(items: int, answers: int) -> dict[str, float]:
    from labtax.config import load_config
    from labtax.eval import mcq
    from labtax.eval.judge import Judge
    from labtax.eval.sets import generated_sets, seed_items
    from labtax.models.cache import CallCache
    from labtax.models.calls import NoProgress
    from labtax.models.student import Student

    config = load_config(REPO)
    questions, _ = generated_sets(REPO / config.section("generate")["output"] / "eval")
    seeds = seed_items(config)
    # a weak teacher may keep none: time the scorer on seed answers
    questions = questions or proxy_items(seeds)
    pool = (questions * (items // len(questions) + 1))[:items]
    prompts = seeds[:answers]
    student = Student.load("embedded")
    began = time.perf_counter()
    mcq.predictions(student, pool, batch_size=8)
    mcq_rate = len(pool) / (time.perf_counter() - began)
    began = time.perf_counter()
    texts = student.answers(
        [list(p.prompt) for p in prompts], int(config.section("eval")["max_answer_tokens"]), 8
    )
    answer_rate = len(prompts) / (time.perf_counter() - began)
    del student
    cache = CallCache(Path(tempfile.mkdtemp()) / "calls.sqlite")  # a cold judge

    async def grade() -> float:
        judge = Judge({**config.section("generate"), "teacher": "embedded"}, cache, None, NoProgress())
        async with judge:
            began = time.perf_counter()
            await judge.grade_all([(p.question, p.reference, t) for p, t in zip(prompts, texts, strict=True)])
            return len(prompts) / (time.perf_counter() - began)

    judge_rate = asyncio.run(grade())
    cache.close()
    return {
        "mcq_items_per_s": round(mcq_rate, 2),
        "answers_per_s": round(answer_rate, 3),
        "judged_per_s": round(judge_rate, 3),
    }


def proxy_items(seeds: list) -> list:
    """Multiple-choice items made from seed examples: the right answer and three other seeds' answers."""
    from labtax.eval.sets import McqItem

    answers = [s.reference for s in seeds]
    return [
        McqItem(
            s.id,
            "knowledge",
            s.leaf,
            s.branch,
            s.question,
            (s.reference, *[a for a in answers if a != s.reference][i % 5 : i % 5 + 3]),
            0,
        )
        for i, s in enumerate(seeds)
        if len(answers) > 4
    ]


def training_share() -> dict[str, float]:
    """Wall time of a fresh three-phase LAB-selector run, and the part spent scoring checkpoints."""
    run_dir = REPO / "runs" / "bench-eval"
    subprocess.run(["rm", "-rf", str(run_dir)], check=True)
    subprocess.run([LABTAX, "mix"], cwd=REPO, check=True, capture_output=True)
    began = time.perf_counter()
    subprocess.run(
        [LABTAX, "train", "--config", "configs/train-lab.yaml", "--set", f"output_dir={run_dir}"],
        cwd=REPO,
        check=True,
    )
    wall = time.perf_counter() - began
    journal = json.loads((run_dir / "journal.json").read_text())
    scoring = sum(p.get("eval_s", 0.0) for p in journal["phases"].values())
    began = time.perf_counter()
    # the README's documented step
    subprocess.run([LABTAX, "eval", "--run", str(run_dir)], cwd=REPO, check=True)
    return {
        "train_wall_s": round(wall, 1),
        "scoring_s": round(scoring, 1),
        "scoring_share": round(scoring / wall, 3),
        "eval_run_s": round(time.perf_counter() - began, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=32)
    parser.add_argument("--answers", type=int, default=16)
    parser.add_argument("--skip-train", action="store_true")
    args = parser.parse_args()
    figures = throughput(args.items, args.answers)
    print(json.dumps(figures), flush=True)
    if not args.skip_train:
        print(json.dumps(training_share()), flush=True)


if __name__ == "__main__":
    main()
