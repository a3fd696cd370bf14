"""The rules tables in docs/ are the ones generated from the rule docstrings."""

from pathlib import Path

from labtax.lint.docs import rules_document, rules_table
from labtax.lint.rules import RULES

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_rules_md_is_generated():
    assert (DOCS / "rules.md").read_text(encoding="utf-8") == rules_document(), (
        "run: python -m labtax.lint.docs"
    )


def test_lint_md_holds_the_current_table():
    assert rules_table() in (DOCS / "lint.md").read_text(encoding="utf-8")


def test_every_rule_documents_a_passing_and_a_failing_example():
    for rule in RULES.values():
        assert "Passes::" in rule.doc and "Fails::" in rule.doc, rule.id
