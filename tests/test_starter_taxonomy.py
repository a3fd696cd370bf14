"""The starter taxonomy shipped in taxonomy/ and the documented labtax.yaml: complete and lint clean."""

from __future__ import annotations

from pathlib import Path

from labtax.config import load_config
from labtax.lint import lint_paths
from labtax.taxonomy import BRANCHES, find_leaves, load_leaf

REPO_ROOT = Path(__file__).resolve().parent.parent


def _leaves():
    config = load_config(REPO_ROOT)
    return [
        load_leaf(REPO_ROOT, p.relative_to(REPO_ROOT).as_posix()) for p in find_leaves(config.taxonomy_root)
    ]


def test_config_is_valid_and_documented() -> None:
    config = load_config(REPO_ROOT)
    assert config.path == REPO_ROOT / "labtax.yaml"
    assert config.data["taxonomy_root"] == "taxonomy" and config.data["profile"] == "labtax"
    assert "CC-BY-4.0" in config.section("lint")["licenses"]
    assert (REPO_ROOT / "labtax.yaml").read_text(encoding="utf-8").count("#") > 10  # an explained example


def test_at_least_two_leaves_per_branch() -> None:
    counts = {branch: sum(leaf.branch == branch for leaf in _leaves()) for branch in BRANCHES}
    assert all(count >= 2 for count in counts.values()), counts


def test_every_leaf_lints_clean_without_warnings() -> None:
    config = load_config(REPO_ROOT)
    assert lint_paths([config.taxonomy_root], config) == []


def test_knowledge_contexts_come_from_the_leaf_documents() -> None:
    knowledge = [leaf for leaf in _leaves() if leaf.is_knowledge]
    assert knowledge
    for leaf in knowledge:
        folder = REPO_ROOT / leaf.folder
        assert leaf.document is not None and leaf.document.is_local and leaf.document.license == "CC-BY-4.0"
        text = "\n".join((folder / p).read_text(encoding="utf-8") for p in leaf.document.patterns)
        assert 600 <= len(text.split()) <= 1300
        contexts = [item["context"] for item in leaf.raw["seed_examples"]]
        assert len(contexts) >= 5 and all(context in text for context in contexts), leaf.path
        assert all(len(item["questions_and_answers"]) == 3 for item in leaf.raw["seed_examples"])
        assert "labtax contributors" in (folder / "attribution.txt").read_text(encoding="utf-8")


def test_skills_have_enough_short_seeds() -> None:
    for leaf in _leaves():
        if not leaf.is_knowledge:
            assert len(leaf.seed_examples) >= 5, leaf.path
        assert all(len(seed.answer.split()) <= 200 for seed in leaf.seed_examples), leaf.path
