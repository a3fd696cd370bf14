"""Mix tests share the tiny offline tokenizer and test data of tests/train."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.train import tiny


@pytest.fixture(scope="session")
def tokenizer_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tokenizer")
    tiny.make_tokenizer(folder)
    return folder


@pytest.fixture
def mix_project(tmp_path: Path, tokenizer_dir: Path) -> Path:
    """A project folder: taxonomy, generated records, labtax.yaml with a short/long threshold of 20 tokens."""
    tiny.write_taxonomy(tmp_path)
    tiny.write_generated(tmp_path / "generated")
    (tmp_path / "labtax.yaml").write_text(f"mix:\n  short_max_tokens: 20\n  tokenizer: {tokenizer_dir}\n")
    return tmp_path
