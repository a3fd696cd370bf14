"""Multiple-choice picks equal lm-evaluation-harness's on the same items and model: the letter
formulation (acc), the cloze formulation (acc_norm), and benchmark folders in the MMLU layout run
through lm-eval's own MMLU task configuration (description line, dev shots), zero-shot and with shots."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from labtax.eval import mcq
from labtax.eval.sets import McqItem, benchmark_items
from labtax.models.student import Student

# two real MMLU subjects, so lm-eval's own subject yamls (with their description lines) apply
SUBJECTS = ("anatomy", "high_school_us_history")
MMLU_TASKS = Path(__import__("lm_eval").__file__).parent / "tasks" / "mmlu"


def lm_eval_run(
    student_dir: Path, folder: Path, tasks: list[str], shots: int | None = None
) -> dict[str, Any]:
    import lm_eval
    from lm_eval.tasks import TaskManager

    return lm_eval.simple_evaluate(
        model="hf",
        model_args=f"pretrained={student_dir},dtype=float32",
        tasks=tasks,
        num_fewshot=shots,
        task_manager=TaskManager(include_path=str(folder)),
        device="cpu",
        batch_size=4,
        log_samples=True,
    )


def lm_eval_picks(results: dict[str, Any], task: str, norm: bool = False) -> list[int]:
    """lm-eval's per-item argmax: of the log-likelihoods (acc), or per character of the choice (acc_norm)."""
    picks = []
    for s in sorted(results["samples"][task], key=lambda s: s["doc_id"]):
        lls = [r[0] for r in s["filtered_resps"]]
        lengths = [len(c) for c in s["doc"]["choices"]] if norm else [1] * len(lls)
        normed = [ll / n for ll, n in zip(lls, lengths, strict=True)]
        picks.append(max(range(len(normed)), key=lambda k, n=normed: n[k]))
    return picks


def lm_eval_contexts(results: dict[str, Any], task: str) -> list[str]:
    samples = sorted(results["samples"][task], key=lambda s: s["doc_id"])
    return [s["arguments"][0][0] for s in samples]  # each choice's (context, continuation)


def test_accuracy_and_every_pick_equal_lm_eval(
    student_dir: Path, mcq_items: list[McqItem], tmp_path: Path
) -> None:
    student = Student.load(str(student_dir))
    ours = mcq.predictions(student, mcq_items, batch_size=3)
    accuracy = sum(p == i.answer for p, i in zip(ours, mcq_items, strict=True)) / len(mcq_items)
    mcq.write_lm_eval_task(mcq_items, tmp_path / "task")
    results = lm_eval_run(student_dir, tmp_path / "task", ["labtax_mcq"])
    assert ours == lm_eval_picks(results, "labtax_mcq")
    assert accuracy == pytest.approx(results["results"]["labtax_mcq"]["acc,none"])


def mmlu_folder(root: Path) -> Path:
    """A benchmark folder in the public MMLU layout (dev/, val/, test/), as JSONL with MMLU's field
    names; the dev items differ from the test items, so shots from the wrong split would show."""
    facts = [(q, a.rstrip(".")) for q, a in __import__("tests.train.tiny", fromlist=["FACTS"]).FACTS]
    answers = [a for _, a in facts]
    for s, subject in enumerate(SUBJECTS):
        for split, picked in (("dev", facts[:3]), ("val", facts[3:4]), ("test", facts[3:] + facts[:2])):
            rows = []
            for i, (question, answer) in enumerate(picked):
                wrong = [a for a in answers if a != answer][(i + s) % 4 : (i + s) % 4 + 3]
                position = (i + s) % 4
                choices = wrong[:position] + [answer] + wrong[position:]
                rows.append({"question": f"{question} ({subject})", "choices": choices, "answer": position})
            path = root / split / f"{subject}_{split}.jsonl"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root


def lm_eval_mmlu_tasks(data: Path, folder: Path) -> dict[str, tuple[str, str]]:
    """lm-eval's own MMLU task files (letter: default/, cloze: continuation/), copied as they are;
    each subject yaml gets only a new task name and the local files in place of cais/mmlu.
    Returns task name -> (subject, formulation)."""
    folder.mkdir(parents=True)
    names = {}
    for kind, template in (
        ("default", "_default_template_yaml"),
        ("continuation", "_continuation_template_yaml"),
    ):
        (folder / template).write_text((MMLU_TASKS / kind / template).read_text())
        for subject in SUBJECTS:
            config = yaml.safe_load((MMLU_TASKS / kind / f"mmlu_{subject}.yaml").read_text())
            name = f"labtax_{kind}_{subject}"
            config.pop("tag", None)
            config |= {
                "task": name,
                "dataset_path": "json",
                "dataset_name": None,
                "dataset_kwargs": {
                    "data_files": {s: str(data / s / f"{subject}_{s}.jsonl") for s in ("dev", "val", "test")}
                },
            }
            (folder / f"{name}.yaml").write_text(yaml.safe_dump(config))
            names[name] = (subject, kind)
    return names


@pytest.mark.slow
@pytest.mark.parametrize("shots", [0, 2])
def test_mmlu_layout_is_scored_as_lm_eval_scores_mmlu(student_dir: Path, tmp_path: Path, shots: int) -> None:
    data = mmlu_folder(tmp_path / "mmlu")
    tasks = lm_eval_mmlu_tasks(data, tmp_path / "tasks")
    items = benchmark_items(data)
    assert len(items) == 2 * 7 and {i.leaf for i in items} == set(SUBJECTS)  # the test splits only
    student = Student.load(str(student_dir))
    letter = mcq.predictions(student, items, shots, batch_size=4)
    cloze = mcq.predictions(student, items, shots, batch_size=4, cloze=True)
    results = lm_eval_run(student_dir, tmp_path / "tasks", sorted(tasks), shots)
    compared = 0
    for task, (subject, kind) in tasks.items():
        index = [k for k, i in enumerate(items) if i.leaf == subject]
        subset = [items[k] for k in index]
        # the very prompts lm-eval built: description line, first dev items, the question
        assert [
            mcq.context(i, mcq.pick_shots(i, items, shots, 0), kind == "continuation") for i in subset
        ] == (lm_eval_contexts(results, task))
        ours = [(cloze if kind == "continuation" else letter)[k] for k in index]
        assert ours == lm_eval_picks(results, task, norm=kind == "continuation")
        metric = "acc_norm,none" if kind == "continuation" else "acc,none"
        accuracy = sum(p == i.answer for p, i in zip(ours, subset, strict=True)) / len(subset)
        assert accuracy == pytest.approx(results["results"][task][metric])
        compared += len(subset)
    assert compared == 4 * 7
    if shots:
        context = mcq.context(items[0], mcq.pick_shots(items[0], items, shots, 0))
        assert context.startswith(
            "The following are multiple choice questions (with answers) about anatomy.\n\n"
            "What colour is the sky on a clear day? (anatomy)\nA. "
        )


def test_log_likelihoods_do_not_depend_on_the_batch(student_dir: Path) -> None:
    student = Student.load(str(student_dir))
    pairs = [
        ("How many legs does a spider have?\nAnswer:", " Eight."),
        ("Which animal says moo?", " A cow."),
        ("x", " y"),
    ]
    one_by_one = [student.loglikelihoods([p])[0] for p in pairs]
    assert student.loglikelihoods(pairs, batch_size=3) == pytest.approx(one_by_one, abs=1e-4)
    assert all(score < 0 for score in one_by_one)


def test_prompt_is_the_mmlu_layout_and_shots_come_from_the_same_leaf(mcq_items: list[McqItem]) -> None:
    item = mcq_items[0]
    assert mcq.prompt(item) == (
        f"{item.question}\nA. {item.choices[0]}\nB. {item.choices[1]}\n"
        f"C. {item.choices[2]}\nD. {item.choices[3]}\nAnswer:"
    )
    assert mcq.cloze_prompt(item) == f"Question: {item.question}\nAnswer:"
    shots = mcq.pick_shots(item, mcq_items, 2, seed=1)
    assert len(shots) == 2 and all(s.leaf == item.leaf and s.id != item.id for s in shots)
    context = mcq.context(item, shots)
    assert context.endswith(mcq.prompt(item)) and context.count("\n\n") == 2
    assert context.startswith(mcq.prompt(shots[0]) + " " + "ABCD"[shots[0].answer])
    cloze = mcq.context(item, shots, cloze=True)
    assert cloze.startswith(f"Question: {shots[0].question}\nAnswer: {shots[0].choices[shots[0].answer]}\n\n")
    assert cloze.endswith(mcq.cloze_prompt(item))
