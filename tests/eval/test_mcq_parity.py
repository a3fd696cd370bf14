"""Multiple-choice accuracy equals lm-evaluation-harness's on the same items and model."""

from __future__ import annotations

from pathlib import Path

import pytest

from labtax.eval import mcq
from labtax.eval.sets import McqItem
from labtax.models.student import Student


def lm_eval_predictions(student_dir: Path, items: list[McqItem], folder: Path) -> tuple[float, list[int]]:
    """lm-eval's own acc and per-item argmax, run on the task file labtax writes."""
    import lm_eval
    from lm_eval.tasks import TaskManager

    mcq.write_lm_eval_task(items, folder)
    results = lm_eval.simple_evaluate(
        model="hf",
        model_args=f"pretrained={student_dir},dtype=float32",
        tasks=["labtax_mcq"],
        task_manager=TaskManager(include_path=str(folder)),
        device="cpu",
        batch_size=4,
        log_samples=True,
    )
    samples = sorted(results["samples"]["labtax_mcq"], key=lambda s: s["doc_id"])
    picks = [max(range(4), key=lambda k, s=s: s["filtered_resps"][k][0]) for s in samples]
    return results["results"]["labtax_mcq"]["acc,none"], picks


@pytest.mark.slow
def test_accuracy_and_every_pick_equal_lm_eval(
    student_dir: Path, mcq_items: list[McqItem], tmp_path: Path
) -> None:
    student = Student.load(str(student_dir))
    ours = mcq.predictions(student, mcq_items, batch_size=3)
    accuracy = sum(p == i.answer for p, i in zip(ours, mcq_items, strict=True)) / len(mcq_items)
    theirs_acc, theirs = lm_eval_predictions(student_dir, mcq_items, tmp_path / "task")
    assert ours == theirs
    assert accuracy == pytest.approx(theirs_acc)


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
    shots = mcq.pick_shots(item, mcq_items, 2, seed=1)
    assert len(shots) == 2 and all(s.leaf == item.leaf and s.id != item.id for s in shots)
    context = mcq.context(item, shots)
    assert context.endswith(mcq.prompt(item)) and context.count("\n\n") == 2
    assert context.startswith(mcq.prompt(shots[0]) + " " + "ABCD"[shots[0].answer])
