"""`labtax fmt` keeps comments and content while normalising; `labtax new` scaffolds leaves that
fail lint until filled."""

import subprocess
import sys
from pathlib import Path

from labtax.config import load_config
from labtax.lint import lint_paths
from labtax.lint.fmt import format_text
from tests.lint.lint_helpers import GOOD_SKILL, write_leaf

LABTAX = str(Path(sys.executable).parent / "labtax")

MESSY = """# A comment at the top stays.
seed_examples:
- answer: Four.   # the answer
  question: What is 2 + 2?
created_by: ada   # who
version: 3
task_description: >-
  Add small numbers.
"""


def run(cwd, *args):
    return subprocess.run([LABTAX, *args], cwd=cwd, capture_output=True, text=True, timeout=60)


def test_format_text_orders_keys_indents_and_keeps_comments():
    out = format_text(MESSY)
    assert (
        out.index("version: 3")
        < out.index("created_by: ada")
        < out.index("task_description")
        < out.index("seed_examples")
    )
    assert "  - question: What is 2 + 2?\n    answer: Four. # the answer\n" in out
    assert "# A comment at the top stays." in out and "# who" in out
    assert format_text(out) == out  # idempotent


def test_fmt_check_then_write(tmp_path):
    path = write_leaf(tmp_path, "compositional_skills/writing/messy", MESSY.rstrip("\n"))
    write_leaf(tmp_path, "compositional_skills/writing/good", GOOD_SKILL)
    check = run(tmp_path, "fmt", "--check")
    assert (
        check.returncode == 1
        and check.stdout == "would reformat taxonomy/compositional_skills/writing/messy/qna.yaml\n"
    )
    assert path.read_text() == MESSY.rstrip("\n")  # --check changes nothing
    assert run(tmp_path, "fmt").returncode == 0
    assert path.read_text() == format_text(MESSY)
    assert run(tmp_path, "fmt", "--check").returncode == 0


def test_fmt_refuses_broken_files(tmp_path):
    path = write_leaf(tmp_path, "compositional_skills/writing/broken", "a: b: c\n")
    result = run(tmp_path, "fmt")
    assert result.returncode == 1 and "fix what `labtax lint" in result.stderr
    assert path.read_text() == "a: b: c\n"


def test_new_skill_fails_lint_until_filled(tmp_path):
    result = run(tmp_path, "new", "skill", "taxonomy/compositional_skills/writing/haiku")
    assert result.returncode == 0, result.stderr
    folder = tmp_path / "taxonomy/compositional_skills/writing/haiku"
    problems = lint_paths([folder], load_config(tmp_path))
    assert {p.rule for p in problems} == {"LT203", "LT304"}
    assert (
        "created_by: still holds the placeholder <<your GitHub handle>>" in [p.message for p in problems][1]
    )
    (folder / "qna.yaml").write_text(GOOD_SKILL)
    (folder / "attribution.txt").write_text("Written for this taxonomy by ada-lovelace, CC-BY-4.0.\n")
    assert lint_paths([folder], load_config(tmp_path)) == []


def test_new_knowledge_names_the_missing_document(tmp_path):
    assert run(tmp_path, "new", "knowledge", "taxonomy/knowledge/physics/optics").returncode == 0
    problems = lint_paths([tmp_path / "taxonomy/knowledge/physics/optics"], load_config(tmp_path))
    assert {p.rule for p in problems} >= {"LT203", "LT304", "LT401"}


def test_new_refuses_wrong_branch_and_existing_leaf(tmp_path):
    wrong = run(tmp_path, "new", "knowledge", "taxonomy/compositional_skills/writing/x")
    assert (
        wrong.returncode == 2
        and "a knowledge leaf belongs in taxonomy/knowledge/<topic>/<leaf>" in wrong.stderr
    )
    assert run(tmp_path, "new", "skill", "taxonomy/foundational_skills/math/sums").returncode == 0
    again = run(tmp_path, "new", "skill", "taxonomy/foundational_skills/math/sums")
    assert again.returncode == 2 and "already exists" in again.stderr
