"""Knowledge documents: PDF (pages), HTML and Markdown (headings) chunked with their place in the
document; a PDF without text is a located error; chunks too long for the context are split."""

from __future__ import annotations

from pathlib import Path

import pytest

from labtax.errors import LabtaxError
from labtax.generate.documents import Chunk, chunk_text, fit_chunks, leaf_chunks, read_document
from labtax.taxonomy import load_leaf
from tests.generate.helpers import KNOWLEDGE, git, records, run, write_config, write_leaf
from tests.generate.teacher_server import TeacherServer, stage_of

LEAF = "knowledge/physics/kinematics"


def make_pdf(pages: list[str]) -> bytes:
    """A minimal PDF (Helvetica text, one line per page; an empty string gives a page without text)."""
    count = len(pages)
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids ["
        + " ".join(f"{3 + 2 * i} 0 R" for i in range(count))
        + f"] /Count {count} >>",
    ]
    for i, text in enumerate(pages):
        stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET" if text else ""
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {4 + 2 * i} 0 R "
            f"/Resources << /Font << /F1 {3 + 2 * count} 0 R >> >> >>"
        )
        objects.append(f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream")
    objects.append("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{offset:010d} 00000 n \n" for offset in offsets).encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


def knowledge_leaf(repo: Path, pattern: str, files: dict[str, bytes | str]) -> str:
    path = write_leaf(repo, LEAF, KNOWLEDGE.replace('"*.md"', f'"{pattern}"'))
    for name, content in files.items():
        target = repo / "taxonomy" / LEAF / name
        target.write_bytes(content) if isinstance(content, bytes) else target.write_text(content)
    return path


def test_pdf_pages_become_chunk_locations(tmp_path: Path) -> None:
    pages = [f"Page {n} says velocity is the rate of change of position number {n}." for n in (1, 2, 3)]
    path = knowledge_leaf(tmp_path, "*.pdf", {"motion.pdf": make_pdf(pages)})
    chunks = leaf_chunks(tmp_path, load_leaf(tmp_path, path), 13, 0)  # 13 words a page
    assert [c.location for c in chunks] == ["page=1", "page=2", "page=3"]
    assert all(f"number {n}" in c.text for n, c in enumerate(chunks, 1))
    assert chunks[1].reference == f"taxonomy/{LEAF}/motion.pdf#page=2"


def test_pdf_without_text_is_a_located_error(tmp_path: Path) -> None:
    path = knowledge_leaf(tmp_path, "*.pdf", {"scan.pdf": make_pdf(["", ""])})
    with pytest.raises(
        LabtaxError, match=rf"^taxonomy/{LEAF}/scan.pdf: no extractable text on any of its 2 page\(s\).*OCR"
    ):
        leaf_chunks(tmp_path, load_leaf(tmp_path, path), 50, 5)
    broken = knowledge_leaf(tmp_path, "*.pdf", {"scan.pdf": b"%PDF-1.4 not really"})
    with pytest.raises(LabtaxError, match="scan.pdf: cannot read PDF"):
        leaf_chunks(tmp_path, load_leaf(tmp_path, broken), 50, 5)


def test_html_text_and_heading_locations(tmp_path: Path) -> None:
    html = """<html><head><title>skip me</title><style>p {color: red}</style></head><body>
    <h1 id="intro">Introduction</h1><p>Motion is change of position.</p><script>var x = 1;</script>
    <h2>Free fall &amp; gravity</h2><p>Objects fall at 9.8 m/s&sup2; near the ground.</p></body></html>"""
    path = tmp_path / "page.html"
    path.write_text(html)
    text, marks = read_document(path, "page.html")
    assert "skip me" not in text and "color" not in text and "var x" not in text
    assert "Free fall & gravity" in text and "9.8 m/s² near" in text
    assert [label for _, label in marks] == ["intro", "free-fall--gravity"]
    assert text[marks[1][0] :].lstrip().startswith("Free fall")


def test_markdown_headings_locate_chunks(tmp_path: Path) -> None:
    path = tmp_path / "doc.md"
    path.write_text("# Velocity\n" + "speed " * 30 + "\n\n## Free fall!\n" + "fall " * 30 + "\n")
    text, marks = read_document(path, "doc.md")
    from labtax.generate.documents import Document

    chunks = chunk_text(text, "doc.md", 20, 0, Document("doc.md", text, marks))
    assert chunks[0].location == "velocity" and chunks[-1].location == "free-fall"


def test_fit_chunks_splits_without_losing_text() -> None:
    chunk = Chunk(" ".join(f"w{i}" for i in range(100)), "doc.md", "page=2")
    fitted = fit_chunks([chunk, Chunk("short", "doc.md")], budget=30, count=len)
    assert all(len(c.text) <= 30 for c in fitted) and len(fitted) > 5
    assert " ".join(c.text for c in fitted[:-1]).split() == chunk.text.split()  # nothing cut or dropped
    assert {c.location for c in fitted[:-1]} == {"page=2"} and fitted[-1].text == "short"
    with pytest.raises(LabtaxError, match="does not fit the teacher's context"):
        fit_chunks([Chunk("x" * 50, "doc.md")], budget=30, count=len)


def test_generate_splits_chunks_for_a_small_context_and_records_the_page(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    words = " ".join(f"Velocity fact {i} relates position and time." for i in range(60))
    half = words.index(" ", len(words) // 2)  # pages break between words
    knowledge_leaf(repo, "*.pdf", {"motion.pdf": make_pdf([words[:half].strip(), words[half:].strip()])})
    small = [{"id": "scripted-teacher", "max_model_len": 700}]
    with TeacherServer(models=small) as server:
        # 3 chunks of up to 200 words
        write_config(repo, server.url, num_instructions=12, chunk_tokens=200, chunk_overlap=0)
        result = run(repo)
        prompts = [b["messages"][0]["content"] for b in server.received if stage_of(b) == "generate_qa"]
    assert not result.failed
    # every prompt fits with max_tokens.qa
    assert prompts and all(len(p.encode()) // 3 + 96 <= 700 for p in prompts)
    shown = {p.split("Passage:\n", 1)[1].split("\nWrite one new question")[0].strip() for p in prompts}
    assert len(shown) > 3  # more than the 3 chunks of 200 words: they were split
    assert sum(len(text.split()) for text in shown) == len(words.split())  # and nothing was lost
    sources = {r["source"] for r in records(repo, "knowledge/physics/kinematics.jsonl")}
    assert sources <= {f"taxonomy/{LEAF}/motion.pdf#page=1", f"taxonomy/{LEAF}/motion.pdf#page=2"} and sources
