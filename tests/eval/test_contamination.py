"""eval.json's clean sets: per leaf, items checked against the training files, contaminated, the
largest overlap."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from labtax.config import load_config
from labtax.eval.contamination import contamination
from labtax.eval.run import EvalOptions, evaluate
from labtax.eval.summary import markdown, summary_lines
from labtax.report.markdown import render_markdown
from labtax.resources import data_dir
from tests.train import tiny

KNOWLEDGE = tiny.LEAVES["knowledge"]
SKILL = tiny.LEAVES["compositional_skills"]
COPIED = ("What is the boiling point of water at sea level?", "100 degrees Celsius.")


def mcq(question: str, answer: str) -> dict:
    return {
        "set": "knowledge",
        "leaf": KNOWLEDGE,
        "question": question,
        "choices": [answer, "x", "y", "z"],
        "answer": 0,
    }


def training_row(question: str, answer: str) -> dict:
    return {
        "id": "r",
        "leaf": KNOWLEDGE,
        "branch": "knowledge",
        "messages": [{"role": "user", "content": question}, {"role": "assistant", "content": answer}],
    }


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A taxonomy, two knowledge items (one copied from training), a held-out rhyme, and data/kt1.jsonl."""
    tiny.write_taxonomy(tmp_path)
    (tmp_path / "labtax.yaml").write_text("eval:\n  sets: [knowledge]\n")
    mcq_file = tmp_path / "generated/eval/knowledge/science/facts.mcq.jsonl"
    mcq_file.parent.mkdir(parents=True)
    items = [mcq("Which metal is liquid at room temperature?", "Mercury."), mcq(*COPIED)]
    mcq_file.write_text("".join(json.dumps(i) + "\n" for i in items))
    held = tmp_path / "generated/eval/compositional_skills/writing/rhymes.heldout.jsonl"
    held.parent.mkdir(parents=True)
    prompt = [{"role": "user", "content": "Write a rhyme about a goat."}]
    held.write_text(
        json.dumps(
            {
                "id": "h",
                "set": "skills",
                "leaf": SKILL,
                "branch": "compositional_skills",
                "prompt": prompt,
                "reference": "The goat wore a coat.",
            }
        )
        + "\n"
    )
    data = tmp_path / "data"
    data.mkdir()
    rows = [training_row(*pair) for pair in tiny.FACTS[:4] + tiny.RHYMES[:2]]
    (data / "kt1.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (data / "kt1.val.jsonl").write_text(json.dumps(training_row("Write a rhyme about a goat.", "x")) + "\n")
    return tmp_path


def settings(n: int = 8, threshold: float = 0.5) -> dict:
    return {"contamination_ngram": n, "contamination_threshold": threshold}


def test_per_leaf_counts_and_the_training_record_named(project: Path) -> None:
    clean = contamination(load_config(project), project / "generated", None, settings())
    assert clean["checked"] and clean["items"] == 3 and clean["contaminated"] == 1
    assert clean["files"] == [str(project / "data/kt1.jsonl")], "validation files are never trained on"
    facts = clean["by_leaf"][KNOWLEDGE]
    items = project / "generated/eval/knowledge/science/facts.mcq.jsonl"
    assert facts["items"] == 2 and facts["contaminated"] == 1 and facts["max_overlap"] == 1.0
    assert facts["worst_item"] == f"{items}:2"
    assert facts["contaminated_items"] == [
        {"item": f"{items}:2", "record": f"{project / 'data/kt1.jsonl'}:3"}
    ]
    rhymes = clean["by_leaf"][SKILL]  # "write a rhyme about a" is 5 words: under any 8-gram
    assert rhymes == {
        "items": 1,
        "contaminated": 0,
        "max_overlap": 0.0,
        "worst_item": None,
        "contaminated_items": [],
    }


def test_the_threshold_and_n_are_the_settings(project: Path) -> None:
    config = load_config(project)
    assert contamination(config, project / "generated", None, settings(threshold=1.0))["contaminated"] == 0
    # 5-grams: "write a rhyme about a" is in training, 5 of the item's 11 words
    five = contamination(config, project / "generated", None, settings(n=5))
    assert (
        five["by_leaf"][SKILL]["max_overlap"] == round(5 / 11, 4)
        and five["by_leaf"][SKILL]["contaminated"] == 0
    )


def test_without_training_files_nothing_is_checked_and_eval_md_says_why(project: Path) -> None:
    for path in (project / "data").iterdir():
        path.unlink()
    clean = contamination(load_config(project), project / "generated", None, settings())
    assert not clean["checked"] and "run `labtax mix` first" in clean["why"] and clean["by_leaf"] == {}


def test_eval_json_carries_the_clean_sets_and_is_valid(project: Path, student_dir: Path) -> None:
    result = evaluate(EvalOptions(root=project, model=str(student_dir), show_progress=False))
    written = json.loads((project / "evaluation/eval.json").read_text())
    jsonschema.validate(written, json.loads((data_dir("schemas") / "eval.schema.json").read_text()))
    clean = written["contamination"]
    assert clean["ngram"] == 8 and clean["threshold"] == 0.5 and clean["data"] == str(project / "data")
    assert clean["by_leaf"][KNOWLEDGE]["contaminated"] == 1 and clean["by_leaf"][SKILL]["items"] == 1
    md = (project / "evaluation/eval.md").read_text()
    assert "## Clean sets" in md and f"| {KNOWLEDGE} | 2 | 1 | 100% |" in md
    assert any(
        line.startswith("clean sets: 1 of 3 evaluation item(s) contaminated") and line.endswith(KNOWLEDGE)
        for line in summary_lines(result)
    )
    unchecked = {**written, "contamination": {**clean, "checked": False, "why": "no training files"}}
    assert "Not checked: no training files." in markdown(unchecked)


def test_the_report_summary_names_the_contaminated_leaves(project: Path) -> None:
    clean = contamination(load_config(project), project / "generated", None, settings())
    totals = {"records": 0, "leaves": 0, "dropped": 0, "teacher_calls": 0, "cache_hits": 0, "wall_s": 0}
    data = {"totals": totals, "leaves": [], "eval": {"models": [], "regressions": [], "contamination": clean}}
    text = render_markdown(data)
    assert f"**Clean sets:** 1 of 3 evaluation items contaminated (8-grams): {KNOWLEDGE}." in text
    data["eval"]["contamination"] = {**clean, "contaminated": 0, "by_leaf": {}}
    assert "**Clean sets:** 0 of 3 evaluation items contaminated (8-grams)." in render_markdown(data)
