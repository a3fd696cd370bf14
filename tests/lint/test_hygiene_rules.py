"""LT010-LT015: YAML hygiene (InstructLab runs the same checks through yamllint on version 2+)."""

from tests.lint.lint_helpers import GOOD_SKILL, assert_rule


def test_lt010_duplicate_keys(tmp_path):
    text = GOOD_SKILL.replace("created_by: ada-lovelace\n", "created_by: ada-lovelace\ncreated_by: bob\n")
    (problem,) = assert_rule(tmp_path, "LT010", text, (3, 1))
    assert "'created_by' appears twice" in problem.message
    assert_rule(tmp_path / "ok", "LT010", GOOD_SKILL)


def test_lt010_is_skipped_for_instructlab_version_1(tmp_path):
    text = GOOD_SKILL.replace("version: 3", "version: 1").replace(
        "created_by: ada-lovelace\n", "created_by: a\ncreated_by: b\n"
    )
    assert_rule(tmp_path, "LT010", text, profile="instructlab", attribution=None)


def test_lt011_anchor_and_alias(tmp_path):
    text = GOOD_SKILL.replace("created_by: ada-lovelace", "created_by: &who ada-lovelace\nx: *who")
    assert_rule(tmp_path, "LT011", text, (2, 13))
    assert_rule(tmp_path / "ok", "LT011", GOOD_SKILL.replace("ada-lovelace", "R&D team & co"))


def test_lt012_tabs(tmp_path):
    text = GOOD_SKILL.replace("Adding 1 and", "Adding\t1 and")
    assert_rule(tmp_path, "LT012", text, (8, 13))
    assert_rule(tmp_path / "ok", "LT012", GOOD_SKILL)


def test_lt013_trailing_spaces(tmp_path):
    assert_rule(tmp_path, "LT013", GOOD_SKILL.replace("version: 3\n", "version: 3  \n"), (1, 11))
    assert_rule(tmp_path / "ok", "LT013", GOOD_SKILL)


def test_lt014_final_newline(tmp_path):
    text = GOOD_SKILL.rstrip("\n")
    last = text.splitlines()[-1]
    assert_rule(tmp_path, "LT014", text, (len(text.splitlines()), len(last) + 1))
    assert_rule(tmp_path / "ok", "LT014", GOOD_SKILL)


def test_lt015_crlf(tmp_path):
    assert_rule(tmp_path, "LT015", GOOD_SKILL.replace("\n", "\r\n"), (1, 11))
    assert_rule(tmp_path / "ok", "LT015", GOOD_SKILL)
