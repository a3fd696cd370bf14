"""Benchmark: `labtax report` on 1,000 and 100,000 records; the page in headless chromium.

Writes a synthetic output folder shaped as `labtax generate` writes it (records valid against
schemas/record.schema.json, one dropped candidate per four records, knowledge records sharing
document chunks, 100 leaves), then times the report (HTML and Markdown), measures the HTML file,
and opens it in Debian's chromium (selenium + chromium-driver): time to first contentful paint,
time until the page is ready, and the time to filter by leaf, by status and by a text search.

    .venv/bin/python bench/bench_report.py [--records 1000 100000] [--screenshot docs/report.png]

With --screenshot it also writes the screenshot of the starter taxonomy's report used in the docs
(generated with the scripted teacher of tests/generate, as the browser test does).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from labtax.report import ReportOptions, build_report  # noqa: E402
from labtax.schemas import validator  # noqa: E402

WORDS = [
    "velocity", "force", "energy", "mass", "charge", "field", "wave", "orbit", "prism", "lens", "circuit",
    "atom", "proton", "photon", "graph", "matrix", "vector", "limit", "series", "prime", "angle", "circle",
    "volume", "area", "ratio", "median", "proof", "lemma", "axiom", "tensor", "spring", "friction", "torque",
    "pressure",
]  # fmt: skip
LEAVES = 100


def sentence(rng: random.Random, count: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(count)).capitalize()


def synthetic_output(folder: Path, records: int) -> None:
    """`records` kept records and records/4 dropped candidates over 100 leaves, with a manifest."""
    rng = random.Random(records)
    per_leaf = records // LEAVES
    provenance = {
        "taxonomy_commit": "0" * 40,
        "leaf_hash": "ab" * 8,
        "teacher": "openai:bench",
        "templates": {},
        "sampling": {},
        "seed": 42,
    }
    manifest = {"version": 1, "leaves": {}}
    for n in range(LEAVES):
        knowledge = n % 3 == 0
        leaf = f"taxonomy/{'knowledge' if knowledge else 'compositional_skills'}/bench/leaf_{n:03}/qna.yaml"
        chunks = [sentence(rng, 180) + "." for _ in range(max(per_leaf // 4, 1))]
        kept = [_record(rng, leaf, i, knowledge, chunks, provenance) for i in range(per_leaf)]
        dropped = [_dropped(rng, leaf, i, knowledge, chunks, provenance) for i in range(per_leaf // 4)]
        relative = leaf.removeprefix("taxonomy/").removesuffix("/qna.yaml") + ".jsonl"
        _write(folder / relative, kept)
        _write(folder / relative.replace(".jsonl", ".dropped.jsonl"), dropped)
        stage = "generate_qa" if knowledge else "generate_instructions"
        manifest["leaves"][leaf] = {
            "output": relative,
            "branch": leaf.split("/")[1],
            "records": per_leaf,
            "teacher_calls": per_leaf * 3,
            "cache_hits": 0,
            "calls": per_leaf * 3,
            "wall_s": 1.0,
            "stages": {
                stage: {
                    "generated": per_leaf + len(dropped),
                    "kept": per_leaf,
                    "dropped": {"rejected": len(dropped)},
                }
            },
        }
    (folder / "manifest.json").write_text(json.dumps(manifest))


def _record(
    rng: random.Random, leaf: str, i: int, knowledge: bool, chunks: list[str], provenance: dict
) -> dict:
    context = chunks[i % len(chunks)] if knowledge else None
    messages = [
        {"role": "user", "content": sentence(rng, 14) + "?"},
        {"role": "assistant", "content": sentence(rng, 60) + "."},
    ]
    scores = (
        {"faithfulness": True, "relevance": True}
        if knowledge
        else {"instruction": True, "pair": rng.choice([2, 3])}
    )
    return {
        "id": f"{rng.getrandbits(128):032x}",
        "leaf": leaf,
        "branch": leaf.split("/")[1],
        "messages": messages,
        "context": context,
        "source": leaf.replace("qna.yaml", "doc.md") if knowledge else None,
        "scores": scores,
        "provenance": provenance,
    }


def _dropped(
    rng: random.Random, leaf: str, i: int, knowledge: bool, chunks: list[str], provenance: dict
) -> dict:
    return {
        "id": f"{rng.getrandbits(128):032x}",
        "leaf": leaf,
        "branch": leaf.split("/")[1],
        "stage": "evaluate_faithfulness" if knowledge else "evaluate_pairs",
        "reason": "rejected" if knowledge else "below_threshold",
        "verdict": "no" if knowledge else "1",
        "sample": i,
        "question": sentence(rng, 14) + "?",
        "answer": sentence(rng, 60) + ".",
        "raw": None,
        "context": chunks[i % len(chunks)] if knowledge else None,
        "source": None,
        "scores": {},
        "provenance": provenance,
    }


def _write(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def time_report(folder: Path, records: int) -> dict:
    started = time.perf_counter()
    result = build_report(ReportOptions(folder, folder.parent / f"report-{records}.html"))
    html_s = time.perf_counter() - started
    started = time.perf_counter()
    build_report(ReportOptions(folder, None, "md"))
    return {
        "records": records,
        "rows": len(result.data["rows"]),
        "html_s": round(html_s, 2),
        "md_s": round(time.perf_counter() - started, 2),
        "html_mb": round(len(result.text.encode()) / 1e6, 1),
        "jsonl_mb": round(sum(p.stat().st_size for p in folder.rglob("*.jsonl")) / 1e6, 1),
    }


FILTER_JS = """
const [id, value] = arguments;
const select = document.getElementById(id);
const t = performance.now();
if (select.tagName === "INPUT") { select.value = value; select.dispatchEvent(new Event("input")); return -1; }
select.value = value; select.dispatchEvent(new Event("change"));
return performance.now() - t;
"""


def time_browser(html: Path) -> dict:
    from tests.report.browser import browser

    driver = browser()
    if driver is None:
        return {"browser": "no chromium"}
    try:
        driver.get(html.as_uri())  # returns after the load event, i.e. after the page script ran
        paint = driver.execute_script(
            "return (performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime"
        )
        ready = driver.execute_script("return performance.now()")
        leaf = driver.execute_script(FILTER_JS, "f-leaf", "7")
        status = driver.execute_script(FILTER_JS, "f-status", "dropped")
        driver.execute_script(FILTER_JS, "f-status", "")
        driver.execute_script(FILTER_JS, "f-leaf", "")
        search = _search(driver, "torque spring")
        return {
            "first_paint_ms": round(paint or -1),
            "loaded_ms": round(ready),
            "filter_leaf_ms": round(leaf, 1),
            "filter_status_ms": round(status, 1),
            "search_ms": round(search, 1),
        }
    finally:
        driver.quit()


def _search(driver, text: str) -> float:
    """A text search, measured around the filter itself (the input is debounced by 120 ms)."""
    return driver.execute_async_script(
        """
const [text, done] = arguments;
const input = document.getElementById("f-text");
const count = document.getElementById("count");
const before = count.textContent;
input.value = text; input.dispatchEvent(new Event("input"));
const observer = new MutationObserver(() => { observer.disconnect(); done(performance.now() - t0 - 120); });
const t0 = performance.now();
observer.observe(count, {childList: true, characterData: true, subtree: true});
""",
        text,
    )


def screenshot(path: Path) -> None:
    from tests.report.browser import browser
    from tests.report.helpers import generate_starter

    with tempfile.TemporaryDirectory() as tmp:
        repo = generate_starter(Path(tmp) / "repo")
        os.chdir(repo)  # the page names its input as given: a relative "generated"
        build_report(ReportOptions(Path("generated"), repo / "report.html"))
        driver = browser(1400, 1500)
        try:
            driver.get((repo / "report.html").as_uri())
            driver.save_screenshot(str(path))
        finally:
            driver.quit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, nargs="+", default=[1000, 100000])
    parser.add_argument("--screenshot", type=Path)
    args = parser.parse_args()
    if args.screenshot:
        screenshot(args.screenshot.resolve())
        print(f"wrote {args.screenshot}")
        return
    with tempfile.TemporaryDirectory() as tmp:
        for records in args.records:
            folder = Path(tmp) / f"out-{records}" / "generated"
            synthetic_output(folder, records)
            first = json.loads((folder / "knowledge/bench/leaf_000.jsonl").read_text().splitlines()[0])
            assert not list(validator("record.schema.json").iter_errors(first))
            figures = time_report(folder, records)
            figures.update(time_browser(folder.parent / f"report-{records}.html"))
            print(json.dumps(figures), flush=True)


if __name__ == "__main__":
    main()
