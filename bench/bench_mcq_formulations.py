"""Letter versus cloze multiple choice for a small student (the embedded SmolLM2-135M-Instruct).

In MMLU's letter formulation ("...\\nA. x\\nB. y\\nC. z\\nD. w\\nAnswer:" -> " A".." D") a 135M model
picks the same letter whatever the question, so it scores the share of items whose answer is that
letter. The cloze formulation ("Question: ...\\nAnswer:" -> each option's text, per character, as
lm-eval's acc_norm) lets it show what it knows. Both are scored on bench/data/general_knowledge.jsonl
(64 simple facts, answers spread evenly over A-D), zero-shot and with shots (other items, seeded).

    .venv/bin/python bench/bench_mcq_formulations.py [--model embedded] [--shots 0 5] [--data FILE]
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data" / "general_knowledge.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="embedded")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--shots", type=int, nargs="+", default=[0, 5])
    parser.add_argument("--batch-size", type=int, default=8)
    args = parser.parse_args()

    from labtax.eval import mcq
    from labtax.eval.sets import read_mcq
    from labtax.models.student import Student

    items = read_mcq(args.data, "benchmark")
    student = Student.load(args.model)
    rows = []
    for shots in args.shots:
        for cloze in (False, True):
            started = time.monotonic()
            picks = mcq.predictions(student, items, shots, batch_size=args.batch_size, cloze=cloze)
            right = sum(p == i.answer for p, i in zip(picks, items, strict=True))
            rows.append(
                {
                    "formulation": "cloze" if cloze else "letter",
                    "shots": shots,
                    "items": len(items),
                    "accuracy": round(right / len(items), 4),
                    "picks": {"ABCD"[k]: n for k, n in sorted(Counter(picks).items())},
                    "seconds": round(time.monotonic() - started, 1),
                }
            )
            print(json.dumps(rows[-1]), flush=True)
    answers = {"ABCD"[k]: n for k, n in sorted(Counter(i.answer for i in items).items())}
    print(json.dumps({"model": student.name, "data": str(args.data), "answers": answers}))


if __name__ == "__main__":
    main()
