"""Which leaves a run works on (changed, --all, LEAF), removal of deleted leaves' outputs,
--dry-run, and the CLI mapping."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from labtax.cli import cli
from labtax.errors import LabtaxError
from tests.generate.helpers import SKILL, git, run, write_config, write_leaf
from tests.generate.teacher_server import TeacherServer

HAIKU = "taxonomy/compositional_skills/writing/haiku/qna.yaml"
KINEMATICS = "taxonomy/knowledge/physics/kinematics/qna.yaml"


def test_changed_leaves_only_and_deleted_outputs_removed(repo: Path) -> None:
    with TeacherServer() as server:
        write_config(repo, server.url, num_instructions=2)
        run(repo)  # --all on main
        git(repo, "checkout", "-q", "-b", "feature")
        git(repo, "rm", "-q", "-r", "taxonomy/knowledge/physics/kinematics")
        write_leaf(repo, "compositional_skills/writing/limerick", SKILL.replace("haiku", "limerick"))
        before = len(server.answered)
        result = run(repo, all_leaves=False)  # default: the leaves `labtax diff` reports against main
        new_prompts = [b["messages"][0]["content"] for b in server.answered[before:]]
    assert result.selection.generate == ["taxonomy/compositional_skills/writing/limerick/qna.yaml"]
    assert result.selection.remove == [KINEMATICS]
    assert new_prompts and all("limerick" in p for p in new_prompts)
    assert result.removed == ["knowledge/physics/kinematics.jsonl"]
    out = repo / "generated"
    assert not (out / "knowledge").exists()  # emptied folders go too
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest["leaves"]) == {
        HAIKU,
        "taxonomy/compositional_skills/reading/summary/qna.yaml",
        "taxonomy/compositional_skills/writing/limerick/qna.yaml",
    }
    assert (out / "compositional_skills/writing/limerick.jsonl").is_file() and (
        out / "compositional_skills/writing/haiku.jsonl"
    ).is_file()


def test_all_removes_outputs_of_leaves_gone_from_the_tree(repo: Path) -> None:
    with TeacherServer() as server:
        write_config(repo, server.url, num_instructions=1)
        run(repo)
        shutil.rmtree(repo / "taxonomy/compositional_skills/writing/haiku")
        result = run(repo)
    assert result.removed == ["compositional_skills/writing/haiku.jsonl"]
    assert HAIKU not in json.loads((repo / "generated/manifest.json").read_text())["leaves"]


def test_dry_run_plans_without_calling(repo: Path) -> None:
    with TeacherServer() as server:
        write_config(repo, server.url, num_instructions=3, chunk_tokens=200, chunk_overlap=40)
        result = run(repo, dry_run=True)
        assert server.received == []
    plan = {entry["leaf"]: entry for entry in result.plan}
    # judgements read by log-probabilities may each ask one calibration call more
    assert plan[HAIKU]["stages"] == {
        "generate_instructions": 3,
        "evaluate_instructions": 6,
        "generate_responses": 3,
        "evaluate_pairs": 6,
    }
    assert plan[KINEMATICS]["stages"] == {
        "generate_qa": 3,
        "evaluate_faithfulness": 6,
        "evaluate_relevance": 6,
    }
    assert plan[KINEMATICS]["chunks"] == 4 and plan[HAIKU]["chunks"] is None
    # the server names the model: unknown until asked
    assert plan[HAIKU]["cached"] is None and plan[HAIKU]["eta_s"] is None
    assert not (repo / "generated").exists()


def test_dry_run_bounds_hold_and_count_the_cache(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with TeacherServer() as server:
        write_config(
            repo,
            server.url,
            model="scripted-teacher",
            num_instructions=2,
            target_per_leaf=3,
            max_candidates_per_leaf=5,
        )
        before = {entry["leaf"]: entry for entry in run(repo, dry_run=True).plan}
        done = run(repo)
        after = {entry["leaf"]: entry for entry in run(repo, dry_run=True).plan}
        monkeypatch.chdir(repo)
        printed = CliRunner().invoke(cli, ["generate", "--all", "--dry-run", "--format", "json"])
        asked = len(server.received)
    assert all(entry["cached"] == 0 for entry in before.values())
    for leaf, entry in done.manifest["leaves"].items():
        assert entry["calls"] <= after[leaf]["calls_max"] == before[leaf]["calls_max"]  # the bound held
        assert after[leaf]["cached"] == entry["calls"]  # a finished leaf replays wholly from the cache
        # from the rate the run measured
        assert before[leaf]["eta_s"] is None and after[leaf]["eta_s"] is not None
        assert all(
            entry["stages"][stage]["generated"] <= calls for stage, calls in after[leaf]["stages"].items()
        )
    # dry runs asked nothing
    assert asked == sum(entry["teacher_calls"] for entry in done.manifest["leaves"].values())
    data = json.loads(printed.output)
    assert printed.exit_code == 0 and {e["leaf"] for e in data["leaves"]} == set(after)
    assert data["total"]["calls_max"] == sum(e["calls_max"] for e in after.values())
    assert set(data["leaves"][0]) >= {"stages", "calls_max", "cached", "chunks", "eta_s"}


def test_leaf_arguments(repo: Path) -> None:
    with TeacherServer() as server:
        write_config(repo, server.url)
        with pytest.raises(LabtaxError, match="no such leaf"):
            run(repo, leaves=("taxonomy/compositional_skills/nothing",))
        with pytest.raises(LabtaxError, match="not a leaf under taxonomy"):
            (repo / "other").mkdir()
            (repo / "other/qna.yaml").write_text(SKILL)
            run(repo, leaves=("other",))


def test_cli_nothing_changed_suggests_all(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo)
    write_config(repo, "http://127.0.0.1:9/v1")
    git(repo, "add", "labtax.yaml")
    git(repo, "commit", "-q", "-m", "config")
    result = CliRunner().invoke(cli, ["generate"])
    assert result.exit_code == 0, result.output
    assert "no changed leaves" in result.output and "labtax generate --all" in result.output


def test_cli_options_map_and_conflicts_are_usage_errors(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo)
    runner = CliRunner()
    conflict = runner.invoke(cli, ["generate", "--all", "--base", "main"])
    assert conflict.exit_code == 2 and "at most one of" in conflict.output
    with TeacherServer() as server:
        result = runner.invoke(
            cli,
            [
                "generate",
                "--teacher",
                server.url,
                "--model",
                "m1",
                "--num-instructions",
                "2",
                "--output",
                "out",
                "--concurrency",
                "3",
                "--seed",
                "5",
                HAIKU,
            ],
        )
        models = {b["model"] for b in server.answered}
    assert result.exit_code == 0, result.output
    # 4 stages, 5 probes (auto defaults)
    assert models == {"m1"} and len(server.stages()) == 5 and server.stages()["unknown"] == 5
    lines = (repo / "out/compositional_skills/writing/haiku.jsonl").read_text().splitlines()
    held = (repo / "out/eval/compositional_skills/writing/haiku.heldout.jsonl").read_text().splitlines()
    # the default eval.holdout_per_leaf holds five pairs out, and raises the target (2) by five, so
    # training keeps its two records
    assert len(lines) == 2 and len(held) == 5 and json.loads(lines[0])["provenance"]["seed"] == 5
    assert "records" in result.output


def test_cli_failed_leaf_exits_1(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.generate.teacher_server import Reply

    monkeypatch.chdir(repo)
    with TeacherServer(lambda body, attempt: Reply(status=404)) as server:
        result = CliRunner().invoke(
            cli, ["generate", "--teacher", server.url, "--num-instructions", "1", HAIKU]
        )
    assert result.exit_code == 1
    assert "1 leaf(s) failed" in result.output and "stage generate_instructions" in result.output


def test_a_knowledge_leaf_without_documents_fails_alone(tmp_path: Path) -> None:
    from tests.generate.helpers import make_repo, outputs

    repo = make_repo(tmp_path / "repo")
    (repo / "taxonomy/knowledge/physics/kinematics/kinematics.md").unlink()
    with TeacherServer() as server:
        write_config(repo, server.url, num_instructions=2)
        result = run(repo)
    (reason,) = result.failed.values()
    assert reason.startswith("taxonomy/knowledge/physics/kinematics/qna.yaml: stage documents:")
    assert set(outputs(repo)) == {
        "compositional_skills/reading/summary.jsonl",
        "compositional_skills/writing/haiku.jsonl",
    }
    assert "stage documents" in (repo / "generated/generate.log").read_text()
