"""Checkpoints chosen by benchmark: a real two-process DeepSpeed run whose phases choose by
multiple-choice accuracy (KT/1) and by a scripted judge on 127.0.0.1 (ST)."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from labtax import bootstrap
from labtax.eval.checkpoint import score_epoch
from labtax.train.select import Candidate, decide, decided_by, get_selector, selector_weights, why
from labtax.train.summary import train_summary
from tests.generate.teacher_server import Reply, TeacherServer, stage_of
from tests.train import tiny

GRADES = ["3", "3", "9", "9", "5", "5"]  # by call order: epoch 1's two seed prompts first


def mcq_items(folder: Path) -> None:
    """Multiple-choice items for the knowledge leaf, as `labtax generate` writes them."""
    leaf = tiny.LEAVES["knowledge"]
    answers = [a for _, a in tiny.FACTS]
    rows = []
    for i, (question, answer) in enumerate(tiny.FACTS):
        choices = [a for a in answers if a != answer][:3]
        choices.insert(i % 4, answer)
        rows.append(
            {
                "id": f"m{i}",
                "set": "knowledge",
                "leaf": leaf,
                "branch": "knowledge",
                "question": question,
                "choices": choices,
                "answer": i % 4,
            }
        )
    out = folder / "eval" / (leaf.removeprefix("taxonomy/").removesuffix("/qna.yaml") + ".mcq.jsonl")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(json.dumps(r) + "\n" for r in rows))


@pytest.mark.slow
def test_phases_choose_the_best_scored_epoch_scored_once_per_checkpoint(
    project: Path, tmp_path: Path
) -> None:
    from labtax.config import load_config
    from labtax.mix import mix
    from labtax.train.config import load_train_config
    from labtax.train.launch import train

    root = tmp_path / "bench"
    shutil.copytree(project, root, ignore=shutil.ignore_patterns("runs", "data"))
    mcq_items(root / "generated")
    calls: Counter[str] = Counter()

    def judge(body: dict[str, Any], attempt: int) -> Reply:
        assert stage_of(body) == "judge_answer"
        calls["n"] += 1
        return Reply(GRADES[(calls["n"] - 1) % len(GRADES)])

    with TeacherServer(judge) as server:
        (root / "labtax.yaml").write_text(
            "mix:\n  short_max_tokens: 20\n  tokenizer: model\n"
            f"generate:\n  teacher: {server.url}\n  concurrency: 1\n  retry_backoff_s: 0.01\n"
            "  assistant_prefill: false\n  choice: logprobs\n"
            "eval:\n  max_answer_tokens: 6\n"
            "  contamination_threshold: 1.0\n"  # the items ask the training facts: scores must move
        )
        mix(load_config(root))
        config = tiny.write_config(root, "selectors", 2)
        config.write_text(
            config.read_text()
            .replace("data_dir: " + str(project / "data"), "data_dir: " + str(root / "data"))
            .replace(str(project / "model"), str(root / "model"))
            + (
                "schedule: [kt1, st]\nphases:\n  kt1:\n    selector: mcq\n"
                "  st:\n    epochs: 3\n    selector: judge\n"
            )
        )
        config.write_text(config.read_text().replace("phases:\n  kt2:\n    epochs: 3\n", ""))
        result = train(load_train_config(config), echo=lambda _: None, scorer=score_epoch)
        judged = list(server.answered)

    kt1, st = result["phases"]["kt1"], result["phases"]["st"]
    assert all(e["eval"]["mcq_items"] == 8 for e in kt1["epochs"])  # each epoch scored, on one process
    best = get_selector("mcq")("kt1", [Candidate.from_journal(e) for e in kt1["epochs"]])
    assert kt1["chosen"]["epoch"] == best.epoch and kt1["chosen"]["selector"] == "mcq"
    assert "items" in kt1["epochs"][0]["eval"] and len(kt1["epochs"][0]["eval"]["items"]["mcq_accuracy"]) == 8
    assert "highest mcq score" in kt1["chosen"]["why"] or "mcq could not separate" in kt1["chosen"]["why"]
    # ST: 3 epochs x 2 seed prompts of the compositional leaf (no held-out prompts). An answer an
    # earlier epoch already gave is graded from the cache: the judge never sees a request twice.
    assert [e["eval"]["judge_items"] for e in st["epochs"]] == [2, 2, 2]
    bodies = [json.dumps(b, sort_keys=True) for b in judged]
    assert 2 <= len(bodies) <= 6 and len(set(bodies)) == len(bodies)
    assert st["epochs"][0]["eval"]["judge_score"] == 3.0  # the first two grades
    # Two items per epoch: the judge's scores separate epochs only where both items moved together;
    # otherwise the tie-breaker (lowest validation loss, then the earlier epoch) chose, and says so.
    scores = {e["epoch"]: e["eval"]["judge_score"] for e in st["epochs"]}
    decision = decide({"judge": 1.0}, "st", [Candidate.from_journal(e) for e in st["epochs"]])
    assert st["chosen"]["epoch"] == decision.chosen.epoch and decision.chosen.scores["items"]["judge_score"]
    assert scores[decision.tied[0].epoch] == max(scores.values())  # the best scored epoch leads the tie
    if decision.decided_by == "scores":
        assert "highest judge score" in st["chosen"]["why"] and decided_by(st["chosen"]) == "judge"
    else:
        assert "judge could not separate epochs" in st["chosen"]["why"]
        assert decided_by(st["chosen"]) == decision.decided_by == "val_loss"
        assert decision.chosen.val_loss == min(c.val_loss for c in decision.tied)
    assert st["eval_s"] > 0 and selector_weights("judge") == {"judge": 1.0}


def scored(epoch: int, val: float | None, marks: list[int]) -> Candidate:
    """An epoch as eval.checkpoint scores it: the accuracy and each item's result."""
    items = {f"m{i}": c for i, c in enumerate(marks)}
    scores = {
        "mcq_accuracy": sum(marks) / len(marks),
        "mcq_items": len(marks),
        "items": {"mcq_accuracy": items},
    }
    return Candidate(epoch, f"epoch-{epoch}", val, scores=scores)


def test_a_selector_says_when_epochs_are_indistinguishable_and_which_tie_breaker_chose() -> None:
    # epochs 1 and 2 differ by one item of twenty: their paired interval includes 0
    close = [scored(1, 0.9, [1] * 12 + [0] * 8), scored(2, 1.1, [1] * 13 + [0] * 7)]
    chosen = get_selector("mcq")("kt1", close)
    assert chosen.epoch == 1  # epoch 2 scores higher, but not apart: the lower validation loss decides
    record = {"selector": "mcq", "why": why("mcq", chosen, close)}
    assert "mcq could not separate epochs 1, 2" in record["why"] and "2 - 1: +0.050 [" in record["why"]
    assert decided_by(record) == "val_loss"
    # without validation loss: the earlier epoch
    bare = [Candidate(c.epoch, c.checkpoint, None, scores=c.scores) for c in close]
    assert get_selector("mcq")("kt1", bare).epoch == 1
    assert decided_by({"selector": "mcq", "why": why("mcq", close[0], bare)}) == "earlier epoch"
    # epoch 3 gets right every item epoch 1 missed: apart, the scores decide
    apart = [*close, scored(3, 1.3, [1] * 20)]
    chosen = get_selector("mcq")("kt1", apart)
    text = why("mcq", chosen, apart)
    assert chosen.epoch == 3 and text.startswith("highest mcq score 1.000, apart from every other epoch")
    gap = bootstrap.paired(close[0].scores["items"]["mcq_accuracy"], apart[2].scores["items"]["mcq_accuracy"])
    assert gap.low > 0 and f"3 - 1: {bootstrap.shown(0.4, gap, signed=True)}" in text
    assert decided_by({"selector": "mcq", "why": text}) == "mcq"


def test_the_train_summary_never_names_a_selector_that_did_not_decide() -> None:
    unscored = [Candidate(1, "a", 0.3), Candidate(2, "b", 0.2)]
    chosen = get_selector("mcq")("kt1", unscored)
    record = {"epoch": chosen.epoch, "selector": "mcq", "why": why("mcq", chosen, unscored)}
    result = {
        "schedule": ["kt1"],
        "phases": {"kt1": {"status": "done", "chosen": record}},
        "final_checkpoint": "b",
    }
    line = train_summary(result).splitlines()[1]
    assert line == (
        "  KT/1   epoch 2 by val_loss: mcq had no items to score; "
        "tie-breaker: lowest validation loss (epochs 1: 0.3000, 2: 0.2000)"
    )
    assert "by mcq" not in line
