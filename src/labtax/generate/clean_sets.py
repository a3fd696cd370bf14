"""Evaluation items kept clean of their own leaf's training data, as they are made.

`labtax mix` refuses an evaluation item whose text the training files already hold (labtax.overlap,
eval.contamination_ngram and eval.contamination_threshold). A leaf's items and its training records
come from the same document, and with extractive answers a record IS a sentence of it: a cloze item
on that sentence would be refused. So generate leaves such items out while it can still replace
them: a multiple-choice item that the leaf's records or seed examples cover is dropped (`in_training`)
and the next candidate tried; a kept pair that other records or the seeds cover is not held out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from labtax.overlap import TrainingNgrams, TrainText, words
from labtax.taxonomy import Leaf, chat_messages

IN_TRAINING = "in_training"  # the drop reason
CLEAN_STAGE = "clean_sets"  # the manifest stage counting the teacher's items checked


def leaf_training(leaf: Leaf, pairs: Iterable[tuple[str, str]]) -> list[TrainText]:
    """The texts the leaf trains on: its records' (question, answer) and its seed examples, as
    `labtax mix` writes them."""
    seeds = [
        TrainText(
            f"{leaf.path}:seed {i}",
            tuple(m["content"] for m in chat_messages(leaf, s.question, s.answer, s.context)),
        )
        for i, s in enumerate(leaf.seed_examples)
    ]
    return [*(TrainText(f"{leaf.path}:record", pair) for pair in pairs), *seeds]


def clean_test(training: Sequence[TrainText], settings: dict[str, Any]) -> Callable[[Sequence[str]], bool]:
    """Whether an item's texts (question, then correct answer) stay within the contamination
    threshold against `training`."""
    index = TrainingNgrams(training, int(settings["contamination_ngram"]))
    threshold = float(settings["contamination_threshold"])

    def clean(texts: Sequence[str]) -> bool:
        return index.share([w for text in texts for w in words(text)]) <= threshold

    return clean


def clean_heldout(leaf: Leaf, records: list[dict[str, Any]], settings: dict[str, Any]) -> set[str]:
    """Ids of the records that may be held out: those that the leaf's other records and its seed
    examples do not cover (a held-out pair must not be trained on in other words)."""
    texts = {r["id"]: tuple(m["content"] for m in r["messages"]) for r in records}
    seeds = leaf_training(leaf, [])
    ok = set()
    for record in records:
        others = [TrainText(i, t) for i, t in texts.items() if i != record["id"]]
        *prompt, answer = record["messages"]
        users = [m["content"] for m in prompt if m["role"] == "user"]
        if clean_test([*others, *seeds], settings)((*users[-1:], answer["content"])):
            ok.add(record["id"])
    return ok
