"""`labtax lint` through the real console entry point: formats, exit codes, profiles, --changed."""

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import git
from tests.lint.lint_helpers import GOOD_SKILL, write_leaf

LABTAX = str(Path(sys.executable).parent / "labtax")
BAD = GOOD_SKILL.replace("answer: >-\n      Adding 3 and 21 gives 24, because 3 + 21 = 24.", 'answer: ""')
WARN = GOOD_SKILL.replace("What is 5 plus 35?", "What is 1 plus 7 ?").replace(
    "Adding 5 and 35 gives 40, because 5 + 35 = 40.", "Adding 1 and 7 gives 8, because 1 + 7 = 8 indeed."
)


def run(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k != "GITHUB_ACTIONS"} | env
    return subprocess.run(
        [LABTAX, *args], cwd=cwd, capture_output=True, text=True, env=environment, timeout=60
    )


def make_repo(root: Path) -> Path:
    write_leaf(root, "compositional_skills/writing/good", GOOD_SKILL)
    write_leaf(root, "compositional_skills/writing/bad", BAD)
    return root


def test_text_output_and_exit_1(tmp_path):
    result = run(make_repo(tmp_path), "lint")
    assert result.returncode == 1
    assert result.stdout == (
        "taxonomy/compositional_skills/writing/bad/qna.yaml:13:13: "
        "error[LT102] seed_examples[2].answer: must be a non-empty string\n"
    )
    assert "2 files checked: 1 error, 0 warnings" in result.stderr
    assert "Traceback" not in result.stderr


def test_clean_exit_0_and_path_argument(tmp_path):
    result = run(make_repo(tmp_path), "lint", "taxonomy/compositional_skills/writing/good")
    assert (result.returncode, result.stdout) == (0, "")


def test_json_output(tmp_path):
    result = run(make_repo(tmp_path), "lint", "--format", "json")
    assert json.loads(result.stdout) == [
        {
            "path": "taxonomy/compositional_skills/writing/bad/qna.yaml",
            "line": 13,
            "column": 13,
            "severity": "error",
            "rule": "LT102",
            "message": "seed_examples[2].answer: must be a non-empty string",
        }
    ]


def test_github_output_is_automatic_in_actions(tmp_path):
    result = run(make_repo(tmp_path), "lint", GITHUB_ACTIONS="true")
    assert result.stdout == (
        "::error file=taxonomy/compositional_skills/writing/bad/qna.yaml,line=13,col=13,title=LT102::"
        "seed_examples[2].answer: must be a non-empty string\n"
    )


def test_warnings_pass_unless_strict(tmp_path):
    write_leaf(tmp_path, "compositional_skills/writing/warn", WARN)
    assert run(tmp_path, "lint").returncode == 0
    assert run(tmp_path, "lint", "--strict").returncode == 1
    (tmp_path / "labtax.yaml").write_text("lint:\n  strict: true\n")
    assert run(tmp_path, "lint").returncode == 1


def test_profile_flag_and_config(tmp_path):
    write_leaf(tmp_path, "compositional_skills/writing/Bad_Name", GOOD_SKILL, attribution=None)
    assert run(tmp_path, "lint").returncode == 1  # LT201, LT203
    assert run(tmp_path, "lint", "--profile", "instructlab").returncode == 0
    (tmp_path / "labtax.yaml").write_text("profile: instructlab\n")
    assert run(tmp_path, "lint").returncode == 0


def test_usage_errors_exit_2(tmp_path):
    make_repo(tmp_path)
    missing = run(tmp_path, "lint", "nowhere/qna.yaml")
    assert missing.returncode == 2 and "no such file or folder: nowhere/qna.yaml" in missing.stderr
    assert run(tmp_path, "lint", "--format", "xml").returncode == 2
    (tmp_path / "labtax.yaml").write_text("lint:\n  max_file_bytes: lots\n")
    bad_config = run(tmp_path, "lint")
    assert (
        bad_config.returncode == 2
        and "max_file_bytes" in bad_config.stderr
        and "Traceback" not in bad_config.stderr
    )


def test_output_is_sorted_by_path_line_column(tmp_path):
    for name in ("b", "a", "c"):
        write_leaf(
            tmp_path, f"compositional_skills/writing/{name}", BAD.replace("version: 3\n", "version: 3  \n")
        )
    lines = run(tmp_path, "lint").stdout.splitlines()
    keys = [(line.split(":")[0], int(line.split(":")[1]), int(line.split(":")[2])) for line in lines]
    assert keys == sorted(keys) and len(keys) == 6


def test_list_rules(tmp_path):
    result = run(tmp_path, "lint", "--list-rules")
    assert result.returncode == 0 and "| LT102 | value-type | error |" in result.stdout


def test_changed_lints_only_changed_leaves(tmp_path):
    repo = make_repo(tmp_path)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    write_leaf(repo, "compositional_skills/writing/new", BAD)
    result = run(repo, "lint", "--changed", "--base", "main")
    assert result.returncode == 1, result.stderr
    assert {line.split(":")[0] for line in result.stdout.splitlines()} == {
        "taxonomy/compositional_skills/writing/new/qna.yaml"
    }


def test_changed_reports_a_misnamed_leaf_file(tmp_path):
    repo = make_repo(tmp_path)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    stray = repo / "taxonomy/compositional_skills/writing/new/qna.yml"
    stray.parent.mkdir(parents=True)
    stray.write_text(GOOD_SKILL)  # untracked, and named qna.yml: no leaf, but lint must say so
    result = run(repo, "lint", "--changed", "--base", "main")
    assert result.returncode == 1, result.stderr
    assert "taxonomy/compositional_skills/writing/new/qna.yml:1:1: error[LT008]" in result.stdout
