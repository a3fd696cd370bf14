"""Clean sets: n-gram overlap of evaluation items with the training records, and mix refusing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from labtax.cli import cli
from labtax.config import load_config
from labtax.errors import EXIT_FINDINGS, LabtaxError
from labtax.mix import mix
from labtax.mix.contamination import eval_texts
from labtax.overlap import EvalText, TrainingNgrams, TrainText, check, words
from tests.train import tiny

KNOWLEDGE = tiny.LEAVES["knowledge"]
SKILL = tiny.LEAVES["compositional_skills"]
TRAIN = [
    TrainText("train.jsonl:1", ("The Moon circles the Earth once every twenty seven days.", "Yes.")),
    TrainText("train.jsonl:2", ("Name the largest planet.", "Jupiter, a gas giant, is the largest planet.")),
]


def item(question: str, answer: str, where: str = "items.mcq.jsonl:1") -> EvalText:
    return EvalText(where, KNOWLEDGE, "knowledge", (question, answer))


def test_words_are_lower_cased_without_punctuation() -> None:
    assert words("The Moon's orbit: 27.3 days -- CIRCLES_EARTH!") == [
        "the",
        "moon",
        "s",
        "orbit",
        "27",
        "3",
        "days",
        "circles",
        "earth",
    ]


def test_a_clean_item_has_no_overlap() -> None:
    (clean,) = check([item("Which metal is liquid at room temperature?", "Mercury.")], TRAIN, 8, 0.5)
    assert clean.share == 0.0 and not clean.contaminated and clean.record is None and clean.tokens == 8


def test_a_question_copied_into_training_is_contaminated_and_names_the_record() -> None:
    copied = item("How often does the moon circle the Earth? Once every twenty-seven days", "Monthly")
    other = item("Something else entirely, nothing shared with the training text at all", "No")
    dirty, clean = check([copied, other], TRAIN, 8, 0.5)
    # "the earth once every twenty seven days" is 7 words: no 8-gram of the item crosses into training
    assert dirty.share == 0.0
    copied = item("The moon circles the Earth once every twenty-seven days: how often?", "Monthly.")
    dirty, clean = check([copied, other], TRAIN, 8, 0.5)
    assert dirty.tokens == 13 and dirty.share == pytest.approx(10 / 13)
    assert dirty.contaminated and dirty.record == "train.jsonl:1"
    assert not clean.contaminated and clean.record is None


def test_the_threshold_is_strictly_over_the_share() -> None:
    # 16 words, the first 8 in training: exactly half covered
    half = item("Name the largest planet Jupiter a gas giant", "one two three four five six seven eight")
    assert check([half], TRAIN, 8, 0.5)[0].share == 0.5
    assert not check([half], TRAIN, 8, 0.5)[0].contaminated, "half is not over half"
    assert check([half], TRAIN, 8, 0.49)[0].contaminated
    nine = item("Name the largest planet Jupiter a gas giant is", "one two three four five six seven")
    assert check([nine], TRAIN, 8, 0.5)[0].share == 9 / 16  # two 8-grams cover nine words


def test_an_item_shorter_than_n_counts_only_whole() -> None:
    index = TrainingNgrams(TRAIN, 8)
    assert index.share(words("name the largest planet jupiter")) == 1.0  # across the turns of one record
    assert index.share(words("largest planet Saturn")) == 0.0
    assert index.share(words("days yes name")) == 0.0, "never across two records"
    (short,) = check([item("Name the largest planet.", "Jupiter")], TRAIN, 8, 0.5)
    assert short.contaminated and short.record == "train.jsonl:2"


def test_eval_texts_read_question_and_right_choice_and_held_out_prompts(tmp_path: Path) -> None:
    folder = tmp_path / "eval"
    write_items(folder, [mcq("What is frozen water called?", "Ice.")], [heldout("Write a haiku.", "Snow.")])
    mcq_item, held = eval_texts(folder)
    assert mcq_item.texts == ("What is frozen water called?", "Ice.") and mcq_item.leaf == KNOWLEDGE
    assert mcq_item.where == f"{folder / 'knowledge/science/facts.mcq.jsonl'}:1"
    assert held.texts == ("Write a haiku.", "Snow.") and held.set == "skills" and held.leaf == SKILL


def mcq(question: str, answer: str) -> dict:
    return {
        "set": "knowledge",
        "leaf": KNOWLEDGE,
        "question": question,
        "choices": ["x", answer, "y", "z"],
        "answer": 1,
    }


def heldout(prompt: str, reference: str) -> dict:
    return {
        "id": "h1",
        "set": "skills",
        "leaf": SKILL,
        "branch": "compositional_skills",
        "prompt": [{"role": "user", "content": prompt}],
        "reference": reference,
    }


def write_items(folder: Path, mcqs: list[dict], held: list[dict] = ()) -> Path:
    path = folder / "knowledge/science/facts.mcq.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in mcqs))
    if held:
        other = folder / "compositional_skills/writing/rhymes.heldout.jsonl"
        other.parent.mkdir(parents=True, exist_ok=True)
        other.write_text("".join(json.dumps(r) + "\n" for r in held))
    return path


@pytest.fixture
def no_validation(mix_project: Path) -> Path:
    """Every own sample trains (no validation split), so a copied record is surely in training."""
    yaml = mix_project / "labtax.yaml"
    yaml.write_text(yaml.read_text() + "  validation_fraction: 0\n")
    return mix_project


def test_mix_checks_clean_items_and_says_so(no_validation: Path) -> None:
    write_items(
        no_validation / "generated/eval", [mcq("Which metal is liquid at room temperature?", "Mercury")]
    )
    stats = mix(load_config(no_validation))
    assert stats["contamination"]["items"] == 1 and stats["contamination"]["max_overlap"] == 0.0
    assert stats["contamination"]["ngram"] == 8 and stats["contamination"]["threshold"] == 0.5


def test_mix_refuses_a_contaminated_item_with_a_located_line_and_writes_nothing(no_validation: Path) -> None:
    config = load_config(no_validation)
    mix(config)  # a first, clean mix: its files must survive the refused one
    before = {p.name: p.read_bytes() for p in (no_validation / "data").iterdir()}
    question, answer = tiny.FACTS[2]  # "What is the boiling point of water at sea level?"
    items = write_items(
        no_validation / "generated/eval", [mcq("Unrelated words here", "none"), mcq(question, answer)]
    )
    record = no_validation / "generated/knowledge/science/facts.jsonl"
    with pytest.raises(LabtaxError) as caught:
        mix(config)
    message = caught.value.message
    assert "\n" not in message and caught.value.exit_code == EXIT_FINDINGS
    assert message.startswith(f"{items}:2:1: error[contamination] 100% of this evaluation item's 13 words")
    assert f"training record {record}:3 " in message and "nothing written" in message
    assert {p.name: p.read_bytes() for p in (no_validation / "data").iterdir()} == before


def test_mix_names_the_seed_a_contaminated_item_copies(
    no_validation: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_items(
        no_validation / "generated/eval",
        [mcq("At what temperature does water freeze?", "Zero degrees Celsius.")],
    )
    monkeypatch.chdir(no_validation)
    result = CliRunner().invoke(cli, ["mix"])
    assert result.exit_code == EXIT_FINDINGS, result.output
    assert f"training record {no_validation / KNOWLEDGE}:8 " in result.output
    assert "error[contamination]" in result.output and not (no_validation / "data").exists()


def test_the_settings_choose_n_and_the_threshold(no_validation: Path) -> None:
    question, answer = tiny.FACTS[2]
    write_items(no_validation / "generated/eval", [mcq(question + " Give the answer in words", answer)])
    with pytest.raises(LabtaxError, match="error.contamination"):
        mix(load_config(no_validation))  # the question's 10 of 18 words covered: over half
    yaml = no_validation / "labtax.yaml"
    yaml.write_text(yaml.read_text() + "eval:\n  contamination_threshold: 0.75\n")
    assert mix(load_config(no_validation))["contamination"]["max_overlap"] == pytest.approx(10 / 18, abs=1e-4)
