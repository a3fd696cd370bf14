"""LT201-LT204: where a leaf sits in the tree, and its attribution.txt."""

from labtax.config import load_config
from labtax.lint import lint_tree
from tests.lint.lint_helpers import GOOD_SKILL, assert_rule, write_leaf


def test_lt201_folder_names(tmp_path):
    (problem,) = assert_rule(
        tmp_path, "LT201", GOOD_SKILL, (1, 1), leaf="compositional_skills/writing/Poem-Writing"
    )
    assert "folder 'Poem-Writing'" in problem.message and "'poem_writing'" in problem.message
    assert_rule(tmp_path / "ok", "LT201", GOOD_SKILL, leaf="compositional_skills/writing/poem_writing_2")


def test_lt202_nested_leaf(tmp_path):
    write_leaf(tmp_path, "compositional_skills/writing", GOOD_SKILL)
    (problem,) = assert_rule(tmp_path, "LT202", GOOD_SKILL, (1, 1), leaf="compositional_skills/writing/poem")
    assert "inside the leaf folder 'compositional_skills/writing/'" in problem.message
    assert_rule(tmp_path / "ok", "LT202", GOOD_SKILL)


def test_lt203_attribution_missing_empty_or_placeholder(tmp_path):
    assert (
        "no attribution.txt"
        in assert_rule(tmp_path / "a", "LT203", GOOD_SKILL, (1, 1), attribution=None)[0].message
    )
    assert (
        "is empty" in assert_rule(tmp_path / "b", "LT203", GOOD_SKILL, (1, 1), attribution=" \n")[0].message
    )
    assert (
        "<<author>>"
        in assert_rule(tmp_path / "c", "LT203", GOOD_SKILL, (1, 1), attribution="By <<author>>\n")[0].message
    )
    assert_rule(tmp_path / "ok", "LT203", GOOD_SKILL)


def test_lt204_outside_a_branch(tmp_path):
    assert_rule(tmp_path, "LT204", GOOD_SKILL, (1, 1), leaf="skills/writing/poem")
    assert_rule(tmp_path / "top", "LT204", GOOD_SKILL, (1, 1), leaf="knowledge")
    assert_rule(tmp_path / "ok", "LT204", GOOD_SKILL)


def test_tree_reports_misnamed_files_instead_of_ignoring_them(tmp_path):
    write_leaf(tmp_path, "compositional_skills/writing/poem", GOOD_SKILL)
    write_leaf(tmp_path, "compositional_skills/writing/story", GOOD_SKILL, name="qna.yml")
    write_leaf(tmp_path, "knowledge/physics/optics", GOOD_SKILL, name="QNA.yaml")
    (tmp_path / "taxonomy" / "knowledge" / "physics" / "optics" / "notes.md").write_text("not a leaf\n")
    problems = lint_tree(load_config(tmp_path))
    assert [(p.path, p.rule) for p in problems] == [
        ("taxonomy/compositional_skills/writing/story/qna.yml", "LT008"),
        ("taxonomy/knowledge/physics/optics/QNA.yaml", "LT008"),
    ]
