"""Fixtures for the eval tests: a tiny random student made offline, and multiple-choice items."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from labtax.eval.sets import McqItem
from tests.train import tiny

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


@pytest.fixture(scope="session")
def student_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random 2-layer Llama with a byte-level BPE chat tokenizer."""
    return tiny.make_model(tmp_path_factory.mktemp("student") / "model")


@pytest.fixture(scope="session")
def mcq_items() -> list[McqItem]:
    """Twelve items over two leaves; answers spread over A-D."""
    items = []
    for i, (question, answer) in enumerate(tiny.FACTS + tiny.SKILLS[:4]):
        wrong = [a for _, a in tiny.FACTS if a != answer][i % 3 : i % 3 + 3]
        choices = list(wrong)
        choices.insert(i % 4, answer)
        leaf = (
            "taxonomy/knowledge/science/facts/qna.yaml"
            if i % 2
            else "taxonomy/knowledge/words/reverse/qna.yaml"
        )
        items.append(McqItem(f"item{i}", "knowledge", leaf, "knowledge", question, tuple(choices), i % 4))
    return items
