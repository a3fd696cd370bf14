"""The instructlab profile gives the same pass/fail verdict per file as InstructLab's own checker
(instructlab-schema's TaxonomyParser, with yamllint on PATH as InstructLab runs it)."""

import os
import sys
from pathlib import Path

import pytest

from labtax.config import load_config
from labtax.lint import failed, lint_paths
from tests.lint.lint_helpers import GOOD_KNOWLEDGE, GOOD_SKILL, write_leaf

parser_module = pytest.importorskip("instructlab.schema.taxonomy")

REMOTE = GOOD_KNOWLEDGE.replace(
    "  patterns:", "  repo: https://github.com/example/docs.git\n  commit: " + "ab" * 20 + "\n  patterns:"
).replace("  license: CC-BY-4.0\n", "")
SEED = "  - question: One more?\n    answer: Yes.\n"
CASES = {
    "skill-v3": ("compositional_skills", GOOD_SKILL),
    "skill-v2": ("compositional_skills", GOOD_SKILL.replace("version: 3", "version: 2")),
    "skill-v1-one-seed": (
        "compositional_skills",
        GOOD_SKILL.replace("version: 3\n", "").split("  - question: What is 2")[0],
    ),
    "skill-three-seeds": ("compositional_skills", GOOD_SKILL.split("  - question: What is 4")[0]),
    "skill-no-author": ("compositional_skills", GOOD_SKILL.replace("created_by: ada-lovelace\n", "")),
    "skill-unknown-key": ("compositional_skills", GOOD_SKILL + "extra: 1\n"),
    "skill-version-4": ("compositional_skills", GOOD_SKILL.replace("version: 3", "version: 4")),
    "skill-version-text": ("compositional_skills", GOOD_SKILL.replace("version: 3", "version: '3'")),
    "skill-empty-answer": (
        "compositional_skills",
        GOOD_SKILL.replace("answer: >-\n      Adding 3 and 21 gives 24, because 3 + 21 = 24.", 'answer: ""'),
    ),
    "skill-identical-seeds": (
        "compositional_skills",
        GOOD_SKILL + GOOD_SKILL.split("seed_examples:\n")[1].split("  - question: What is 2")[0],
    ),
    "skill-trailing-space": ("compositional_skills", GOOD_SKILL.replace("version: 3\n", "version: 3 \n")),
    "skill-v1-trailing-space": ("compositional_skills", GOOD_SKILL.replace("version: 3\n", "version: 1 \n")),
    "skill-no-final-newline": ("compositional_skills", GOOD_SKILL.rstrip("\n")),
    "skill-crlf": ("compositional_skills", GOOD_SKILL.replace("\n", "\r\n")),
    "skill-duplicate-key": (
        "compositional_skills",
        GOOD_SKILL.replace("created_by: ada-lovelace\n", "created_by: a\ncreated_by: b\n"),
    ),
    "skill-tab-in-text": ("compositional_skills", GOOD_SKILL.replace("Adding 1 and", "Adding\t1 and")),
    "skill-unindented-list": (
        "compositional_skills",
        GOOD_SKILL.replace("\n  - question", "\n- question")
        .replace("\n    answer", "\n  answer")
        .replace("\n      Adding", "\n    Adding"),
    ),
    "skill-syntax-error": ("compositional_skills", GOOD_SKILL + "bad: x: y\n"),
    "empty": ("compositional_skills", ""),
    "top-level-list": ("compositional_skills", "- version: 3\n"),
    "foundational": ("foundational_skills", GOOD_SKILL),
    "foundational-three-seeds": ("foundational_skills", GOOD_SKILL.split("  - question: What is 4")[0]),
    "knowledge-remote": ("knowledge", REMOTE),
    "knowledge-local-labtax": ("knowledge", GOOD_KNOWLEDGE),
    "knowledge-v1": ("knowledge", REMOTE.replace("version: 3", "version: 1")),
    "knowledge-extra-qa-key": (
        "knowledge",
        REMOTE.replace("answer: It explains velocity.", "answer: It explains velocity.\n        note: extra"),
    ),
    "knowledge-two-questions": (
        "knowledge",
        REMOTE.replace(
            "      - question: Who is passage 1 written for?\n"
            "        answer: First-year students learning about velocity.\n",
            "",
        ),
    ),
    "knowledge-no-outline": (
        "knowledge",
        REMOTE.replace(
            "document_outline: Notes on one-dimensional kinematics written for this taxonomy.\n", ""
        ),
    ),
    "skill-extra-seed": ("compositional_skills", GOOD_SKILL + SEED),
    # yamllint's inline directives: InstructLab runs yamllint, so they silence its findings there.
    "trailing-space-disable-line": (
        "compositional_skills",
        GOOD_SKILL.replace("version: 3\n", "# yamllint disable-line rule:trailing-spaces\nversion: 3  \n"),
    ),
    "trailing-space-disable-line-other-rule": (
        "compositional_skills",
        GOOD_SKILL.replace("version: 3\n", "# yamllint disable-line rule:colons\nversion: 3  \n"),
    ),
    "trailing-space-disable-line-two-lines-on": (
        "compositional_skills",
        GOOD_SKILL.replace("version: 3\n", "# yamllint disable-line\n\nversion: 3  \n"),
    ),
    "trailing-space-disable-block": (
        "compositional_skills",
        "# yamllint disable rule:trailing-spaces\n" + GOOD_SKILL.replace("version: 3\n", "version: 3  \n"),
    ),
    "trailing-space-after-enable": (
        "compositional_skills",
        "# yamllint disable\n# yamllint enable\n" + GOOD_SKILL.replace("version: 3\n", "version: 3  \n"),
    ),
    "trailing-space-disable-file": (
        "compositional_skills",
        "# yamllint disable-file\n" + GOOD_SKILL.replace("version: 3\n", "version: 3  \n"),
    ),
    "trailing-space-in-quoted-hash": (
        "compositional_skills",
        GOOD_SKILL.replace("created_by: ada-lovelace\n", "created_by: 'ada # yamllint disable'\n").replace(
            "version: 3\n", "version: 3  \n"
        ),
    ),
    "no-final-newline-disabled": (
        "compositional_skills",
        "# yamllint disable rule:new-line-at-end-of-file\n" + GOOD_SKILL.rstrip("\n"),
    ),
    "duplicate-key-disabled": (
        "compositional_skills",
        GOOD_SKILL.replace(
            "created_by: ada-lovelace\n",
            "created_by: a\ncreated_by: b  # yamllint disable-line rule:key-duplicates\n",
        ),
    ),
}


def instructlab_verdict(path: Path) -> bool:
    """True when InstructLab's checker reports at least one error (a reading exception counts)."""
    parser = parser_module.TaxonomyParser(schema_version=0, message_format="logging")
    try:
        return parser.parse(path).errors > 0
    except parser_module.TaxonomyReadingException:
        return True


@pytest.fixture(autouse=True)
def _yamllint_on_path(monkeypatch):
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_verdict_as_instructlab(tmp_path, name):
    branch, text = CASES[name]
    path = write_leaf(tmp_path, f"{branch}/topic/{name.replace('-', '_')}", text, attribution=None)
    (tmp_path / "labtax.yaml").write_text("profile: instructlab\n")
    ours = failed(lint_paths([path], load_config(tmp_path)))
    assert ours == instructlab_verdict(path), name


def test_yamllint_directives_do_not_silence_the_labtax_profile(tmp_path):
    text = "# yamllint disable\n" + GOOD_SKILL.replace("version: 3\n", "version: 3  \n")
    path = write_leaf(tmp_path, "compositional_skills/topic/directive", text, attribution=None)
    # (and LT203: no attribution)
    assert "LT013" in [p.rule for p in lint_paths([path], load_config(tmp_path))]
    (tmp_path / "labtax.yaml").write_text("profile: instructlab\n")
    assert lint_paths([path], load_config(tmp_path)) == []
