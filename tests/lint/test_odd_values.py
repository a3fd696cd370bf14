"""Values YAML allows but JSON has no word for (dates, boolean or number keys, infinities), and
edge cases where the two schema validators could disagree: a finding each, never a crash."""

from pathlib import Path

import pytest

from labtax.config import load_config
from labtax.errors import ConfigError
from tests.lint.lint_helpers import (
    GOOD_KNOWLEDGE,
    GOOD_SKILL,
    KNOWLEDGE_LEAF,
    assert_rule,
    lint_text,
)


def test_a_date_value_is_a_type_error(tmp_path: Path) -> None:
    text = GOOD_SKILL.replace("created_by: ada-lovelace", "created_by: 1969-07-20")
    (problem,) = assert_rule(tmp_path, "LT102", text, (2, 13))
    assert problem.message.startswith("created_by:")


@pytest.mark.parametrize("key", ["on", "yes", "1"])
def test_a_boolean_or_number_key_is_reported_not_a_crash(tmp_path: Path, key: str) -> None:
    problems = lint_text(tmp_path, GOOD_SKILL + f"{key}: x\n")
    assert problems and all(p.rule.startswith("LT1") for p in problems), problems


@pytest.mark.parametrize("profile", ["labtax", "instructlab"])
def test_an_infinite_version_is_reported(tmp_path: Path, profile: str) -> None:
    problems = lint_text(tmp_path, GOOD_SKILL.replace("version: 3", "version: .inf"), profile=profile)
    assert any(p.rule in ("LT102", "LT104", "LT107") for p in problems), problems


def test_a_commit_sha_followed_by_a_newline_is_not_a_pass(tmp_path: Path) -> None:
    remote = GOOD_KNOWLEDGE.replace(
        "document:\n  patterns:",
        "document:\n  repo: https://example.com/docs.git\n  commit: |\n"
        "    0123456789abcdef0123456789abcdef01234567\n  patterns:",
    )
    problems = lint_text(tmp_path, remote, leaf=KNOWLEDGE_LEAF)
    assert any(p.rule in ("LT107", "LT403") and "commit" in p.message for p in problems), problems


def test_an_invalid_regex_in_the_config_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "labtax.yaml").write_text('lint:\n  folder_name_pattern: "["\n')
    with pytest.raises(ConfigError, match="folder_name_pattern"):
        load_config(tmp_path)


def test_an_empty_section_with_overrides_is_a_config_error_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "labtax.yaml").write_text("lint: 3\n")
    with pytest.raises(ConfigError, match="lint"):
        load_config(tmp_path, overrides={"lint": {"strict": True}})
    (tmp_path / "labtax.yaml").write_text("lint:\n")
    assert load_config(tmp_path, overrides={"lint": {"strict": True}}).section("lint")["strict"] is True
