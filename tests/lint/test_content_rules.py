"""LT301-LT304: duplicate and near-duplicate seeds, word limits, unfilled placeholders."""

from tests.lint.lint_helpers import (
    GOOD_KNOWLEDGE,
    GOOD_SKILL,
    KNOWLEDGE_LEAF,
    assert_rule,
)

FIRST_Q = "What is 1 plus 7?"


def test_lt301_normalised_duplicate(tmp_path):
    text = GOOD_SKILL.replace("What is 5 plus 35?", "what is 1 PLUS 7").replace(
        "Adding 5 and 35 gives 40, because 5 + 35 = 40.", "adding 1 and 7 gives 8 because 1 + 7 = 8"
    )
    (problem,) = assert_rule(tmp_path, "LT301", text, (18, 5))
    assert problem.message.startswith("seed_examples[4]: repeats seed_examples[0]")
    assert_rule(tmp_path / "ok", "LT301", GOOD_SKILL)


def test_lt301_same_question_and_answer_under_two_contexts(tmp_path):
    text = GOOD_KNOWLEDGE.replace("Who is passage 2 written for?", "Who is passage 1 written for?").replace(
        "First-year students learning about acceleration.", "First-year students learning about velocity."
    )
    assert_rule(tmp_path, "LT301", text, (20, 9), leaf=KNOWLEDGE_LEAF)


def test_lt302_near_duplicate_is_a_warning(tmp_path):
    text = GOOD_SKILL.replace("What is 5 plus 35?", "What is 1 plus 7 ?").replace(
        "Adding 5 and 35 gives 40, because 5 + 35 = 40.", "Adding 1 and 7 gives 8, because 1 + 7 = 8 indeed."
    )
    (problem,) = assert_rule(tmp_path, "LT302", text, (18, 5))
    assert problem.severity == "warning" and "nearly identical to seed_examples[0]" in problem.message
    assert_rule(tmp_path / "ok", "LT302", GOOD_SKILL)
    assert_rule(tmp_path / "off", "LT302", text, lint={"near_duplicate_threshold": 0.99})


def test_lt303_word_limits(tmp_path):
    long_answer = " ".join(["word"] * 501)
    text = GOOD_SKILL.replace("Adding 2 and 14 gives 16, because 2 + 14 = 16.", long_answer)
    (problem,) = assert_rule(tmp_path, "LT303", text, (10, 13))
    assert "the answer has 501 words; at most 500" in problem.message
    assert_rule(tmp_path / "ok", "LT303", GOOD_SKILL)
    assert_rule(
        tmp_path / "q",
        "LT303",
        GOOD_SKILL.replace(FIRST_Q, "What is one plus seven, in words?"),
        (6, 15),
        lint={"word_limits": {"question": 6}},
    )


def test_lt304_placeholders(tmp_path):
    text = GOOD_SKILL.replace("created_by: ada-lovelace", 'created_by: "<<your GitHub handle>>"')
    (problem,) = assert_rule(tmp_path, "LT304", text, (2, 13))
    assert (
        problem.message
        == "created_by: still holds the placeholder <<your GitHub handle>>; replace it with real content"
    )
    assert_rule(tmp_path / "ok", "LT304", GOOD_SKILL)
