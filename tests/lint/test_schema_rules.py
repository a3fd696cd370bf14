"""LT101-LT107 and LT403: schema findings, worded for a first-time contributor and located."""

from tests.lint.lint_helpers import (
    GOOD_KNOWLEDGE,
    GOOD_SKILL,
    KNOWLEDGE_LEAF,
    assert_rule,
)


def test_lt101_missing_key(tmp_path):
    (problem,) = assert_rule(tmp_path, "LT101", GOOD_SKILL.replace("created_by: ada-lovelace\n", ""), (1, 1))
    assert problem.message.startswith("missing the required key 'created_by'")
    assert_rule(tmp_path / "ok", "LT101", GOOD_SKILL)


def test_lt101_missing_answer_points_at_the_seed(tmp_path):
    text = GOOD_SKILL.replace("    answer: >-\n      Adding 3 and 21 gives 24, because 3 + 21 = 24.\n", "")
    (problem,) = assert_rule(tmp_path, "LT101", text, (12, 5))
    assert problem.message.startswith("seed_examples[2]: missing the required key 'answer'")


def test_lt102_empty_answer_matches_the_issue_example(tmp_path):
    text = GOOD_SKILL.replace(
        "answer: >-\n      Adding 3 and 21 gives 24, because 3 + 21 = 24.", 'answer: ""'
    )
    (problem,) = assert_rule(tmp_path, "LT102", text, (13, 13))
    assert problem.message == "seed_examples[2].answer: must be a non-empty string"
    assert problem.severity == "error"


def test_lt102_number_instead_of_text(tmp_path):
    text = GOOD_SKILL.replace(
        "answer: >-\n      Adding 3 and 21 gives 24, because 3 + 21 = 24.", "answer: 24"
    )
    (problem,) = assert_rule(tmp_path, "LT102", text, (13, 13))
    assert "found the number 24 (quote it to make it text)" in problem.message
    assert_rule(tmp_path / "ok", "LT102", GOOD_SKILL)


def test_lt103_unknown_key_points_at_the_key(tmp_path):
    text = GOOD_SKILL.replace("    answer: >-\n      Adding 2", "    anwser: >-\n      Adding 2")
    problems = assert_rule(tmp_path, "LT103", text, (10, 5))
    assert (
        problems[0].message
        == "seed_examples[1]: unknown key 'anwser'; allowed keys here: question, answer, context"
    )
    assert_rule(tmp_path / "ok", "LT103", GOOD_SKILL)


def test_lt104_unsupported_version(tmp_path):
    (problem,) = assert_rule(tmp_path, "LT104", GOOD_SKILL.replace("version: 3", "version: 4"), (1, 10))
    assert "version 4 is not supported" in problem.message
    assert_rule(
        tmp_path / "k",
        "LT104",
        GOOD_KNOWLEDGE.replace("version: 3", "version: 2"),
        (1, 10),
        leaf=KNOWLEDGE_LEAF,
    )
    assert_rule(tmp_path / "ok", "LT104", GOOD_SKILL)


def test_lt104_instructlab_rejects_old_knowledge(tmp_path):
    text = GOOD_KNOWLEDGE.replace("version: 3", "version: 1")
    (problem,) = assert_rule(tmp_path, "LT104", text, (1, 1), leaf=KNOWLEDGE_LEAF, profile="instructlab")
    assert "version 1 are no longer supported" in problem.message


def test_lt105_seed_count_message(tmp_path):
    text = GOOD_SKILL.split("  - question: What is 4")[0]
    (problem,) = assert_rule(tmp_path, "LT105", text, (6, 3))
    assert problem.message == "seed_examples: has 3 seed examples; skills need at least 5"
    assert_rule(tmp_path / "ok", "LT105", GOOD_SKILL)


def test_lt105_knowledge_needs_exactly_three_questions(tmp_path):
    text = GOOD_KNOWLEDGE.replace(
        "      - question: Which branch of mechanics covers velocity?\n",
        "      - question: Which branch covers velocity?\n        answer: Kinematics.\n"
        "      - question: Which branch of mechanics covers velocity?\n",
        1,
    )
    (problem,) = assert_rule(tmp_path, "LT105", text, (9, 7), leaf=KNOWLEDGE_LEAF)
    assert "has 4 questions; each knowledge seed example needs exactly 3" in problem.message


def test_lt106_identical_seed_examples(tmp_path):
    seed = GOOD_SKILL.split("seed_examples:\n")[1].split("  - question: What is 2")[0]
    (problem,) = assert_rule(tmp_path, "LT106", GOOD_SKILL + seed, (6, 3))
    assert "items [0] and [5] are identical" in problem.message
    assert_rule(tmp_path / "ok", "LT106", GOOD_SKILL)


def test_lt104_version_given_as_text(tmp_path):
    problems = assert_rule(
        tmp_path,
        "LT104",
        GOOD_SKILL.replace("version: 3", "version: '3'"),
        (1, 10),
        (1, 10),
        profile="instructlab",
    )
    assert {p.message for p in problems} == {
        "version: must be 3 for this schema, found '3'",
        "version: must be a whole number, found the text '3'",
    }


def test_lt107_dependent_keys(tmp_path):
    text = GOOD_KNOWLEDGE.replace("  patterns:", "  repo: https://example.com/docs.git\n  patterns:")
    (problem,) = assert_rule(tmp_path, "LT107", text, (52, 3), leaf=KNOWLEDGE_LEAF)
    assert "needs both 'repo' and 'commit'" in problem.message


def test_lt403_remote_commit_must_be_a_full_sha(tmp_path):
    text = GOOD_KNOWLEDGE.replace(
        "  patterns:", "  repo: https://example.com/docs.git\n  commit: 951999a\n  patterns:"
    )
    (problem,) = assert_rule(tmp_path, "LT403", text, (53, 11), leaf=KNOWLEDGE_LEAF)
    assert "commit '951999a' is not a full commit SHA" in problem.message
    good = text.replace("951999a", "951999afdc59c46d325493568193b40bd5439c9e")
    assert_rule(tmp_path / "ok", "LT403", good, leaf=KNOWLEDGE_LEAF)


def test_lt403_patterns_may_not_escape(tmp_path):
    text = GOOD_KNOWLEDGE.replace(
        "    - kinematics.md", "    - ../../secret.md\n    - /etc/passwd\n    - kinematics.md"
    )
    problems = assert_rule(tmp_path, "LT403", text, (53, 7), (54, 7), leaf=KNOWLEDGE_LEAF)
    assert "escapes the document folder" in problems[0].message


def test_lt403_license_is_required(tmp_path):
    text = GOOD_KNOWLEDGE.replace("  license: CC-BY-4.0\n", "")
    (problem,) = assert_rule(tmp_path, "LT101", text, (52, 3), leaf=KNOWLEDGE_LEAF)
    assert "document: missing the required key 'license'" in problem.message
