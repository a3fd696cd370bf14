"""LT401-LT402: local knowledge documents and the license allowlist."""

from tests.lint.lint_helpers import GOOD_KNOWLEDGE, KNOWLEDGE_LEAF, assert_rule


def test_lt401_missing_document(tmp_path):
    (problem,) = assert_rule(tmp_path, "LT401", GOOD_KNOWLEDGE, (53, 7), leaf=KNOWLEDGE_LEAF, files={})
    assert "pattern 'kinematics.md' matches no file" in problem.message
    assert_rule(tmp_path / "ok", "LT401", GOOD_KNOWLEDGE, leaf=KNOWLEDGE_LEAF)


def test_lt401_wrong_document_type(tmp_path):
    text = GOOD_KNOWLEDGE.replace("kinematics.md", "docs/*")
    files = {
        "docs/kinematics.md": "# ok\n",
        "docs/kinematics.pdf": "%PDF",
        "docs/page.html": "<p>ok</p>",
        "docs/kinematics.docx": "PK",
    }
    (problem,) = assert_rule(tmp_path, "LT401", text, (53, 7), leaf=KNOWLEDGE_LEAF, files=files)
    assert "'docs/kinematics.docx' is not a document type labtax reads" in problem.message  # PDF and HTML are


def test_lt401_document_link_outside_the_leaf(tmp_path):
    outside = tmp_path / "outside.md"
    outside.write_text("# secret\n")
    folder = tmp_path / "repo" / "taxonomy" / KNOWLEDGE_LEAF
    folder.mkdir(parents=True)
    (folder / "kinematics.md").symlink_to(outside)
    (problem,) = assert_rule(
        tmp_path / "repo", "LT401", GOOD_KNOWLEDGE, (53, 7), leaf=KNOWLEDGE_LEAF, files={}
    )
    assert "outside the leaf folder" in problem.message


def test_lt401_remote_documents_are_not_checked_locally(tmp_path):
    text = GOOD_KNOWLEDGE.replace(
        "  patterns:", "  repo: https://example.com/d.git\n  commit: " + "a" * 40 + "\n  patterns:"
    )
    assert_rule(tmp_path, "LT401", text, leaf=KNOWLEDGE_LEAF, files={})


def test_lt402_license_allowlist(tmp_path):
    text = GOOD_KNOWLEDGE.replace("CC-BY-4.0", "GPL-3.0-only")
    (problem,) = assert_rule(tmp_path, "LT402", text, (54, 12), leaf=KNOWLEDGE_LEAF)
    assert "license 'GPL-3.0-only' is not in the allowlist" in problem.message
    assert_rule(tmp_path / "cfg", "LT402", text, leaf=KNOWLEDGE_LEAF, lint={"licenses": ["GPL-3.0-only"]})
    assert_rule(tmp_path / "ok", "LT402", GOOD_KNOWLEDGE, leaf=KNOWLEDGE_LEAF)


def test_a_recursive_pattern_finds_documents_in_subfolders(tmp_path):
    # `docs/**` names every file below docs/ (Path.glob would list only the folders)
    text = GOOD_KNOWLEDGE.replace("kinematics.md", "docs/**")
    assert_rule(
        tmp_path,
        "LT401",
        text,
        leaf=KNOWLEDGE_LEAF,
        files={"docs/kinematics.md": "# ok\n", "docs/more/notes.txt": "ok\n"},
    )
