"""`labtax report` without a browser: the page data, the Markdown summary, --since (a git ref,
a folder, a manifest), eval.json, --run, and located errors for bad inputs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from labtax.cli import cli
from labtax.report import ReportOptions, build_report
from labtax.report.html import embed_json
from tests.generate.helpers import git
from tests.report.helpers import ZERO_LEAF, generate_starter

ATOMS = "taxonomy/knowledge/science/chemistry/atomic_structure/qna.yaml"


def _ids(path: Path) -> set[str]:
    return {json.loads(line)["id"] for line in path.read_text().splitlines()} if path.is_file() else set()


def _report(folder: Path, **options: object) -> dict:
    return build_report(ReportOptions(folder, None, **options)).data  # type: ignore[arg-type]


def test_page_data_counts_equal_the_files(starter: Path) -> None:
    data = _report(starter / "generated")
    manifest = json.loads((starter / "generated" / "manifest.json").read_text())
    kept = [r for r in data["rows"] if r[0] == "kept"]
    dropped = [r for r in data["rows"] if r[0] == "dropped"]
    assert len(kept) == manifest["totals"]["records"] == data["totals"]["records"]
    assert len(dropped) == sum(
        n for e in manifest["leaves"].values() for s in e["stages"].values() for n in s["dropped"].values()
    )
    zero = next(leaf for leaf in data["leaves"] if leaf["path"] == ZERO_LEAF)
    assert zero["flag"] == "zero" and zero["records"] == 0
    # stages in the order they run, not the manifest's sorted keys
    assert [s["name"] for s in zero["stages"]] == [
        "generate_instructions",
        "evaluate_instructions",
        "generate_responses",
        "evaluate_pairs",
    ]
    # each grounding passage is stored once
    assert len(data["contexts"]) == len(set(data["contexts"]))


def test_markdown_summary_from_the_cli(starter: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(starter)
    result = CliRunner().invoke(cli, ["report", "--format", "md"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((starter / "generated" / "manifest.json").read_text())
    assert f"{manifest['totals']['records']} records from 6 leaves" in result.stdout
    assert "| `foundational_skills/reasoning/logical_reasoning` | 0 |" in result.stdout
    assert "**Stand out:** `foundational_skills/reasoning/logical_reasoning` (no records)" in result.stdout


def test_html_file_is_self_contained(starter: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(starter)
    out = tmp_path / "r.html"
    result = CliRunner().invoke(cli, ["report", "--output", str(out)])
    assert result.exit_code == 0, result.output
    html = out.read_text()
    head, rest = html.split('<script id="labtax-data" type="application/json">')
    data, page = rest.split("</script>", 1)
    json.loads(data)  # the data, inline
    code = head + page
    # nothing fetched
    assert "https://" not in code and "http://" not in code.replace("http://www.w3.org/2000/svg", "")
    assert "<link" not in code and " src=" not in code and "fetch(" not in code
    assert f"wrote {out}" in result.stderr


def test_embedded_json_cannot_close_the_script() -> None:
    text = embed_json({"q": "</script><script>alert(1)</script>"})
    assert "</script" not in text and json.loads(text)["q"].startswith("</script>")


def test_since_git_ref_lists_added_and_removed(tmp_path: Path) -> None:
    repo = generate_starter(tmp_path / "repo", num_instructions=3)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "generated")
    before = _ids(repo / "generated/knowledge/science/chemistry/atomic_structure.jsonl")
    shutil.copytree(repo / "generated", tmp_path / "before")
    generate_starter(repo, num_instructions=5)
    after = _ids(repo / "generated/knowledge/science/chemistry/atomic_structure.jsonl")
    assert after - before
    for since in ("HEAD", str(tmp_path / "before"), str(tmp_path / "before" / "manifest.json")):
        data = _report(repo / "generated", since=since)
        change = data["since"]["leaves"][ATOMS]
        assert (change["added"], change["removed"], change["by"]) == (
            len(after - before),
            len(before - after),
            "id",
        ), since
        new = {r[11] for r in data["rows"] if r[12]}
        assert {i for i in new if i in after} >= after - before
    # a manifest alone: changes by count
    (tmp_path / "alone").mkdir()
    shutil.copy(tmp_path / "before" / "manifest.json", tmp_path / "alone" / "manifest.json")
    change = _report(repo / "generated", since=str(tmp_path / "alone" / "manifest.json"))["since"]["leaves"][
        ATOMS
    ]
    assert change["by"] == "count" and change["added"] == len(after) - len(before)


def test_eval_and_run_pages(starter: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    rows = [
        {"kind": "step", "phase": p, "epoch": 1, "step": s, "loss": 3.0 - s / 10}
        for p in ("kt1", "st")
        for s in (1, 2, 3)
    ]
    rows += [{"kind": "epoch", "phase": "kt1", "epoch": 1, "step": 3, "val_loss": 2.5}]
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (run / "journal.json").write_text(
        json.dumps({"phases": {"kt1": {"chosen": {"epoch": 1, "val_loss": 2.5}}}})
    )
    evaluation = {
        "models": [
            {
                "name": "student",
                "path": "runs/x",
                "phase": "st",
                "metrics": {"mcq_accuracy": 0.5},
                "by_leaf": {ATOMS: {"mcq_accuracy": 0.25}},
            }
        ],
        "regressions": [{"model": "student", "leaf": ATOMS, "metric": "mcq_accuracy", "delta": -0.25}],
    }
    (run / "eval.json").write_text(json.dumps(evaluation))
    data = _report(starter / "generated", run=run)
    assert data["eval"] == evaluation
    train = [s for s in data["run"]["series"] if s["kind"] == "train"]
    assert [s["points"] for s in train] == [[[1, 2.9], [2, 2.8], [3, 2.7]], [[4, 2.9], [5, 2.8], [6, 2.7]]]
    assert data["run"]["chosen"]["kt1"] == {"epoch": 1, "val_loss": 2.5}


def test_bad_inputs_are_located_errors(
    starter: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["report", "--input", "nowhere"])
    assert result.exit_code == 2 and "nowhere: no manifest.json here" in result.output
    shutil.copytree(starter / "generated", tmp_path / "g")
    target = tmp_path / "g" / "knowledge/science/chemistry/atomic_structure.jsonl"
    target.write_text(target.read_text() + "{oops\n")
    result = CliRunner().invoke(cli, ["report", "--input", "g", "--output", "r.html"])
    lines = len(target.read_text().splitlines())
    assert (
        result.exit_code == 2
        and f"knowledge/science/chemistry/atomic_structure.jsonl:{lines}:2: error[jsonl] not valid JSON"
        in result.output
    )
    assert not (tmp_path / "r.html").exists()  # nothing half-written
    # the summary reads the manifest only
    assert CliRunner().invoke(cli, ["report", "--input", "g", "--format", "md"]).exit_code == 0
    result = CliRunner().invoke(
        cli, ["report", "--input", str(starter / "generated"), "--since", "no-such-ref", "--format", "md"]
    )
    assert (
        result.exit_code == 2
        and "--since no-such-ref: neither a file, a folder nor a git ref" in result.output
    )
