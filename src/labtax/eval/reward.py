"""A trained reward model at work: pair accuracy, and the STEM-tutor paper's reward deviation.

Reward deviation = mean reward of the reference answers - mean reward of a model's answers, on
the test prompts of `labtax rank`: generate's held-out prompts, which `labtax mix` never trains on
(their reference is the teacher's kept answer, set aside), so the figure measures answers to new
prompts, not recall of trained ones. Lower is better: zero means the model's answers please the
reward model as much as the references do.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labtax.errors import LabtaxError
from labtax.models.reward import RewardModel
from labtax.preferences import read_preferences, split_path


@dataclass(frozen=True)
class RewardPrompt:
    """A test question: its prompt and the reference answer."""

    question_id: str
    leaf: str
    prompt: tuple[dict[str, str], ...]
    reference: str


def reward_prompts(preferences_dir: Path) -> list[RewardPrompt]:
    """One prompt per question of the test split (a held-out prompt), with its reference."""
    path = split_path(preferences_dir, "test")
    pairs = read_preferences(path)
    found: dict[str, RewardPrompt] = {}
    for pair in pairs:
        qid = pair.get("question_id") or str(pair["prompt"])
        if "reference" not in pair:
            raise LabtaxError(
                f"{path}: pairs need a `reference` answer for the reward deviation "
                "(write them with `labtax rank`)"
            )
        found.setdefault(
            qid, RewardPrompt(qid, pair.get("leaf", ""), tuple(pair["prompt"]), pair["reference"])
        )
    return list(found.values())


def deviation(model: RewardModel, prompts: list[RewardPrompt], answers: list[str]) -> dict[str, Any]:
    """Mean reward of the references minus mean reward of the answers, with both means."""
    if not prompts:
        return {"reward_deviation": None, "reward_reference": None, "reward_answers": None, "reward_items": 0}
    refs = model.scores([[*p.prompt, {"role": "assistant", "content": p.reference}] for p in prompts])
    mine = model.scores(
        [[*p.prompt, {"role": "assistant", "content": a}] for p, a in zip(prompts, answers, strict=True)]
    )
    ref_mean, mine_mean = sum(refs) / len(refs), sum(mine) / len(mine)
    return {
        "reward_deviation": ref_mean - mine_mean,
        "reward_reference": ref_mean,
        "reward_answers": mine_mean,
        "reward_items": len(prompts),
    }
