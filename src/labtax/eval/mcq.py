"""Multiple-choice accuracy, scored as lm-evaluation-harness scores MMLU, in two formulations.

letter (lm-eval's `mmlu`, `acc`): prompt "{question}\\nA. {c0}\\nB. {c1}\\nC. {c2}\\nD. {c3}\\nAnswer:",
continuations " A" to " D"; the choice with the highest summed log-probability is the answer.

cloze (lm-eval's `mmlu_continuation`, `acc_norm`): prompt "Question: {question}\\nAnswer:", each
option's own text " {choice}" the continuation; the highest log-probability per character of the
option wins. Small models that pick the same letter whatever the question can answer this one.

No chat template. With shots, K solved items come first, each followed by its answer (" B", or
" {choice}") and separated by a blank line, as lm-eval builds few-shot contexts. Benchmark items in
the MMLU layout are asked exactly as lm-eval's MMLU tasks ask them: the subject's description line
first, the first K items of the subject's dev split as the shots. Other items (generated knowledge
items, plain benchmark files) draw K other items of the same leaf at random (seeded).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from labtax.errors import LabtaxError
from labtax.eval.sets import LETTERS, McqItem
from labtax.files import write_text_atomic
from labtax.models.student import Student


def prompt(item: McqItem) -> str:
    options = "".join(f"\n{letter}. {choice}" for letter, choice in zip(LETTERS, item.choices, strict=True))
    return f"{item.question.strip()}{options}\nAnswer:"


def cloze_prompt(item: McqItem) -> str:
    return f"Question: {item.question.strip()}\nAnswer:"


def description(item: McqItem, cloze: bool = False) -> str:
    """lm-eval's per-subject MMLU description line (MMLU-layout benchmark items only)."""
    if not item.about:
        return ""
    kind = "questions" if cloze else "multiple choice questions"
    return f"The following are {kind} (with answers) about {item.about}.\n\n"


def context(item: McqItem, shots: list[McqItem], cloze: bool = False) -> str:
    if cloze:
        solved = [f"{cloze_prompt(s)} {s.choices[s.answer]}" for s in shots]
        return description(item, True) + "\n\n".join([*solved, cloze_prompt(item)])
    solved = [f"{prompt(s)} {LETTERS[s.answer]}" for s in shots]
    return description(item) + "\n\n".join([*solved, prompt(item)])


def pick_shots(item: McqItem, pool: list[McqItem], count: int, seed: int) -> list[McqItem]:
    """MMLU layout: the first `count` dev items of the subject, in order (lm-eval's first_n sampler).
    Otherwise `count` other items of the item's leaf, a seeded draw (fewer when the leaf has fewer)."""
    if item.about:
        if count > len(item.dev):
            raise LabtaxError(
                f"benchmark subject {item.leaf}: {count} shots asked for and its dev split has "
                f"{len(item.dev)} items; add a {item.leaf}_dev file or ask for fewer shots (--shots)"
            )
        return list(item.dev[:count])
    others = sorted((o for o in pool if o.leaf == item.leaf and o.id != item.id), key=lambda o: o.id)
    return random.Random(f"{seed}:{item.id}").sample(others, min(count, len(others)))


def predictions(
    student: Student,
    items: list[McqItem],
    shots: int = 0,
    seed: int = 1234,
    batch_size: int = 8,
    cloze: bool = False,
) -> list[int]:
    """The index of each item's pick: the letter with the highest log-likelihood (lm-eval's acc), or
    with `cloze`, the option with the highest log-likelihood per character (lm-eval's acc_norm)."""
    pairs, lengths = [], []
    for item in items:
        asked = context(item, pick_shots(item, items, shots, seed), cloze)
        options = item.choices if cloze else tuple(LETTERS[: len(item.choices)])
        pairs += [(asked, f" {option}") for option in options]
        lengths.append([len(option) if cloze else 1 for option in options])
    scores = iter(student.loglikelihoods(pairs, batch_size))
    picks = []
    for sizes in lengths:
        normed = [next(scores) / size for size in sizes]
        picks.append(max(range(len(normed)), key=lambda k, n=normed: n[k]))  # the first of ties, as numpy
    return picks


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
