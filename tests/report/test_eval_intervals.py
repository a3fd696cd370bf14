"""The evaluation page shows each figure with its interval and item count, and a regression with
its paired change: an eval.json written by the real scoring code, in headless chromium."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from labtax.bootstrap import shown
from labtax.eval.scoring import ModelSpec, Outcome, model_entry, regressions
from labtax.report import ReportOptions, build_report
from labtax.resources import data_dir
from tests.report.browser import console_errors

LEAF = "taxonomy/knowledge/science/chemistry/atomic_structure/qna.yaml"


def _entry(name: str, marks: list[int]) -> dict[str, Any]:
    outcomes = [
        Outcome("knowledge", LEAF, "knowledge", correct=bool(c), id=f"q{i}") for i, c in enumerate(marks)
    ]
    return model_entry(ModelSpec(name, f"runs/{name}", "base" if name == "base" else "kt1"), outcomes)


def evaluation() -> dict[str, Any]:
    models = [_entry("base", [1] * 16 + [0] * 4), _entry("kt1", [1] * 6 + [0] * 14)]
    result = {
        "version": 1,
        "sets": ["knowledge"],
        "judge": "scripted",
        "models": models,
        "regressions": regressions(models),
        "missing": [],
    }
    jsonschema.validate(result, json.loads((data_dir("schemas") / "eval.schema.json").read_text()))
    return result


def test_the_evaluation_page_shows_intervals_and_the_paired_change(chrome: Any, tmp_path: Path) -> None:
    generated = tmp_path / "generated"
    generated.mkdir()
    (generated / "manifest.json").write_text(json.dumps({"leaves": {}}))
    result = evaluation()
    (generated / "eval.json").write_text(json.dumps(result))
    build_report(ReportOptions(generated, tmp_path / "report.html"))
    chrome.get((tmp_path / "report.html").as_uri())
    WebDriverWait(chrome, 20).until(
        lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "1"
    )
    chrome.find_element(By.ID, "tab-eval").click()
    heads = [h.text for h in chrome.find_elements(By.CSS_SELECTOR, "#eval-models th")]
    assert "mcq_accuracy" in heads and "intervals" not in heads
    base, kt1 = (m["metrics"] for m in result["models"])
    row = [
        c.text
        for c in chrome.find_elements(By.CSS_SELECTOR, "#eval-models tr")[2].find_elements(By.TAG_NAME, "td")
    ]
    assert shown(kt1["mcq_accuracy"], kt1["intervals"]["mcq_accuracy"]) in row  # "0.300 [0.100, 0.500] n=20"
    cells = chrome.find_elements(By.CSS_SELECTOR, "#eval-leaves td.regression")
    assert [c.text for c in cells] == [shown(0.3, kt1["intervals"]["mcq_accuracy"])]
    options = [o.text for o in chrome.find_elements(By.CSS_SELECTOR, "#eval-metric option")]
    assert "items" not in options and "intervals" not in options
    (flag,) = result["regressions"]
    change = shown(flag["difference"], flag["interval"], signed=True)
    assert change.startswith("-0.500 [") and change.endswith("n=20")
    assert change in chrome.find_element(By.ID, "eval-regressions").text
    assert base["mcq_accuracy"] == 0.8 and console_errors(chrome) == []
