"""Unit checks of the eval pieces: parsing multiple-choice replies, shuffling, rounds, hold-out,
grades, reference metrics against hand-computed values, regressions, selectors."""

from __future__ import annotations

import math
from collections import Counter

import pytest

from labtax.eval import reference
from labtax.eval.judge import expected_grade
from labtax.eval.scoring import regressions
from labtax.generate.mcq_items import parse_mcq, round_size, shuffled
from labtax.generate.output import hold_out
from labtax.models.teacher import LOGPROB_FLOOR
from labtax.train.select import Candidate, get_selector, why


@pytest.mark.parametrize(
    "reply",
    [
        "Question: What is velocity?\nA. A force\nB. Rate of change of position\nC. A mass\n"
        "D. An energy\nAnswer: B",
        " What is velocity?\nA) A force\nB) Rate of change of position\nC) A mass\nD) An energy\n"
        "\nCorrect answer: (B)",
        "Question: What is velocity?\n(a) A force\n(b) Rate of change of position\n(c) A mass\n"
        "(d) An energy\n**Answer:** b. Rate of change",
    ],
)
def test_multiple_choice_replies_parse_in_common_layouts(reply: str) -> None:
    assert parse_mcq(reply) == (
        "What is velocity?",
        ["A force", "Rate of change of position", "A mass", "An energy"],
        1,
    )


@pytest.mark.parametrize(
    "reply",
    [
        "Question: What is velocity?\nA. A force\nB. Rate\nC. A mass\nAnswer: B",  # three options
        "Question: What is velocity?\nA. A force\nB. Rate\nC. A mass\nD. An energy",  # no answer
        # repeated option
        "Question: What is velocity?\nA. Rate\nB. Rate\nC. A mass\nD. An energy\nAnswer: A",
        "A. A force\nB. Rate\nC. A mass\nD. An energy\nAnswer: A",  # no question
        "Question: Why?\nB. A force\nA. Rate\nC. A mass\nD. An energy\nAnswer: A",  # letters out of order
    ],
)
def test_broken_multiple_choice_replies_are_refused(reply: str) -> None:
    assert parse_mcq(reply) is None


def test_shuffling_moves_the_answer_with_its_option_and_spreads_letters() -> None:
    choices = ["right", "w1", "w2", "w3"]
    positions = Counter()
    for sample in range(200):
        mixed, answer = shuffled(choices, 0, f"42\0leaf\0mcq\0{sample}")
        assert sorted(mixed) == sorted(choices) and mixed[answer] == "right"
        positions[answer] += 1
    assert set(positions) == {0, 1, 2, 3} and min(positions.values()) > 30
    assert shuffled(choices, 0, "same") == shuffled(choices, 0, "same")


def test_rounds_ask_for_the_missing_items_scaled_by_the_yield() -> None:
    assert round_size(4, 0, 0, 12) == 4  # first round: as many as wanted
    assert round_size(3, 1, 4, 8) == 8  # yield 1/4 -> 12 wanted, capped by the budget left
    assert round_size(2, 2, 4, 8) == 4  # yield 1/2
    assert round_size(4, 0, 4, 8) == 8  # nothing kept: the floor yield (1/4)
    assert round_size(4, 0, 12, 0) == 0  # budget spent


def test_hold_out_takes_a_seeded_share_never_all_and_at_least_one() -> None:
    records = [{"id": f"{i:032x}"} for i in range(10)]
    train, held = hold_out(records, 0.2, "k")
    assert len(held) == 2 and len(train) == 8 and not {r["id"] for r in held} & {r["id"] for r in train}
    assert hold_out(records, 0.2, "k") == (train, held)
    assert len(hold_out(records[:2], 0.2, "k")[1]) == 1  # at least one of two
    assert hold_out(records[:1], 0.9, "k") == (records[:1], [])  # never the only one
    assert hold_out(records, 0.0, "k") == (records, [])


def test_expected_grade_is_the_probability_weighted_mean_over_scored_labels() -> None:
    logprobs = {str(g): LOGPROB_FLOOR for g in range(1, 11)} | {
        "7": math.log(0.5),
        "9": math.log(0.25),
        "3": math.log(0.25),
    }
    assert expected_grade(logprobs) == pytest.approx(0.5 * 7 + 0.25 * 9 + 0.25 * 3)
    assert expected_grade(None) is None and expected_grade({"1": LOGPROB_FLOOR}) is None


def test_bleu_and_rouge_against_hand_computed_values() -> None:
    hyp, ref = "the cat sat on the mat", "the cat sat on a mat"
    # n-gram precisions 5/6, 3/5, 2/4, 1/3; same length, so no brevity penalty
    assert reference.bleu([hyp], [ref]) == pytest.approx((5 / 6 * 3 / 5 * 2 / 4 * 1 / 3) ** 0.25, abs=1e-4)
    assert reference.bleu([ref], [ref]) == pytest.approx(1.0)
    scores = reference.rouge(["the cat sat"], ["the cat"])
    assert scores["rouge1"] == pytest.approx(0.8)  # P 2/3, R 1
    assert scores["rouge2"] == pytest.approx(2 * (1 / 2) * 1 / (1 / 2 + 1))  # P 1/2, R 1
    assert scores["rougeL"] == pytest.approx(0.8)
    assert reference.bleu([], []) is None and reference.rouge([], [])["rougeL"] is None


def test_a_leaf_whose_score_fell_is_flagged_against_the_previous_phase_and_the_base() -> None:
    def model(name: str, mcq: float, judge: float | None) -> dict:
        return {"name": name, "by_leaf": {"leaf": {"mcq_accuracy": mcq, "judge_score": judge}}}

    models = [model("base", 0.5, 4.0), model("kt1", 0.75, 3.0), model("kt2", 0.6, None)]
    flags = {(f["model"], f["metric"], f["against"]) for f in regressions(models)}
    assert flags == {("kt1", "judge_score", "base"), ("kt2", "mcq_accuracy", "kt1")}
    assert models[1]["by_leaf"]["leaf"]["regressed"] == ["judge_score"]
    assert "regressed" not in models[0]["by_leaf"]["leaf"]


def test_benchmark_selectors_pick_the_best_scored_epoch() -> None:
    def epoch(n: int, val: float, **scores: float) -> Candidate:
        return Candidate(n, f"epoch-{n}", val, scores=scores)

    candidates = [
        epoch(1, 1.0, mcq_accuracy=0.5, judge_score=6.0),
        epoch(2, 0.5, mcq_accuracy=0.75, judge_score=4.0),
        epoch(3, 0.9, mcq_accuracy=0.75, judge_score=9.0, judge_score_weighted=2.0),
    ]
    assert get_selector("val_loss")("kt1", candidates).epoch == 2
    assert get_selector("mcq")("kt1", candidates).epoch == 2  # tie on 0.75: the lower validation loss
    assert get_selector("judge")("st", candidates).epoch == 1  # the weighted grade (2.0) counts where known
    mixed = get_selector({"mcq": 1.0, "judge": 3.0})("st", candidates)
    assert mixed.epoch == 1  # (0.5 + 3 * 5/9) / 4 beats (0.75 + 3 * 3/9) / 4
    assert "highest mcq score 0.750" in why("mcq", candidates[1], candidates)
    unscored = [Candidate(1, "a", 0.3), Candidate(2, "b", 0.2)]
    assert get_selector("mcq")("kt1", unscored).epoch == 2  # no items: falls back to validation loss
