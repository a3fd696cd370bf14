"""Evaluation sets big enough to decide: cloze items from the document, the filters, the item counts."""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

from rich.console import Console

from labtax.eval.sets import generated_sets
from labtax.generate.clean_sets import IN_TRAINING, clean_test
from labtax.generate.cloze import BLANK, NO_DISTRACTORS, TWO_FIT, cloze_items, form, spans
from labtax.generate.documents import Chunk
from labtax.generate.heldout import (
    COPIES_PROMPT,
    COPIES_TEMPLATE,
    NOT_AN_ANSWER,
    copies_template,
    half_width,
    heldout_problem,
    holdout_count,
    with_holdout,
)
from labtax.generate.stats import StageStats
from labtax.generate.summary import summary_table
from labtax.overlap import TrainingNgrams, TrainText, words
from labtax.resources import data_dir
from labtax.schemas import checked_rows
from tests.generate.helpers import git, make_repo, run
from tests.generate.teacher_server import Reply, TeacherServer, good_teacher, stage_of

PROMPTS = data_dir("prompts")
STARTER_DOCUMENT = (
    Path(__file__).parents[2] / "taxonomy/knowledge/science/physics/kinematics_one_dimension/kinematics.md"
)
KNOWLEDGE_LEAF = "taxonomy/knowledge/physics/kinematics/qna.yaml"

# one sentence a paragraph: a distractor never comes from the sentence's own paragraph
DOCUMENT = """# Early atoms

Ernest Rutherford fired alpha particles at a thin gold foil in 1909 with his students.

The experiment showed that the nucleus holds nearly all of the mass of the atom.

Niels Bohr proposed fixed electron orbits around the nucleus in 1913 in Copenhagen.

James Chadwick found the neutron in 1932 while working at Cambridge with colleagues.

Marie Curie measured the radioactivity of radium samples in 1898 in her laboratory.

The magnetic deflection of the particles revealed their electric charge and their speed.

The absorption of light by a cold vapour produces dark lines in the continuous spectrum.

The emission of light by a hot vapour produces bright lines at the very same wavelengths.
"""


def one_chunk(text: str) -> list[Chunk]:
    return [Chunk(text, "doc.md")]


def test_spans_are_numbers_names_and_terms_of_a_form() -> None:
    found = {
        (s.kind, s.text) for s in spans("Niels Bohr proposed fixed electron orbits in 1913 in Copenhagen.")
    }
    assert ("number", "1913") in found and ("name", "Copenhagen") in found and ("term", "proposed") in found
    assert ("name", "Niels Bohr") in found  # two words: a name even where a sentence starts
    assert not [s for s in spans("These orbits were drawn in Copenhagen.") if s.text == "These"]
    assert form(spans("Then Niels Bohr came.")[0]) == "name:2" != form(spans("He saw Copenhagen today.")[0])
    terms = {s.text: form(s) for s in spans("The absorption and the emission of radiation were measured.")}
    assert terms["absorption"] == terms["emission"] == "term:sion" or terms["absorption"] == "term:tion"
    assert form(spans("It weighs 1.5 kg.")[0]) == "number:decimal" != form(spans("It is 15 kg.")[0])


def test_cloze_items_blank_a_span_and_offer_three_distractors_of_its_kind() -> None:
    stage = StageStats()
    items = cloze_items(one_chunk(DOCUMENT), 20, "42\0leaf", stage)
    assert len(items) >= 5 and stage.kept == len(items) and stage.generated >= len(items)
    kinds = set()
    for item in items:
        assert item.question.count(BLANK) == 1 and item.made_by == "cloze" and item.correct == 0
        answer, *distractors = item.choices
        assert len({c.lower() for c in item.choices}) == 4
        filled = item.question.replace(BLANK, answer)
        assert filled in " ".join(DOCUMENT.split())  # the document's own sentence
        kind = "number" if answer.isdigit() else "name" if answer[0].isupper() else "term"
        kinds.add(kind)
        for d in distractors:  # same kind, from the document, not in the sentence
            assert re.search(rf"\b{re.escape(d)}\b", DOCUMENT) and not re.search(
                rf"\b{re.escape(d)}\b", filled
            )
            assert (d.isdigit(), d[0].isupper()) == (answer.isdigit(), answer[0].isupper())
    assert kinds == {"number", "name", "term"}


def test_cloze_items_are_deterministic_under_the_seed() -> None:
    def run(key: str) -> list[Any]:
        return [(i.question, i.choices) for i in cloze_items(one_chunk(DOCUMENT), 6, key, StageStats())]

    assert run("42\0leaf") == run("42\0leaf")
    assert run("42\0leaf") != run("7\0leaf")


def test_an_item_is_dropped_when_two_options_fit() -> None:
    # "the bus leaves at" is followed by 9 in one sentence and by 10 in another: with 9 blanked, 10 would
    # fit as the document states it; the only other integers (3, 4) make too few distractors without it
    text = (
        "On weekdays the bus leaves at 9 from the square.\n\n"
        "On holidays the bus leaves at 10 from the station.\n\n"
        "The ride takes 3 hours and costs 4 coins for every passenger."
    )
    for key in map(str, range(10)):
        stage = StageStats()
        items = cloze_items(one_chunk(text), 10, key, stage)
        assert not any(BLANK in i.question and {"9", "10"} <= set(i.choices) for i in items)
        assert set(stage.dropped) <= {TWO_FIT, NO_DISTRACTORS}
    stage = StageStats()
    wrong = "Trains leave at 9 and at 10 and at 3 and at 4 daily."
    cloze_items(one_chunk(f"{wrong}\n\n{text}"), 10, "1", stage)
    assert stage.dropped[TWO_FIT] >= 1  # 4 follows "and at" in the sentence and elsewhere as well


def test_items_copying_a_template_or_the_rubric_are_recognised() -> None:
    assert copies_template("Which gas do plants take in to make sugar?", PROMPTS)
    assert copies_template(
        "Correctness: every fact, step and number is right; say so when something is uncertain.", PROMPTS
    )
    assert not copies_template("Which quantity does the slope of a position-time graph give?", PROMPTS)
    assert not copies_template("Velocity", PROMPTS)


def pair(question: str, reference: str) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": question}, {"role": "assistant", "content": reference}]}


def test_held_out_pairs_need_a_reference_that_answers() -> None:
    assert heldout_problem(pair("Explain inertia.", "I'm ready to help. What's your question?"), PROMPTS) == (
        NOT_AN_ANSWER
    )
    assert heldout_problem(pair("Explain inertia.", "How can I assist you today?"), PROMPTS) == NOT_AN_ANSWER
    assert (
        heldout_problem(pair("Explain why a ball slows down.", "Explain why a ball slows down."), PROMPTS)
        == COPIES_PROMPT
    )
    rubric = "1. Correctness: every fact, step and number is right; say so when something is uncertain."
    assert heldout_problem(pair(rubric, "Yes."), PROMPTS) == COPIES_TEMPLATE
    good = pair("Explain inertia.", "Inertia is the tendency of a body to keep its state of motion.")
    assert heldout_problem(good, PROMPTS) is None


def test_held_out_counts_and_the_raised_target() -> None:
    assert holdout_count(12, 5, 0.0) == 5 and holdout_count(4, 5, 0.0) == 3 and holdout_count(1, 5, 0) == 0
    assert holdout_count(40, 5, 0.25) == 10
    section = {"target_per_leaf": 2, "max_candidates_per_leaf": 16}
    assert with_holdout(section, {"holdout_per_leaf": 5}) == {
        "target_per_leaf": 7,
        "max_candidates_per_leaf": 56,
    }
    assert with_holdout({**section, "target_per_leaf": 0}, {"holdout_per_leaf": 5})["target_per_leaf"] == 0
    assert half_width(20) == 0.219 and half_width(5) == 0.438 and half_width(0) is None


def test_made_by_is_in_the_schema(tmp_path: Path) -> None:
    rows = [
        {"question": "q _____", "choices": ["a", "b", "c", "d"], "answer": 0, "made_by": "cloze"},
        {"question": "q _____", "choices": ["a", "b", "c", "d"], "answer": 0, "made_by": "guess"},
    ]
    text = "".join(json.dumps(r) + "\n" for r in rows)
    try:
        list(checked_rows(text, "x.jsonl", "eval-item.schema.json", "eval-item", top="(item)"))
    except Exception as exc:  # the second row's made_by is not one of the three
        assert "x.jsonl:2:" in str(exc)
    else:
        raise AssertionError("an unknown made_by passed the schema")


NON_ANSWER = "I'm ready to help. What's your question?"
EXAMPLE = (  # prompts/generate_mcq.j2's example of the format
    "Question: Which gas do plants take in to make sugar?\n"
    "A. Oxygen\nB. Carbon dioxide\nC. Nitrogen\nD. Helium\nAnswer: B"
)


def weak_teacher(body: dict[str, Any], attempt: int) -> Reply:
    """The good teacher, except that every multiple-choice reply copies the template's example and one
    response in eight offers help instead of answering (the embedded model's habits)."""
    stage = stage_of(body)
    if stage == "generate_mcq":
        return Reply(EXAMPLE)
    key = json.dumps(body, sort_keys=True).encode()
    if stage == "generate_responses" and hashlib.sha256(key).digest()[0] % 8 == 0:
        return Reply(NON_ANSWER)
    return good_teacher(body, attempt)


def test_the_defaults_give_20_items_a_knowledge_leaf_and_5_held_out_prompts_a_skill_leaf(
    tmp_path: Path,
) -> None:
    repo = make_repo(tmp_path / "repo")
    (repo / "taxonomy/knowledge/physics/kinematics/kinematics.md").write_text(STARTER_DOCUMENT.read_text())
    git(repo, "commit", "-qam", "a real document")
    with TeacherServer(weak_teacher) as server:
        settings = {
            "teacher": server.url,
            "retry_backoff_s": 0.01,
            "assistant_prefill": False,
            "choice": "logprobs",
        }
        (repo / "labtax.yaml").write_text(json.dumps({"generate": settings}))  # every eval key its default
        result = run(repo)
    assert not result.failed, result.failed
    manifest = json.loads((repo / "generated/manifest.json").read_text())
    eval_dir = repo / "generated/eval"
    mcq, heldout = generated_sets(eval_dir)  # every line checked against eval-item.schema.json
    entry = manifest["leaves"][KNOWLEDGE_LEAF]["eval"]
    assert len(mcq) == entry["items"] == 20 and {i.leaf for i in mcq} == {KNOWLEDGE_LEAF}
    lines = [
        json.loads(x) for x in (eval_dir / "knowledge/physics/kinematics.mcq.jsonl").read_text().splitlines()
    ]
    assert {x["made_by"] for x in lines} == {"cloze"} and entry["made_by"] == {"teacher": 0, "cloze": 20}
    assert entry["dropped"]["copies_template"] == 12 == server.stages()["generate_mcq"]  # the whole budget
    assert entry["half_width_95"] == 0.219 and entry["mcq"]["target_met"]
    assert sorted(Counter(x["answer"] for x in lines)) == [0, 1, 2, 3]  # the answers are spread
    for leaf in ("compositional_skills/writing/haiku", "compositional_skills/reading/summary"):
        skill = manifest["leaves"][f"taxonomy/{leaf}/qna.yaml"]
        held = [json.loads(x) for x in (eval_dir / f"{leaf}.heldout.jsonl").read_text().splitlines()]
        train = [json.loads(x) for x in (repo / "generated" / f"{leaf}.jsonl").read_text().splitlines()]
        assert len(held) == skill["eval"]["heldout"] == skill["eval"]["items"] >= 5
        assert skill["target"] == 7 and skill["kept"] >= 7 and len(train) >= 2  # 2 + 5 held out
        assert all(h["made_by"] == "heldout" and h["reference"] != NON_ANSWER for h in held)
        non_answers = sum(r["messages"][-1]["content"] == NON_ANSWER for r in train)
        assert skill["eval"]["dropped"].get("not_an_answer", 0) == non_answers
    assert any(
        manifest["leaves"][f"taxonomy/{leaf}/qna.yaml"]["eval"]["dropped"]
        for leaf in ("compositional_skills/writing/haiku", "compositional_skills/reading/summary")
    )  # the weak teacher's non-answers were seen, and none was held out
    table = summary_table(manifest["leaves"], list(manifest["leaves"]))
    console = Console(width=200, record=True)
    console.print(table)
    assert re.search(r"eval items[\s│┃|]+20[\s│┃|]+±0\.219", console.export_text())


def test_cloze_items_leave_out_the_sentences_the_leaf_trains_on() -> None:
    """Extractive answers copy document sentences: a cloze item on such a sentence would be refused by
    `labtax mix` (labtax.overlap), so generate tries the next sentence instead and counts the drop."""
    trained = [
        "Ernest Rutherford fired alpha particles at a thin gold foil in 1909 with his students.",
        "Niels Bohr proposed fixed electron orbits around the nucleus in 1913 in Copenhagen.",
    ]
    training = [TrainText("record", ("Who fired alpha particles?", sentence)) for sentence in trained]
    settings = {"contamination_ngram": 8, "contamination_threshold": 0.5}
    clean = clean_test(training, settings)
    free, stage = cloze_items(one_chunk(DOCUMENT), 20, "42\0leaf", StageStats()), StageStats()
    kept = cloze_items(one_chunk(DOCUMENT), 20, "42\0leaf", stage, clean)

    def sentence(item: Any) -> str:
        return item.question.replace(BLANK, item.answer)

    on_trained = [i for i in free if sentence(i) in trained]
    assert on_trained, "the document's first sentences make cloze items when nothing is trained on"
    assert stage.dropped[IN_TRAINING] >= 1 and len(kept) == len(free) - len(on_trained)
    index = TrainingNgrams(training, 8)
    for item in kept:  # what is kept passes the check mix makes
        assert index.share(words(item.question) + words(item.answer)) <= 0.5
        assert sentence(item) not in trained
