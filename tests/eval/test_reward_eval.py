"""`labtax eval --reward-model`: test pair accuracy and the STEM-tutor paper's reward deviation."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from labtax.errors import LabtaxError
from labtax.eval.reward import reward_prompts
from labtax.eval.run import EvalOptions, evaluate, models_to_evaluate
from labtax.models.reward import RewardModel, pair_accuracy
from labtax.preferences import read_preferences
from tests.eval.test_eval_run import configure, judge
from tests.eval.test_eval_sets import generated_repo
from tests.generate.teacher_server import TeacherServer
from tests.train import tiny


@pytest.fixture(scope="module")
def reward_dir(tmp_path_factory: pytest.TempPathFactory, student_dir: Path) -> Path:
    """A one-output sequence classifier on the tiny student (a random head: scores differ per text)."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    torch.manual_seed(3)
    folder = tmp_path_factory.mktemp("reward") / "model"
    model = AutoModelForSequenceClassification.from_pretrained(student_dir, num_labels=1)
    model.config.pad_token_id = 0
    model.save_pretrained(folder)
    AutoTokenizer.from_pretrained(student_dir).save_pretrained(folder)
    return folder


def test_eval_reports_reward_deviation_and_test_accuracy(
    tmp_path: Path, student_dir: Path, reward_dir: Path
) -> None:
    repo, _ = generated_repo(tmp_path)
    tiny.write_preferences(repo / "preferences")
    with TeacherServer(judge) as server:
        configure(repo, server.url)
        result = evaluate(
            EvalOptions(
                root=repo,
                model=str(student_dir),
                sets=("knowledge",),
                reward_model=reward_dir,
                show_progress=False,
            )
        )
        assert server.received == []  # reward prompts are scored by the reward model, never judged
    scorer = RewardModel.load(reward_dir)
    prompts = reward_prompts(repo / "preferences")
    refs = scorer.scores([[*p.prompt, {"role": "assistant", "content": p.reference}] for p in prompts])
    metrics = result["models"][0]["metrics"]
    assert metrics["reward_items"] == len(prompts) == 4
    assert metrics["reward_reference"] == pytest.approx(sum(refs) / len(refs), abs=1e-5)
    assert metrics["reward_deviation"] == pytest.approx(
        metrics["reward_reference"] - metrics["reward_answers"]
    )
    assert metrics["judge_items"] == 0  # the reward prompts are not a judged set
    want = pair_accuracy(scorer, read_preferences(repo / "preferences" / "test.jsonl"))
    assert result["reward_model"] == {
        "path": str(reward_dir.resolve()),
        "preferences": str((repo / "preferences").resolve()),
        "test_accuracy": want,
        "test_pairs": 4,
    }
    assert "reward dev." in (repo / "evaluation" / "eval.md").read_text()


def test_reward_deviation_is_measured_on_the_held_out_prompts_rank_tested(
    tmp_path: Path, student_dir: Path, reward_dir: Path
) -> None:
    """generate -> rank -> eval --reward-model: the prompts scored are generate's held-out prompts
    (rank's test split), none of them a prompt `labtax mix` trains on."""
    from tests.rank.helpers import ranker
    from tests.rank.helpers import run as rank
    from tests.rank.helpers import write_config as rank_config

    repo, _ = generated_repo(tmp_path)
    generated = repo / "generated"
    held = {
        json.loads(line)["prompt"][-1]["content"]
        for path in (generated / "eval").rglob("*.heldout.jsonl")
        for line in path.read_text().splitlines()
    }
    trained = {
        json.loads(line)["messages"][-2]["content"]
        for path in generated.rglob("*.jsonl")
        if "eval" not in path.relative_to(generated).parts and not path.name.endswith(".dropped.jsonl")
        for line in path.read_text().splitlines()
    }
    assert len(held) == 4 and trained and not held & trained  # two held out per skill leaf
    with TeacherServer(ranker()) as server:
        rank_config(repo, server.url, candidates=2)
        ranked = rank(repo)
    assert not ranked.failed and ranked.manifest["totals"]["test_questions"] == 4
    with TeacherServer(judge) as server:
        configure(repo, server.url)
        result = evaluate(
            EvalOptions(
                root=repo,
                model=str(student_dir),
                sets=("knowledge",),
                reward_model=reward_dir,
                show_progress=False,
            )
        )
    prompts = reward_prompts(repo / "preferences")
    assert {p.prompt[-1]["content"] for p in prompts} == held
    assert result["models"][0]["metrics"]["reward_items"] == 4
    assert result["reward_model"]["test_pairs"] == len(read_preferences(repo / "preferences" / "test.jsonl"))


def test_a_causal_model_is_not_a_reward_model(tmp_path: Path, student_dir: Path) -> None:
    repo, _ = generated_repo(tmp_path)
    tiny.write_preferences(repo / "preferences")
    with pytest.raises(LabtaxError, match="not a reward model"):
        evaluate(
            EvalOptions(
                root=repo,
                model=str(student_dir),
                sets=("knowledge",),
                reward_model=student_dir,
                show_progress=False,
            )
        )
    exe = Path(sys.executable).parent / "labtax"
    run = subprocess.run(
        [str(exe), "eval", "--model", str(student_dir), "--reward-model", str(student_dir)],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode != 0 and "not a reward model" in run.stderr and "Traceback" not in run.stderr


def test_a_run_is_evaluated_on_its_policies_not_on_its_reward_model(tmp_path: Path) -> None:
    journal = {
        "model": "student",
        "phases": {
            "st": {"plan": {"objective": "sft"}, "chosen": {"checkpoint": "st/epoch-1"}},
            "reward": {"plan": {"objective": "reward"}, "chosen": {"checkpoint": "reward/epoch-1"}},
            "dpo": {"plan": {"objective": "dpo"}, "chosen": {"checkpoint": "dpo/epoch-2"}},
        },
    }
    (tmp_path / "journal.json").write_text(json.dumps(journal))
    assert [(m.name, m.path) for m in models_to_evaluate(None, tmp_path)] == [
        ("base", "student"),
        ("st", "st/epoch-1"),
        ("dpo", "dpo/epoch-2"),
    ]


def test_a_run_with_a_reward_phase_brings_its_reward_model(tmp_path: Path) -> None:
    from labtax.eval.run import with_run_reward_model

    journal = {
        "model": "student",
        "config": {"preferences_dir": "/data/prefs"},
        "phases": {
            "reward": {"plan": {"objective": "reward"}, "chosen": {"checkpoint": "/runs/x/reward/epoch-2"}}
        },
    }
    (tmp_path / "journal.json").write_text(json.dumps(journal))
    found = with_run_reward_model(EvalOptions(run=tmp_path))
    assert found.reward_model == Path("/runs/x/reward/epoch-2") and found.preferences == Path("/data/prefs")
    given = with_run_reward_model(EvalOptions(run=tmp_path, reward_model=Path("mine")))
    assert given.reward_model == Path("mine") and given.preferences is None
