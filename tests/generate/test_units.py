"""Small pieces: ROUGE-L, reply parsing, chunking, document loading (local and pinned git), cache."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from labtax.errors import LabtaxError
from labtax.generate.dedup import NearDuplicates, rouge_l
from labtax.generate.documents import chunk_text, leaf_chunks
from labtax.generate.items import parse_tagged
from labtax.models.cache import CallCache, call_key
from labtax.models.templates import Templates
from labtax.taxonomy import load_leaf
from tests.generate.helpers import KNOWLEDGE, git, write_leaf


def test_rouge_l() -> None:
    assert rouge_l("the cat sat on the mat", "the cat sat on the mat") == 1.0
    assert rouge_l("a b c d", "e f g h") == 0.0
    assert rouge_l("a b c d", "a x c y") == pytest.approx(0.5)  # LCS 2 of 4 and 4
    assert rouge_l("", "a") == 0.0
    filter_ = NearDuplicates(0.7, ["Write a haiku about gravity."])
    assert filter_.seen("write a HAIKU about gravity!")
    assert not filter_.seen("Explain why the sky is blue in two sentences.")


def test_parse_tagged() -> None:
    assert parse_tagged("Question: What?\nAnswer: That.", ("Question", "Answer")) == {
        "question": "What?",
        "answer": "That.",
    }
    assert (
        parse_tagged("Question: What?\nAnswer: That.\nQuestion: Again?", ("Question", "Answer"))["answer"]
        == "That."
    )
    assert parse_tagged("**Question**: What?\n**Answer**: That.", ("Question", "Answer")) == {
        "question": "What?",
        "answer": "That.",
    }
    assert parse_tagged("Question: What?", ("Question", "Answer")) is None  # missing tag
    assert parse_tagged("Answer: That.\nQuestion: What?", ("Question", "Answer")) is None  # wrong order
    assert parse_tagged("Question:   \nAnswer: x", ("Question", "Answer")) is None  # empty part
    assert parse_tagged("no tags at all", ("Instruction",)) is None


def test_chunking_by_tokens_with_overlap() -> None:
    text = " ".join(f"w{i}" for i in range(25))
    chunks = chunk_text(text, "doc.md", size=10, overlap=3)
    assert [c.text.split()[0] for c in chunks] == ["w0", "w7", "w14", "w21"]
    assert chunks[0].text.split()[-3:] == chunks[1].text.split()[:3]
    assert chunks[-1].text.split()[-1] == "w24" and all(c.source == "doc.md" for c in chunks)
    assert chunk_text("one\n\ntwo  three", "d", 10, 2)[0].text == "one\n\ntwo  three"  # layout kept
    assert chunk_text("   ", "d", 10, 2) == []


def test_local_documents_stay_inside_the_leaf(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    leaf_path = write_leaf(
        repo,
        "knowledge/physics/kinematics",
        KNOWLEDGE,
        {"a.md": "alpha beta", "b.txt": "gamma", "c.html": "<p>delta</p>"},
    )
    chunks = leaf_chunks(repo, load_leaf(repo, leaf_path), 50, 5)
    # the pattern *.md only
    assert [c.source for c in chunks] == ["taxonomy/knowledge/physics/kinematics/a.md"]
    escaping = KNOWLEDGE.replace('"*.md"', '"../../secret.md"')
    write_leaf(repo, "knowledge/physics/kinematics", escaping)
    with pytest.raises(LabtaxError, match="leaves its folder"):
        leaf_chunks(repo, load_leaf(repo, leaf_path), 50, 5)
    (tmp_path / "outside.md").write_text("secret")
    os.symlink(tmp_path / "outside.md", repo / "taxonomy/knowledge/physics/kinematics/link.md")
    write_leaf(repo, "knowledge/physics/kinematics", KNOWLEDGE)
    with pytest.raises(LabtaxError, match="resolves outside"):
        leaf_chunks(repo, load_leaf(repo, leaf_path), 50, 5)


def test_remote_documents_cloned_once_at_the_pinned_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LABTAX_CACHE", str(tmp_path / "cache"))
    docs = tmp_path / "docs"
    docs.mkdir()
    git(docs, "init", "-q", "-b", "main")
    (docs / "guide.md").write_text("pinned version of the guide")
    git(docs, "add", "-A")
    git(docs, "commit", "-q", "-m", "v1")
    pinned = git(docs, "rev-parse", "HEAD").strip()
    (docs / "guide.md").write_text("later version")
    git(docs, "commit", "-q", "-am", "v2")
    remote = KNOWLEDGE.replace(
        'document:\n  patterns:\n    - "*.md"',
        f'document:\n  repo: {docs.as_uri()}\n  commit: {pinned}\n  patterns:\n    - "*.md"',
    )
    repo = tmp_path / "repo"
    leaf = load_leaf(repo, write_leaf(repo, "knowledge/physics/kinematics", remote))
    (chunk,) = leaf_chunks(repo, leaf, 50, 5)
    assert chunk.text == "pinned version of the guide" and chunk.source == f"{docs.as_uri()}/guide.md"
    clone = next((tmp_path / "cache/documents").iterdir())
    marker = clone / ".git" / "labtax-test-marker"
    marker.write_text("still the same clone")
    assert leaf_chunks(repo, leaf, 50, 5)[0].text == "pinned version of the guide"
    assert marker.exists()  # reused, not cloned again
    bad = remote.replace(pinned, "deadbeef" * 5)
    with pytest.raises(LabtaxError, match="cannot get documents"):
        leaf_chunks(repo, load_leaf(repo, write_leaf(repo, "knowledge/physics/kinematics", bad)), 50, 5)
    escaping = remote.replace('"*.md"', '"../*.md"')
    with pytest.raises(LabtaxError, match="leaves its folder"):
        leaf_chunks(repo, load_leaf(repo, write_leaf(repo, "knowledge/physics/kinematics", escaping)), 50, 5)


def test_cache_survives_reopen(tmp_path: Path) -> None:
    key = call_key(teacher="t", prompt="p", sample=1)
    assert key != call_key(teacher="t", prompt="p", sample=2)
    cache = CallCache(tmp_path / "c.sqlite")
    cache.put(key, {"text": "hello"})
    cache.close()
    again = CallCache(tmp_path / "c.sqlite")
    assert again.get(key) == {"text": "hello"} and len(again) == 1
    (tmp_path / "bad.sqlite").write_text("not a database at all" * 100)
    with pytest.raises(LabtaxError, match="cannot be opened"):
        CallCache(tmp_path / "bad.sqlite")


def test_template_hash_covers_includes(tmp_path: Path) -> None:
    (tmp_path / "_principles.j2").write_text("Be correct.")
    (tmp_path / "stage.j2").write_text('{% set reply_prefix = "Q:" %}{% include "_principles.j2" %} {{ x }}')
    (tmp_path / "other.j2").write_text("{{ x }}")
    templates = Templates(tmp_path)
    rendered = templates.render("stage", x="{{ 1+1 }}")
    assert rendered.text == "Be correct. {{ 1+1 }}\n" and rendered.prefix == "Q:"
    before = (templates.hash("stage"), templates.hash("other"))
    (tmp_path / "_principles.j2").write_text("Be kind.")
    after = Templates(tmp_path)
    assert after.hash("stage") != before[0] and after.hash("other") == before[1]
    with pytest.raises(LabtaxError, match="stage.j2"):
        Templates(tmp_path).render("stage")  # a missing field is an error, not an empty string


def test_embedded_batch_survives_a_cancelled_request() -> None:
    """A leaf that fails cancels its waiting calls; the other requests of the same batch still get answers."""

    from labtax.models.embedded_teacher import EmbeddedTeacher, _Request

    teacher = EmbeddedTeacher({"embedded_batch": 4})
    teacher._ensure_loaded = lambda: None  # type: ignore[method-assign]  # no model: the batch logic only
    teacher._complete_batch = lambda args: [f"reply {i}" for i, _ in enumerate(args)]  # type: ignore[method-assign]
    cancelled, kept = _Request("complete", ("a",)), _Request("complete", ("b",))
    cancelled.future.cancel()
    teacher._serve([cancelled, kept])
    assert kept.future.result(timeout=1) == "reply 0"
    assert cancelled.future.cancelled()
