"""`labtax diff`: output formats and exit codes (click's runner, real git repositories)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from labtax.cli import cli
from tests.conftest import git
from tests.diff.conftest import commit_all, write_leaf


def run(cwd: Path, monkeypatch: pytest.MonkeyPatch, *args: str):
    monkeypatch.chdir(cwd)
    return CliRunner().invoke(cli, ["diff", *args])


def test_text_output_sorted_with_status_letters(leafy_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    git(
        leafy_repo,
        "mv",
        "taxonomy/compositional_skills/tutoring/explain",
        "taxonomy/compositional_skills/tutoring/teach",
    )
    (leafy_repo / "taxonomy/knowledge/physics/kinematics/kinematics.md").write_text("revised\n")
    (leafy_repo / "taxonomy/foundational_skills/math/arithmetic/qna.yaml").unlink()
    write_leaf(leafy_repo, "taxonomy/foundational_skills/reasoning/logic", "logic")
    result = run(leafy_repo / "taxonomy", monkeypatch)  # works from a subfolder too
    assert result.exit_code == 0, result.stdout
    assert result.stdout.splitlines() == [
        "R  taxonomy/compositional_skills/tutoring/explain/qna.yaml -> "
        "taxonomy/compositional_skills/tutoring/teach/qna.yaml",
        "D  taxonomy/foundational_skills/math/arithmetic/qna.yaml",
        "A  taxonomy/foundational_skills/reasoning/logic/qna.yaml",
        "M  taxonomy/knowledge/physics/kinematics/qna.yaml",
    ]


def test_json_output(leafy_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    git(
        leafy_repo,
        "mv",
        "taxonomy/compositional_skills/tutoring/explain",
        "taxonomy/compositional_skills/tutoring/teach",
    )
    result = run(leafy_repo, monkeypatch, "--format", "json")
    assert result.exit_code == 0, result.stdout
    assert json.loads(result.stdout) == [
        {
            "path": "taxonomy/compositional_skills/tutoring/teach/qna.yaml",
            "status": "renamed",
            "old_path": "taxonomy/compositional_skills/tutoring/explain/qna.yaml",
            "branch": "compositional_skills",
        }
    ]


def test_no_changes_exit_zero(leafy_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run(leafy_repo, monkeypatch).stdout == ""
    result = run(leafy_repo, monkeypatch, "--format", "json")
    assert (result.exit_code, json.loads(result.stdout)) == (0, [])


def test_text_format_names_the_base_on_stderr(leafy_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    main = git(leafy_repo, "rev-parse", "--short=7", "main").strip()
    result = run(leafy_repo, monkeypatch)
    assert (result.stdout, result.stderr) == ("", f"compared with main ({main}): no changed leaves\n")
    git(leafy_repo, "checkout", "-q", "-b", "feature")
    write_leaf(leafy_repo, "taxonomy/compositional_skills/tutoring/exam", "exam")
    commit_all(leafy_repo)
    git(leafy_repo, "checkout", "-q", "main")
    write_leaf(leafy_repo, "taxonomy/compositional_skills/tutoring/later", "later")
    commit_all(leafy_repo)
    git(leafy_repo, "checkout", "-q", "feature")
    result = run(leafy_repo, monkeypatch)  # main moved on: compared with where feature left it
    assert result.stderr == f"compared with main (merge-base {main})\n" and result.stdout.startswith("A  ")
    assert (
        run(leafy_repo, monkeypatch, "--base", "empty").stderr
        == "compared with the empty tree (every leaf is new)\n"
    )
    assert run(leafy_repo, monkeypatch, "--format", "json").stderr == ""


def test_base_option_and_empty(leafy_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_leaf(leafy_repo, "taxonomy/compositional_skills/tutoring/exam", "exam")
    commit_all(leafy_repo)
    assert run(leafy_repo, monkeypatch, "--base", "HEAD").stdout == ""
    assert run(leafy_repo, monkeypatch, "--base", "main").stdout.split() == [
        "A",
        "taxonomy/compositional_skills/tutoring/exam/qna.yaml",
    ]
    assert len(run(leafy_repo, monkeypatch, "--base", "empty").stdout.splitlines()) == 4


def test_taxonomy_root_from_config(git_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (git_repo / "labtax.yaml").write_text("taxonomy_root: tax\n")
    write_leaf(git_repo, "tax/knowledge/a", "a", {"a.md": "A\n"})
    assert run(git_repo, monkeypatch).stdout == "A  tax/knowledge/a/qna.yaml\n"


def test_unknown_base_exit_2(leafy_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = run(leafy_repo, monkeypatch, "--base", "nope")
    assert result.exit_code == 2
    assert "base 'nope' does not name a commit" in result.output
    assert "Traceback" not in result.output


def test_outside_a_repository_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = run(tmp_path, monkeypatch)
    assert result.exit_code == 2
    assert "not inside a git repository" in result.output


def test_bad_format_is_a_usage_error(leafy_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run(leafy_repo, monkeypatch, "--format", "yaml").exit_code == 2


def test_lint_changed_checks_only_what_diff_reports(
    starter_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    git(starter_repo, "checkout", "-q", "-b", "edit")
    leaf = "taxonomy/foundational_skills/mathematics/arithmetic_word_problems"
    (starter_repo / leaf / "attribution.txt").write_text("")  # an empty attribution is a lint error
    assert run(starter_repo, monkeypatch).stdout == f"M  {leaf}/qna.yaml\n"
    result = CliRunner().invoke(cli, ["lint", "--changed", "--format", "json"])
    assert result.exit_code == 1, result.stdout
    assert {p["path"] for p in json.loads(result.stdout)} == {f"{leaf}/qna.yaml"}


def test_a_newline_in_a_path_cannot_start_a_line_of_its_own(
    leafy_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = 'taxonomy/compositional_skills/evil\n::error file=x::pwned "q"'
    write_leaf(leafy_repo, folder, "evil")
    result = run(leafy_repo, monkeypatch)
    assert result.exit_code == 0, result.stdout
    assert result.stdout.splitlines() == [
        'A  "taxonomy/compositional_skills/evil\\n::error file=x::pwned \\"q\\"/qna.yaml"'
    ]
    assert (
        json.loads(run(leafy_repo, monkeypatch, "--format", "json").output)[0]["path"] == f"{folder}/qna.yaml"
    )
