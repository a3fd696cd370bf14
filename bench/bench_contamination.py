"""Benchmark for the clean-sets check (labtax.mix.contamination) on synthetic text.

RECORDS training records (a question of ~15 words and an answer of ~120, drawn from a 5,000-word
vocabulary with a fixed seed) and ITEMS evaluation items (question + answer, ~20 words), a tenth
of them copied from training: the time to build the n-gram set once, to check every item, and to
name the nearest training record of the contaminated ones; the memory the set takes.

    .venv/bin/python bench/bench_contamination.py [--records 3000] [--items 1000] [--n 8]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
import tracemalloc

from labtax.overlap import EvalText, TrainingNgrams, TrainText, check


def text(rng: random.Random, vocab: list[str], words: int) -> str:
    return " ".join(rng.choice(vocab) for _ in range(words)) + "."


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=3000)
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--n", type=int, default=8)
    args = parser.parse_args()
    rng = random.Random(0)
    vocab = [f"w{i}" for i in range(5000)]
    records = [
        TrainText(f"train.jsonl:{i + 1}", (text(rng, vocab, 15), text(rng, vocab, 120)))
        for i in range(args.records)
    ]
    items = []
    for i in range(args.items):
        copied = i % 10 == 0  # a tenth of the questions copied from training
        question = records[rng.randrange(len(records))].texts[0] if copied else text(rng, vocab, 15)
        items.append(
            EvalText(f"items.mcq.jsonl:{i + 1}", "leaf", "knowledge", (question, text(rng, vocab, 5)))
        )
    started = time.perf_counter()
    index = TrainingNgrams(records, args.n)
    built = time.perf_counter() - started
    tracemalloc.start()  # a second build, traced: tracing slows it, so it is not the one timed
    traced = TrainingNgrams(records, args.n)
    memory = tracemalloc.get_traced_memory()[0]
    del traced
    tracemalloc.stop()
    started = time.perf_counter()
    shares = [index.share(item.tokens) for item in items]
    checked = time.perf_counter() - started
    started = time.perf_counter()
    overlaps = check(items, records, args.n, 0.5)
    whole = time.perf_counter() - started
    words = sum(len(r.tokens) for r in records)
    result = {
        "records": args.records,
        "training_words": words,
        "distinct_ngrams": len(index.hashes),
        "items": args.items,
        "contaminated": sum(o.contaminated for o in overlaps),
        "build_s": round(built, 3),
        "check_items_s": round(checked, 4),
        "check_per_item_us": round(1e6 * checked / args.items, 1),
        "check_with_nearest_s": round(whole, 3),
        "set_mib": round(memory / 2**20, 1),
        "max_share": max(shares),
    }
    json.dump(result, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
