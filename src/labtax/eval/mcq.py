"""Multiple-choice accuracy, scored as lm-evaluation-harness scores MMLU.

Prompt "{question}\\nA. {c0}\\nB. {c1}\\nC. {c2}\\nD. {c3}\\nAnswer:", continuations " A" to
" D", no chat template; the choice with the highest summed log-probability is the model's
answer (lm-eval's `acc`). With shots, K solved items of the same leaf come first, each
followed by " {letter}" and separated by a blank line, as lm-eval builds few-shot contexts.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from labtax.eval.sets import LETTERS, McqItem
from labtax.files import write_text_atomic
from labtax.models.student import Student


def prompt(item: McqItem) -> str:
    options = "".join(f"\n{letter}. {choice}" for letter, choice in zip(LETTERS, item.choices, strict=True))
    return f"{item.question.strip()}{options}\nAnswer:"


def context(item: McqItem, shots: list[McqItem]) -> str:
    solved = [f"{prompt(s)} {LETTERS[s.answer]}" for s in shots]
    return "\n\n".join([*solved, prompt(item)])


def pick_shots(item: McqItem, pool: list[McqItem], count: int, seed: int) -> list[McqItem]:
    """`count` other items of the item's leaf, a seeded draw (fewer when the leaf has fewer)."""
    others = sorted((o for o in pool if o.leaf == item.leaf and o.id != item.id), key=lambda o: o.id)
    return random.Random(f"{seed}:{item.id}").sample(others, min(count, len(others)))


def predictions(
    student: Student, items: list[McqItem], shots: int = 0, seed: int = 1234, batch_size: int = 8
) -> list[int]:
    """The index each item's highest-likelihood continuation points at."""
    pairs = [
        (context(item, pick_shots(item, items, shots, seed)), f" {letter}")
        for item in items
        for letter in LETTERS
    ]
    scores = student.loglikelihoods(pairs, batch_size)
    return [max(range(4), key=lambda k, i=i: scores[4 * i + k]) for i in range(len(items))]


# lm-evaluation-harness task for the same items and prompt: `lm_eval --include_path DIR --tasks NAME`.
LM_EVAL_TEXT = (
    "{{question.strip()}}\nA. {{choices[0]}}\nB. {{choices[1]}}\n"
    "C. {{choices[2]}}\nD. {{choices[3]}}\nAnswer:"
)


def write_lm_eval_task(items: list[McqItem], folder: Path, name: str = "labtax_mcq") -> Path:
    """A task folder lm-evaluation-harness runs as is (zero-shot, acc): the items as local JSONL
    and a task YAML whose prompt and continuations are exactly `prompt()` and " A".." D"."""
    folder.mkdir(parents=True, exist_ok=True)
    data = folder / f"{name}.jsonl"
    rows = [
        {"id": i.id, "leaf": i.leaf, "question": i.question, "choices": list(i.choices), "answer": i.answer}
        for i in items
    ]
    write_text_atomic(data, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    task = {
        "task": name,
        "dataset_path": "json",
        "dataset_kwargs": {"data_files": {"test": str(data.resolve())}},
        "test_split": "test",
        "output_type": "multiple_choice",
        "doc_to_text": LM_EVAL_TEXT,
        "doc_to_choice": list(LETTERS),
        "doc_to_target": "answer",
        "metric_list": [{"metric": "acc", "aggregation": "mean", "higher_is_better": True}],
    }
    path = folder / f"{name}.yaml"
    write_text_atomic(path, json.dumps(task, indent=2) + "\n")  # JSON is YAML
    return path
