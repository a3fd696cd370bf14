"""The HTML report of the starter taxonomy in a real headless chromium: every leaf shows, the
funnel numbers are the manifest's, filtering by leaf and searching work, no JavaScript error."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from labtax.report import ReportOptions, build_report
from tests.report.browser import console_errors
from tests.report.helpers import ZERO_LEAF


@pytest.fixture(scope="module")
def page(starter: Path, chrome: Any) -> Any:
    build_report(ReportOptions(starter / "generated", starter / "report.html"))
    chrome.get((starter / "report.html").as_uri())
    WebDriverWait(chrome, 20).until(
        lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "1"
    )
    return chrome


def _manifest(starter: Path) -> dict[str, Any]:
    return json.loads((starter / "generated" / "manifest.json").read_text())


def _all(starter: Path) -> int:
    return sum(_lines(p) for p in (starter / "generated").rglob("*.jsonl"))


def _lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.is_file() else 0


def test_every_leaf_and_funnel_number_matches_the_manifest(starter: Path, page: Any) -> None:
    leaves = _manifest(starter)["leaves"]
    assert len(leaves) == 6
    for leaf, entry in leaves.items():
        for stage, counts in entry["stages"].items():
            (row,) = page.find_elements(
                By.CSS_SELECTOR, f'#summary tr[data-leaf="{leaf}"][data-stage="{stage}"]'
            )
            assert row.find_element(By.CSS_SELECTOR, "td.generated").text == str(counts["generated"])
            assert row.find_element(By.CSS_SELECTOR, "td.kept").text == str(counts["kept"])
            dropped = ", ".join(f"{reason} {n}" for reason, n in counts["dropped"].items()) or "-"
            assert sorted(row.find_element(By.CSS_SELECTOR, "td.dropped").text.split(", ")) == sorted(
                dropped.split(", ")
            )
        first = page.find_element(By.CSS_SELECTOR, f'#summary tr.leaf-start[data-leaf="{leaf}"]')
        assert first.find_element(By.CSS_SELECTOR, "td.records").text == str(entry["records"])
        assert first.find_element(By.CSS_SELECTOR, "td.teacher-calls").text == str(entry["teacher_calls"])
        assert first.find_element(By.CSS_SELECTOR, "td.cache-hits").text == str(entry["cache_hits"])
    # the leaf the teacher rejected entirely stands out
    zero = page.find_element(By.CSS_SELECTOR, f'#summary tr.leaf-start[data-leaf="{ZERO_LEAF}"]')
    assert "flag-zero" in zero.get_attribute("class") and "no records" in zero.text


def test_filter_by_leaf_and_search(starter: Path, page: Any) -> None:
    entries = _manifest(starter)["leaves"]
    leaf = "taxonomy/knowledge/science/chemistry/atomic_structure/qna.yaml"
    out = starter / "generated" / entries[leaf]["output"]
    expected = _lines(out) + _lines(out.with_name(out.name.replace(".jsonl", ".dropped.jsonl")))
    assert expected > 0
    total = sum(_lines(p) for p in (starter / "generated").rglob("*.jsonl"))
    assert page.find_element(By.ID, "count").text.endswith(f"of {total} matching ({total} in all)")
    Select(page.find_element(By.ID, "f-leaf")).select_by_visible_text(
        "knowledge/science/chemistry/atomic_structure"
    )
    assert page.find_element(By.ID, "count").text.endswith(f"of {expected} matching ({total} in all)")
    shown = page.find_elements(By.CSS_SELECTOR, "#rows tbody tr.item")
    assert len(shown) == min(expected, 50) and {r.get_attribute("data-leaf") for r in shown} == {leaf}
    # the dropped candidates of the leaf, then a text search for one kept question
    Select(page.find_element(By.ID, "f-status")).select_by_visible_text("dropped")
    dropped = page.find_elements(By.CSS_SELECTOR, "#rows tbody tr.item")
    assert len(dropped) == _lines(out.with_name(out.name.replace(".jsonl", ".dropped.jsonl")))
    Select(page.find_element(By.ID, "f-status")).select_by_visible_text("kept")
    question = json.loads(out.read_text().splitlines()[0])["messages"][0]["content"]
    search = page.find_element(By.ID, "f-text")
    search.send_keys(question[:40])
    WebDriverWait(page, 5).until(
        lambda d: d.find_element(By.ID, "count").text.startswith("1–1 of 1 matching")
    )
    assert question in page.find_element(By.CSS_SELECTOR, "#rows tbody tr.item").text


def test_near_duplicates_show_as_a_group(starter: Path, page: Any) -> None:
    dropped = [
        json.loads(line)
        for p in (starter / "generated").rglob("*.dropped.jsonl")
        for line in p.read_text().splitlines()
    ]
    duplicates = [d for d in dropped if d["reason"] == "near_duplicate"]
    assert duplicates and all(d["duplicate_of"] for d in duplicates)
    page.execute_script(
        "const s = document.getElementById('f-text'); s.value = ''; s.dispatchEvent(new Event('input'));"
    )
    for select in ("f-leaf", "f-status"):
        Select(page.find_element(By.ID, select)).select_by_visible_text("all")
    Select(page.find_element(By.ID, "f-reason")).select_by_visible_text("near_duplicate")
    WebDriverWait(page, 5).until(
        lambda d: d.find_element(By.ID, "count").text.endswith(
            f"of {len(duplicates)} matching ({_all(starter)} in all)"
        )
    )
    link = page.find_element(By.CSS_SELECTOR, "#rows tbody tr.item a.group")
    group = link.text.removeprefix("repeats: ")
    Select(page.find_element(By.ID, "f-reason")).select_by_visible_text("all")
    link = next(
        a
        for a in page.find_elements(By.CSS_SELECTOR, "#rows tbody tr.item a.group")
        if a.text.endswith(group)
    )
    link.click()
    shown = page.find_elements(By.CSS_SELECTOR, "#rows tbody tr.item")
    members = sum(1 for d in duplicates if d["duplicate_of"] == group)
    assert len(shown) >= members >= 1
    assert all(group.lower() in row.text.lower() for row in shown)


def test_no_javascript_error(page: Any) -> None:
    assert console_errors(page) == []
    assert not page.find_element(By.ID, "errors").is_displayed()


def test_evaluation_and_training_pages(starter: Path, chrome: Any, tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    rows = [
        {"kind": "step", "phase": p, "epoch": 1, "step": s, "loss": 3.0 - s / 10}
        for p in ("kt1", "kt2")
        for s in range(1, 6)
    ]
    rows += [{"kind": "epoch", "phase": p, "epoch": 1, "step": 5, "val_loss": 2.6} for p in ("kt1", "kt2")]
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    models = [
        {
            "name": name,
            "path": f"runs/{name}",
            "phase": "kt2",
            "metrics": {"mcq_accuracy": acc},
            "by_leaf": {
                "taxonomy/knowledge/science/chemistry/atomic_structure/qna.yaml": {"mcq_accuracy": acc}
            },
        }
        for name, acc in (("base", 0.5), ("tuned", 0.25))
    ]
    regressions = [
        {
            "model": "tuned",
            "leaf": "taxonomy/knowledge/science/chemistry/atomic_structure/qna.yaml",
            "metric": "mcq_accuracy",
            "delta": -0.25,
        }
    ]
    (run / "eval.json").write_text(json.dumps({"models": models, "regressions": regressions}))
    build_report(ReportOptions(starter / "generated", tmp_path / "report.html", run=run))
    chrome.get((tmp_path / "report.html").as_uri())
    WebDriverWait(chrome, 20).until(
        lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "1"
    )
    chrome.find_element(By.ID, "tab-eval").click()
    cells = chrome.find_elements(By.CSS_SELECTOR, "#eval-leaves td.regression")
    assert [c.text for c in cells] == ["0.2500"]
    assert chrome.find_element(By.ID, "eval-models").is_displayed()
    chrome.find_element(By.ID, "tab-run").click()
    lines = chrome.find_elements(By.CSS_SELECTOR, "#loss-chart polyline")
    assert sorted((line.get_attribute("data-phase"), line.get_attribute("data-kind")) for line in lines) == [
        ("kt1", "train"),
        ("kt1", "validation"),
        ("kt2", "train"),
        ("kt2", "validation"),
    ]
    assert console_errors(chrome) == []
