"""The reference leaves are clean in both profiles: every other test changes one thing."""

from tests.lint.lint_helpers import (
    GOOD_KNOWLEDGE,
    GOOD_SKILL,
    KNOWLEDGE_LEAF,
    lint_text,
)


def test_good_skill_is_clean(tmp_path):
    assert lint_text(tmp_path, GOOD_SKILL) == []


def test_good_knowledge_is_clean(tmp_path):
    assert lint_text(tmp_path, GOOD_KNOWLEDGE, leaf=KNOWLEDGE_LEAF) == []


def test_good_foundational_skill_is_clean(tmp_path):
    assert lint_text(tmp_path, GOOD_SKILL, leaf="foundational_skills/arithmetic/sums") == []


def test_good_skill_is_clean_for_instructlab(tmp_path):
    assert lint_text(tmp_path, GOOD_SKILL, profile="instructlab", attribution=None) == []
