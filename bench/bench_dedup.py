"""Benchmark: ROUGE-L de-duplication of generated instructions (generate/dedup.py).

Two cases, each timed with the implementation in this checkout:
- the issue's runaway teacher: one 33,000-word reply checked against 5 seeds and 40 kept
  instructions, as a teacher ignoring `max_tokens` forced before replies were cut;
- the everyday case: 1,000 instructions of 12-20 words de-duplicated against each other.

    .venv/bin/python bench/bench_dedup.py [--reply-words 33000] [--kept 40] [--many 1000]
"""

from __future__ import annotations

import argparse
import random
import time

from labtax.generate.dedup import NearDuplicates

VOCABULARY = [
    "velocity", "force", "energy", "mass", "charge", "field", "wave", "orbit", "prism", "lens", "circuit",
    "atom", "proton", "photon", "graph", "matrix", "vector", "limit", "series", "prime", "angle", "circle",
    "volume", "area", "ratio", "median", "proof", "lemma", "axiom", "tensor", "spring", "friction", "torque",
    "pressure", "density", "heat", "entropy", "voltage", "current", "magnet", "planet", "comet",
]  # fmt: skip


def sentence(rng: random.Random, count: int) -> str:
    return " ".join(rng.choice(VOCABULARY) for _ in range(count))


def runaway(reply_words: int, kept: int) -> float:
    """Seconds to check one huge reply against `kept` instructions (plus 5 seeds)."""
    rng = random.Random(1)
    dedup = NearDuplicates(0.7, [sentence(rng, 12) for _ in range(5)])
    for _ in range(kept):
        dedup.add(sentence(rng, 16))
    reply = sentence(rng, reply_words)
    started = time.perf_counter()
    dedup.seen(reply)
    return time.perf_counter() - started


def everyday(many: int) -> float:
    """Seconds to filter `many` instructions against each other (the kept ones grow as they pass)."""
    rng = random.Random(2)
    texts = [sentence(rng, rng.randint(12, 20)) for _ in range(many)]
    dedup = NearDuplicates(0.7)
    started = time.perf_counter()
    for text in texts:
        if not dedup.seen(text):
            dedup.add(text)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reply-words", type=int, default=33_000)
    parser.add_argument("--kept", type=int, default=40)
    parser.add_argument("--many", type=int, default=1_000)
    args = parser.parse_args()
    print(
        f"one {args.reply_words:,}-word reply vs {args.kept} kept + 5 seeds: "
        f"{runaway(args.reply_words, args.kept):.3f} s"
    )
    print(f"{args.many:,} instructions against each other: {everyday(args.many):.3f} s")


if __name__ == "__main__":
    main()
