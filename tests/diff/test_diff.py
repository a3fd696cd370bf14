"""labtax.diff.changed_leaves in real temporary git repositories."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from labtax.diff import LeafChange, changed_leaves
from labtax.errors import GitError
from labtax.taxonomy.git import diff_against, open_repo
from tests.conftest import git
from tests.diff.conftest import commit_all, write_leaf

KIN = "taxonomy/knowledge/physics/kinematics/qna.yaml"
ARITH = "taxonomy/foundational_skills/math/arithmetic/qna.yaml"
EXPLAIN = "taxonomy/compositional_skills/tutoring/explain/qna.yaml"


def test_nothing_changed(leafy_repo: Path) -> None:
    assert changed_leaves(leafy_repo) == []


def test_commit_on_a_branch_is_listed(leafy_repo: Path) -> None:
    path = write_leaf(leafy_repo, "taxonomy/compositional_skills/tutoring/exam", "exam")
    commit_all(leafy_repo)
    assert changed_leaves(leafy_repo) == [LeafChange(path, "added", None, "compositional_skills")]


def test_staged_unstaged_and_untracked(leafy_repo: Path) -> None:
    (leafy_repo / ARITH).write_text("version: 3\nstaged: edit\n")
    git(leafy_repo, "add", ARITH)
    (leafy_repo / EXPLAIN).write_text("version: 3\nunstaged: edit\n")
    new = write_leaf(leafy_repo, "taxonomy/foundational_skills/reasoning/logic", "logic")
    assert changed_leaves(leafy_repo) == [
        LeafChange(EXPLAIN, "modified", None, "compositional_skills"),
        LeafChange(ARITH, "modified", None, "foundational_skills"),
        LeafChange(new, "added", None, "foundational_skills"),
    ]


def test_deleted_leaf_is_listed_once_with_its_old_path(leafy_repo: Path) -> None:
    shutil.rmtree(leafy_repo / "taxonomy/knowledge/physics/kinematics")
    assert changed_leaves(leafy_repo) == [LeafChange(KIN, "deleted", None, "knowledge")]
    git(leafy_repo, "add", "-A")  # staged deletion reads the same
    assert changed_leaves(leafy_repo) == [LeafChange(KIN, "deleted", None, "knowledge")]


def test_renamed_leaf_staged_committed_or_moved_by_hand(leafy_repo: Path) -> None:
    new = "taxonomy/compositional_skills/tutoring/explain_concept/qna.yaml"
    expected = [LeafChange(new, "renamed", EXPLAIN, "compositional_skills")]
    (leafy_repo / "taxonomy/compositional_skills/tutoring/explain").rename(leafy_repo / Path(new).parent)
    assert changed_leaves(leafy_repo) == expected  # plain mv: deleted + untracked, paired by content
    git(leafy_repo, "add", "-A")
    assert changed_leaves(leafy_repo) == expected
    commit_all(leafy_repo)
    assert changed_leaves(leafy_repo) == expected


def test_moved_leaf_with_new_content_is_deleted_plus_added(leafy_repo: Path) -> None:
    new = "taxonomy/compositional_skills/tutoring/explain2/qna.yaml"
    (leafy_repo / "taxonomy/compositional_skills/tutoring/explain").rename(leafy_repo / Path(new).parent)
    (leafy_repo / new).write_text("completely: different\n")
    assert [(c.path, c.status) for c in changed_leaves(leafy_repo)] == [(EXPLAIN, "deleted"), (new, "added")]


def test_attribution_change_modifies_the_leaf(leafy_repo: Path) -> None:
    (leafy_repo / "taxonomy/foundational_skills/math/arithmetic/attribution.txt").write_text("new authors\n")
    assert changed_leaves(leafy_repo) == [LeafChange(ARITH, "modified", None, "foundational_skills")]


def test_local_document_change_modifies_the_leaf(leafy_repo: Path) -> None:
    (leafy_repo / "taxonomy/knowledge/physics/kinematics/kinematics.md").write_text("# Motion, revised\n")
    assert changed_leaves(leafy_repo) == [LeafChange(KIN, "modified", None, "knowledge")]


def test_unreferenced_file_in_a_leaf_folder_is_not_a_change(leafy_repo: Path) -> None:
    (leafy_repo / "taxonomy/knowledge/physics/kinematics/notes.txt").write_text("reviewer notes\n")
    assert changed_leaves(leafy_repo) == []


def test_document_in_a_subfolder_matched_by_a_glob(git_repo: Path) -> None:
    path = write_leaf(
        git_repo,
        "taxonomy/knowledge/chem/atoms",
        "atoms",
        {"docs/atoms.md": "# Atoms\n"},
        patterns=["docs/*.md"],
    )
    commit_all(git_repo)
    (git_repo / "taxonomy/knowledge/chem/atoms/docs/atoms.md").write_text("# Atoms, revised\n")
    (git_repo / "taxonomy/knowledge/chem/atoms/docs/draft.txt").write_text("not a document\n")
    assert changed_leaves(git_repo, base="HEAD") == [LeafChange(path, "modified", None, "knowledge")]


def test_unreadable_leaf_still_counts_a_changed_file(leafy_repo: Path) -> None:
    folder = leafy_repo / "taxonomy/knowledge/physics/kinematics"
    (folder / "qna.yaml").write_text("document: [unclosed\n")
    git(leafy_repo, "commit", "-q", "-am", "broken")
    git(leafy_repo, "checkout", "-q", "-b", "later")
    (folder / "kinematics.md").write_text("changed\n")
    assert changed_leaves(leafy_repo, base="HEAD") == [LeafChange(KIN, "modified", None, "knowledge")]


def test_files_outside_the_branches_are_ignored(leafy_repo: Path) -> None:
    (leafy_repo / "README.md").write_text("changed\n")
    (leafy_repo / "taxonomy/qna.yaml").write_text("not a leaf\n")
    write_leaf(leafy_repo, "taxonomy/drafts/idea", "idea")
    assert changed_leaves(leafy_repo) == []


def test_base_is_the_merge_base_so_later_main_commits_do_not_show(leafy_repo: Path) -> None:
    git(leafy_repo, "checkout", "-q", "main")
    write_leaf(leafy_repo, "taxonomy/foundational_skills/math/fractions", "fractions")
    commit_all(leafy_repo, "main moves on")
    git(leafy_repo, "checkout", "-q", "work")
    assert changed_leaves(leafy_repo) == []
    assert changed_leaves(leafy_repo, base="main") == []


def test_origin_main_is_preferred_over_local_main(leafy_repo: Path, tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(leafy_repo, "remote", "add", "origin", str(remote))
    git(leafy_repo, "push", "-q", "origin", "main")
    git(leafy_repo, "checkout", "-q", "main")  # local main gets a commit that origin/main lacks
    path = write_leaf(leafy_repo, "taxonomy/foundational_skills/math/fractions", "fractions")
    commit_all(leafy_repo, "not pushed")
    assert changed_leaves(leafy_repo) == [LeafChange(path, "added", None, "foundational_skills")]
    git(leafy_repo, "remote", "remove", "origin")  # no remote: merge-base with local main (HEAD itself)
    assert changed_leaves(leafy_repo) == []


def test_explicit_base_sha(leafy_repo: Path) -> None:
    first = git(leafy_repo, "rev-parse", "HEAD").strip()
    path = write_leaf(leafy_repo, "taxonomy/compositional_skills/tutoring/exam", "exam")
    commit_all(leafy_repo)
    assert changed_leaves(leafy_repo, base="HEAD") == []
    assert changed_leaves(leafy_repo, base=first) == [LeafChange(path, "added", None, "compositional_skills")]


def test_config_default_base(leafy_repo: Path) -> None:
    write_leaf(leafy_repo, "taxonomy/compositional_skills/tutoring/exam", "exam")
    commit_all(leafy_repo)
    (leafy_repo / "labtax.yaml").write_text("default_base: HEAD\n")
    assert changed_leaves(leafy_repo) == []


def test_empty_base_lists_every_leaf(leafy_repo: Path) -> None:
    untracked = write_leaf(leafy_repo, "taxonomy/foundational_skills/reasoning/logic", "logic")
    changes = changed_leaves(leafy_repo, base="empty")
    assert [(c.path, c.status, c.branch) for c in changes] == [
        (EXPLAIN, "added", "compositional_skills"),
        (ARITH, "added", "foundational_skills"),
        (untracked, "added", "foundational_skills"),
        (KIN, "added", "knowledge"),
    ]


def test_repo_without_commits_treats_everything_as_added(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "-b", "main")
    staged = write_leaf(tmp_path, "taxonomy/knowledge/a", "a", {"a.md": "A\n"})
    git(tmp_path, "add", "-A")
    loose = write_leaf(tmp_path, "taxonomy/compositional_skills/b", "b")
    expected = [
        LeafChange(loose, "added", None, "compositional_skills"),
        LeafChange(staged, "added", None, "knowledge"),
    ]
    assert changed_leaves(tmp_path) == expected
    assert changed_leaves(tmp_path, base="HEAD") == expected  # the pre-commit hook before the first commit
    with pytest.raises(GitError, match="tried: main"):
        changed_leaves(tmp_path, base="main")


def test_unknown_base_names_the_ref(leafy_repo: Path) -> None:
    with pytest.raises(GitError, match=r"base 'no-such-branch' .*tried: no-such-branch") as info:
        changed_leaves(leafy_repo, base="no-such-branch")
    assert info.value.exit_code == 2
    with pytest.raises(GitError, match="does not name a commit"):
        changed_leaves(leafy_repo, base="--output=/tmp/x")  # never passed to git as an option


def test_no_default_base_names_the_refs_tried(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "-b", "trunk")
    write_leaf(tmp_path, "taxonomy/knowledge/a", "a", {"a.md": "A\n"})
    commit_all(tmp_path)
    with pytest.raises(GitError, match="tried origin/main, main"):
        changed_leaves(tmp_path)
    assert [c.status for c in changed_leaves(tmp_path, base="empty")] == ["added"]


def test_outside_a_repository(tmp_path: Path) -> None:
    with pytest.raises(GitError, match="not inside a git repository"):
        changed_leaves(tmp_path)


def test_custom_taxonomy_root(git_repo: Path) -> None:
    path = write_leaf(git_repo, "tax/knowledge/a", "a", {"a.md": "A\n"})
    assert changed_leaves(git_repo, taxonomy_root="tax") == [LeafChange(path, "added", None, "knowledge")]
    assert changed_leaves(git_repo) == []


def test_a_failing_git_command_is_a_git_error(git_repo: Path) -> None:
    with pytest.raises(GitError, match="git diff failed .*bad revision 'nosuchref'"):
        diff_against(open_repo(git_repo), "nosuchref", "taxonomy")


def test_labtax_yaml_in_a_subfolder(git_repo: Path) -> None:
    """A taxonomy kept in a folder of a bigger repository: paths stay relative to labtax.yaml's folder."""
    project = git_repo / "tax"
    project.mkdir()
    (project / "labtax.yaml").write_text("taxonomy_root: taxonomy\n")
    commit_all(git_repo)
    path = write_leaf(project, "taxonomy/foundational_skills/math/sums", "sums")
    assert path == "taxonomy/foundational_skills/math/sums/qna.yaml"
    assert changed_leaves(project, base="main") == [LeafChange(path, "added", None, "foundational_skills")]
    assert changed_leaves(git_repo, base="main") == []  # from the top level, taxonomy/ is another folder
