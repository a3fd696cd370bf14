"""Unit checks of the eval pieces: parsing multiple-choice replies, shuffling, rounds, hold-out,
grades, reference metrics against hand-computed values, regressions, selectors."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

from labtax import bootstrap
from labtax.eval import reference
from labtax.eval.judge import Grade, expected_grade
from labtax.eval.scoring import ModelSpec, Outcome, model_entry, regressions
from labtax.eval.sets import PromptItem
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


def _entry(name: str, leaves: dict[str, list[int]], grades: dict[str, list[int]] | None = None) -> dict:
    """A model's eval.json entry from per-item results: multiple choice (1/0) and judge grades."""
    outcomes = [
        Outcome("knowledge", leaf, "knowledge", correct=bool(c), id=f"{leaf}-{i}")
        for leaf, marks in leaves.items()
        for i, c in enumerate(marks)
    ]
    for leaf, marks in (grades or {}).items():
        item = PromptItem("p", "skills", leaf, "compositional_skills", (), "ref")
        outcomes += [
            Outcome(
                "skills",
                leaf,
                "compositional_skills",
                item=item,
                answer="a",
                grade=Grade(g, None),
                id=f"p{i}",
            )
            for i, g in enumerate(marks)
        ]
    return model_entry(ModelSpec(name, name, "base" if name == "base" else name), outcomes)


def test_a_leaf_is_flagged_only_where_the_paired_interval_of_its_drop_excludes_zero() -> None:
    base = _entry("base", {"big": [1] * 20, "small": [1, 1, 0, 0]}, {"skill": [6, 7, 8, 6, 7, 8]})
    # big: 8 of 20 items lost (significant); small: one item of four lost (not)
    kt1 = _entry("kt1", {"big": [0] * 8 + [1] * 12, "small": [1, 0, 0, 0]}, {"skill": [6, 7, 8, 6, 7, 8]})
    # skill: every answer graded 3 lower; big: back to base on the same items
    kt2 = _entry("kt2", {"big": [1] * 20, "small": [1, 0, 0, 0]}, {"skill": [3, 4, 5, 3, 4, 5]})
    models = [base, kt1, kt2]
    flags = regressions(models)
    assert {(f["model"], f["leaf"], f["metric"], f["against"]) for f in flags} == {
        ("kt1", "big", "mcq_accuracy", "base"),
        ("kt2", "skill", "judge_score", "kt1"),
        ("kt2", "skill", "judge_score", "base"),
    }
    big = next(f for f in flags if f["leaf"] == "big")
    assert big["difference"] == pytest.approx(-0.4) and big["interval"]["n"] == 20
    assert big["interval"]["high"] < 0 and big["value"] == 0.6 and big["before"] == 1.0
    assert (
        kt1["by_leaf"]["big"]["regressed"] == ["mcq_accuracy"] and "regressed" not in kt1["by_leaf"]["small"]
    )
    # the threshold: a drop must be shown to exceed it (0-1 scale; judge grades / 9)
    strict = regressions([_entry(m["name"], {"big": []}, None) for m in models], 0.0)
    assert strict == []  # no items: nothing to tell
    kept = {(f["model"], f["leaf"]) for f in regressions([base, kt1, kt2], min_drop=0.25)}
    assert kept == {("kt2", "skill")}  # the grade drop is 3/9 = 0.33; big's interval reaches above -0.25


def test_bootstrap_interval_matches_a_numpy_reference_and_is_seeded() -> None:
    values = [1] * 25 + [0] * 15  # 40 items, accuracy 0.625
    found = bootstrap.interval(values)
    assert found.mean == 0.625 and found.n == 40
    # reference: resample the items themselves (indices), many more times, with numpy
    rng = np.random.default_rng(7)
    means = np.asarray(values, float)[rng.integers(0, 40, size=(200_000, 40))].mean(axis=1)
    low, high = np.quantile(means, [0.025, 0.975])
    assert found.low == pytest.approx(low, abs=0.026) and found.high == pytest.approx(high, abs=0.026)
    assert (found.low, found.high) == (bootstrap.interval(values[::-1]).low, bootstrap.interval(values).high)
    shuffled = values[1::2] + values[::2]
    assert bootstrap.interval(shuffled) == found  # a multiset: order does not matter
    # many distinct values take the other path (item indices): the same reference holds
    grades = list(np.linspace(1, 10, 200))
    wide = bootstrap.interval(grades)
    means = np.asarray(grades)[rng.integers(0, 200, size=(50_000, 200))].mean(axis=1)
    assert wide.low == pytest.approx(np.quantile(means, 0.025), abs=0.05)
    assert wide.high == pytest.approx(np.quantile(means, 0.975), abs=0.05)
    assert bootstrap.interval([0.5, 0.5, 0.5]) == bootstrap.Interval(0.5, 0.5, 0.5, 3)
    assert (
        bootstrap.interval([1]) == bootstrap.Interval(1.0, None, None, 1) and bootstrap.interval([]) is None
    )
    assert bootstrap.shown(0.625, found) == f"0.625 [{found.low:.3f}, {found.high:.3f}] n=40"


def test_a_paired_interval_excludes_zero_where_unpaired_intervals_overlap() -> None:
    before = {f"i{k}": float(g) for k, g in enumerate([2, 3, 4, 5, 6, 7, 8, 9] * 3)}
    after = {k: v + 1 for k, v in before.items()}  # every answer one grade better
    apart = bootstrap.paired(before, after)
    assert apart.mean == 1.0 and (apart.low, apart.high) == (1.0, 1.0) and apart.excludes_zero()
    alone_before, alone_after = (
        bootstrap.interval(list(before.values())),
        bootstrap.interval(list(after.values())),
    )
    assert alone_after.low < alone_before.high  # the two intervals overlap: only pairing tells them apart
    mixed = dict(before) | {"i0": before["i0"] - 1, "i1": before["i1"] + 2}  # one item down, one up
    close = bootstrap.paired(before, mixed)
    assert close.n == 24 and close.low < 0 < close.high and not close.excludes_zero()
    assert bootstrap.paired(before, {"other": 1.0}) is None  # no common item


def test_thousands_of_items_take_no_time_worth_noting() -> None:
    rng = np.random.default_rng(0)
    marks = list(rng.integers(0, 2, 5000))
    found = bootstrap.interval(marks)
    assert found.n == 5000 and found.high - found.low < 0.04  # about 4 standard errors (0.007 each)


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
    # without per-item results (a custom scorer) equal point scores are a tie: validation loss decides
    text = why("mcq", candidates[1], candidates)
    assert "mcq could not separate epochs 2, 3" in text and text.endswith(
        "lowest validation loss 0.5000 among them"
    )
    assert "highest judge score" in why("judge", candidates[0], candidates)
    unscored = [Candidate(1, "a", 0.3), Candidate(2, "b", 0.2)]
    assert get_selector("mcq")("kt1", unscored).epoch == 2  # no items: falls back to validation loss
