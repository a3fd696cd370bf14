"""`labtax eval` end to end: a tiny student made offline, a scripted judge on 127.0.0.1."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from labtax.eval.run import EvalOptions, evaluate
from labtax.resources import data_dir
from tests.eval.test_eval_sets import EVAL, generated_repo
from tests.generate.helpers import write_config
from tests.generate.teacher_server import Reply, TeacherServer, good_teacher, stage_of

GRADES = {"7": math.log(0.6), "8": math.log(0.3), "3": math.log(0.1)}  # weighted mean 6.9


def judge(body: dict[str, Any], attempt: int = 0) -> Reply:
    if stage_of(body) != "judge_answer":
        return good_teacher(body, attempt)
    top = [{"token": g, "logprob": lp} for g, lp in GRADES.items()]
    return Reply("7", logprobs=[{"token": "7", "logprob": GRADES["7"], "top_logprobs": top}])


def slow_judge(body: dict[str, Any], attempt: int = 0) -> Reply:
    time.sleep(0.15)
    return judge(body, attempt)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo, _ = generated_repo(tmp_path)
    return repo


def configure(repo: Path, url: str) -> None:
    write_config(repo, url, evaluation={**EVAL, "max_answer_tokens": 12, "batch_size": 4}, concurrency=1)


def test_eval_scores_a_model_on_every_set_and_writes_the_reports(
    repo: Path, student_dir: Path, tmp_path: Path
) -> None:
    bench = tmp_path / "bench"
    bench.mkdir()
    (bench / "astronomy_test.csv").write_text(
        '"Which planet is the largest?",Mars,Jupiter,Venus,Earth,B\n'
        "What is frozen water called?,Steam,Ice,Fog,Dew,B\n"
    )
    with TeacherServer(judge) as server:
        configure(repo, server.url)
        result = evaluate(
            EvalOptions(root=repo, model=str(student_dir), benchmark=bench, show_progress=False)
        )
        judged = server.stages()["judge_answer"]
    out = repo / "evaluation"
    written = json.loads((out / "eval.json").read_text())
    jsonschema.validate(written, json.loads((data_dir("schemas") / "eval.schema.json").read_text()))
    (model,) = written["models"]
    metrics = model["metrics"]
    assert model["phase"] == "base" and model["path"] == str(student_dir)
    assert metrics["mcq_items"] == 3 and metrics["mcq_accuracy"] in (0, 1 / 3, 2 / 3, 1)
    assert metrics["judge_items"] == 4 and metrics["judge_score"] == 7.0  # the four held-out prompts
    assert metrics["judge_score_weighted"] == pytest.approx(6.9)
    # every grade is 7: the interval has no width; multiple choice: 3 items, bounds within 0-1
    assert metrics["intervals"]["judge_score"] == {"low": 7.0, "high": 7.0, "n": 4}
    mcq = metrics["intervals"]["mcq_accuracy"]
    assert mcq["n"] == 3 and 0 <= mcq["low"] <= metrics["mcq_accuracy"] <= mcq["high"] <= 1
    leaf = model["by_leaf"]["taxonomy/knowledge/physics/kinematics/qna.yaml"]
    assert set(leaf["items"]["mcq_accuracy"].values()) <= {0, 1} and len(leaf["items"]["mcq_accuracy"]) == 3
    assert metrics["benchmark_items"] == 2 and set(model["by_subject"]) == {"astronomy"}
    assert 0 <= metrics["bleu"] <= 1 and 0 <= metrics["rougeL"] <= 1
    assert model["seeds"]["metrics"]["judge_items"] == 25  # 5 + 5 skill seeds, 15 knowledge questions
    assert set(model["by_leaf"]) == {
        "taxonomy/knowledge/physics/kinematics/qna.yaml",
        "taxonomy/compositional_skills/writing/haiku/qna.yaml",
        "taxonomy/compositional_skills/reading/summary/qna.yaml",
    }
    assert model["by_leaf"]["taxonomy/knowledge/physics/kinematics/qna.yaml"]["mcq_items"] == 3
    assert set(model["by_branch"]) == {"knowledge", "compositional_skills"}
    assert judged == 29 and written["judge_calls"] == {"total": 29, "cache_hits": 0}
    report = (out / "eval.md").read_text()
    assert "| model | phase | MCQ acc" in report and "7.000 [7.000, 7.000] n=4" in report
    assert "percentile bootstrap over the items (2000 resamples, seeded)" in report
    assert (out / "eval.png").read_bytes()[:4] == b"\x89PNG"
    assert result["output"] == str(out)

    with TeacherServer(judge) as server:  # a rerun: every answer and grade from the cache
        configure(repo, server.url)
        again = evaluate(EvalOptions(root=repo, model=str(student_dir), benchmark=bench, show_progress=False))
        assert server.received == []
    assert again["models"][0]["metrics"] == metrics


def test_a_missing_set_is_reported_per_leaf(repo: Path, student_dir: Path) -> None:
    for path in (repo / "generated" / "eval").rglob("haiku.heldout.jsonl"):
        path.unlink()
    with TeacherServer(judge) as server:
        configure(repo, server.url)
        result = evaluate(
            EvalOptions(root=repo, model=str(student_dir), sets=("knowledge", "skills"), show_progress=False)
        )
    assert result["missing"] == [
        {
            "leaf": "taxonomy/compositional_skills/writing/haiku/qna.yaml",
            "set": "skills",
            "why": f"no held-out prompts in {repo / 'generated' / 'eval'}",
        }
    ]
    assert result["models"][0]["metrics"]["judge_items"] == 2 and "seeds" not in result["sets"]


def labtax(repo: Path, *args: str, **kwargs: Any) -> subprocess.Popen:
    exe = Path(sys.executable).parent / "labtax"
    return subprocess.Popen(
        [str(exe), *args], cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kwargs
    )


@pytest.mark.slow
def test_resume_after_kill_redoes_no_finished_judge_call(repo: Path, student_dir: Path) -> None:
    with TeacherServer(slow_judge) as server:
        configure(repo, server.url)
        proc = labtax(
            repo, "eval", "--model", str(student_dir), "--sets", "skills,seeds", start_new_session=True
        )
        deadline = time.time() + 120
        while (
            sum(1 for b in server.answered if stage_of(b) == "judge_answer") < 6
            and time.time() < deadline
            and proc.poll() is None
        ):
            time.sleep(0.02)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        # the last may be in flight
        finished = [json.dumps(b, sort_keys=True) for b in server.answered if stage_of(b) == "judge_answer"][
            :-1
        ]
        assert len(finished) >= 5
        server.received.clear()
        rerun = labtax(repo, "eval", "--model", str(student_dir), "--sets", "skills,seeds")
        output = rerun.communicate(timeout=300)[0]
        assert rerun.returncode == 0, output
        asked_again = {json.dumps(b, sort_keys=True) for b in server.received}
    assert not asked_again & set(finished)
    assert len(asked_again) == 29 - len(finished) or len(asked_again) == 29 - len(finished) - 1


@pytest.mark.parametrize(
    ("setup", "args", "message"),
    [
        ("bad_json", [], "haiku.heldout.jsonl:1:2: error[eval-item] not valid JSON"),
        (
            "bad_answer",
            [],
            "kinematics.mcq.jsonl:1:1: error[eval-item] answer: 7 is greater than the maximum of 3",
        ),
        ("not_a_model", [], "not a Hugging Face model folder (no config.json)"),
        ("not_causal", [], "not a causal language model folder"),
        ("no_judge", [], "127.0.0.1:9"),
        ("bad_set", ["--sets", "knowledge,vibes"], "unknown set(s) vibes"),
    ],
)
def test_bad_input_gets_one_line_and_exit_2(
    repo: Path, student_dir: Path, tmp_path: Path, setup: str, args: list[str], message: str
) -> None:
    model = str(student_dir)
    url = "http://127.0.0.1:9/v1"  # nothing listens on the discard port
    eval_dir = repo / "generated" / "eval"
    if setup == "bad_json":
        (eval_dir / "compositional_skills/writing/haiku.heldout.jsonl").write_text("{not json\n")
    elif setup == "bad_answer":
        path = eval_dir / "knowledge/physics/kinematics.mcq.jsonl"
        item = json.loads(path.read_text().splitlines()[0]) | {"answer": 7}
        path.write_text(json.dumps(item) + "\n")
    elif setup == "not_a_model":
        model = str(tmp_path)
    elif setup == "not_causal":
        model = str(tmp_path / "vision")
        Path(model).mkdir()
        (Path(model) / "config.json").write_text(json.dumps({"model_type": "not-a-real-architecture"}))
    configure(repo, url)
    proc = labtax(repo, "eval", "--model", model, "--sets", "knowledge,skills", *args)
    output = proc.communicate(timeout=300)[0]
    assert proc.returncode == 2, output
    assert message in output and "Traceback" not in output and "internal error" not in output
    assert len([line for line in output.splitlines() if "rror" in line]) == 1, output


def test_chat_answers_one_prompt(student_dir: Path, tmp_path: Path) -> None:
    proc = labtax(
        tmp_path, "chat", "--model", str(student_dir), "--max-tokens", "5", "Which animal says moo?"
    )
    output = proc.communicate(timeout=120)[0]
    assert proc.returncode == 0, output
    assert output.strip()  # a random model says something; the loop ran through the chat template
