"""LT001-LT008 and every bad-input case of the issue: a located finding, never a traceback."""

import os

from tests.lint.lint_helpers import (
    GOOD_SKILL,
    SKILL_LEAF,
    assert_rule,
    lint_text,
    write_leaf,
)


def test_lt001_syntax_error_is_located(tmp_path):
    (problem,) = assert_rule(tmp_path, "LT001", "version: 3\ncreated_by: ada\nanswer: x: y\n", (3, 10))
    assert "not valid YAML" in problem.message
    assert_rule(tmp_path / "ok", "LT001", GOOD_SKILL)


def test_lt001_tab_indentation(tmp_path):
    assert_rule(tmp_path, "LT001", "version: 3\nseed_examples:\n\t- question: a\n", (3, 1))


def test_lt002_binary_file(tmp_path):
    (problem,) = assert_rule(tmp_path, "LT002", b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR", (3, 1))
    assert "binary" in problem.message
    assert_rule(tmp_path / "ok", "LT002", GOOD_SKILL)


def test_lt002_non_utf8(tmp_path):
    (problem,) = assert_rule(tmp_path, "LT002", "version: 3\ncreated_by: zoë\n".encode("latin-1"), (2, 15))
    assert "not UTF-8" in problem.message and "0xeb" in problem.message


def test_lt003_bom(tmp_path):
    assert_rule(tmp_path, "LT003", b"\xef\xbb\xbf" + GOOD_SKILL.encode(), (1, 1))
    assert_rule(tmp_path / "ok", "LT003", GOOD_SKILL)


def test_lt003_bom_is_a_warning_for_instructlab(tmp_path):
    (problem,) = assert_rule(
        tmp_path, "LT003", b"\xef\xbb\xbf" + GOOD_SKILL.encode(), (1, 1), profile="instructlab"
    )
    assert problem.severity == "warning"


def test_lt004_fifty_megabyte_file_is_not_read(tmp_path):
    text = GOOD_SKILL + "# " + "x" * 100 + "\n"
    big = text * (50_000_000 // len(text) + 1)
    (problem,) = assert_rule(tmp_path, "LT004", big, (1, 1))
    assert "1,000,000" in problem.message
    assert len(lint_text(tmp_path, big)) == 1  # nothing else was parsed


def test_lt004_limit_is_configurable(tmp_path):
    assert_rule(tmp_path, "LT004", GOOD_SKILL, (1, 1), lint={"max_file_bytes": 100})
    assert_rule(tmp_path / "ok", "LT004", GOOD_SKILL)


def test_lt005_empty_file(tmp_path):
    assert_rule(tmp_path, "LT005", "", (1, 1))
    assert_rule(tmp_path / "comment", "LT005", "# only a comment\n", (1, 1))
    assert_rule(tmp_path / "ok", "LT005", GOOD_SKILL)


def test_lt006_top_level_list_and_scalar(tmp_path):
    (problem,) = assert_rule(tmp_path / "list", "LT006", "- version: 3\n- created_by: ada\n", (1, 1))
    assert "is a list" in problem.message
    (problem,) = assert_rule(tmp_path / "scalar", "LT006", "just some text\n", (1, 1))
    assert "single text value" in problem.message
    assert_rule(tmp_path / "ok", "LT006", GOOD_SKILL)


def test_lt007_symlink_outside_the_taxonomy(tmp_path):
    secret = tmp_path / "secret.yaml"
    secret.write_text(GOOD_SKILL)
    folder = tmp_path / "repo" / "taxonomy" / SKILL_LEAF
    folder.mkdir(parents=True)
    (folder / "qna.yaml").symlink_to(secret)
    problems = lint_text(tmp_path / "repo", b"", leaf="compositional_skills/other/leaf")  # writes config
    from labtax.config import load_config
    from labtax.lint import lint_tree

    problems = [p for p in lint_tree(load_config(tmp_path / "repo")) if SKILL_LEAF in p.path]
    assert [(p.rule, p.line) for p in problems] == [("LT007", 1)]
    assert str(secret) in problems[0].message


def test_lt007_symlink_inside_the_taxonomy_is_read(tmp_path):
    target = write_leaf(tmp_path, "compositional_skills/writing/original", GOOD_SKILL)
    folder = tmp_path / "taxonomy" / SKILL_LEAF
    folder.mkdir(parents=True)
    (folder / "qna.yaml").symlink_to(os.path.relpath(target, folder))
    (folder / "attribution.txt").write_text("x\n")
    from labtax.config import load_config
    from labtax.lint import lint_paths

    assert lint_paths([folder / "qna.yaml"], load_config(tmp_path)) == []


def test_lt008_misnamed_leaf_file(tmp_path):
    (problem,) = assert_rule(tmp_path, "LT008", GOOD_SKILL, (1, 1), name="qna.yml")
    assert "'qna.yml'" in problem.message
    assert len(lint_text(tmp_path, GOOD_SKILL, name="QNA.yaml")) == 1  # gate: nothing else runs


def test_alias_bomb_is_refused_fast(tmp_path):
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(9)
    )
    (problem,) = assert_rule(tmp_path, "LT011", bomb, (1, 4))
    assert "&a" in problem.message
