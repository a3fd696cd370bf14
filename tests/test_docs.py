"""The generated tables in README.md and docs/ match their sources (schemas, rule docstrings)."""

from pathlib import Path

from labtax.docs import config_document, config_table, fill_blocks
from labtax.lint.docs import rules_table

ROOT = Path(__file__).resolve().parent.parent


def test_readme_tables_are_current():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert fill_blocks(readme) == readme, "run: python -m labtax.docs"
    assert rules_table() in readme and config_table() in readme


def test_config_reference_is_current():
    assert (ROOT / "docs" / "config.md").read_text(encoding="utf-8") == config_document(), (
        "run: python -m labtax.docs"
    )


def test_config_table_lists_every_default_from_the_schemas():
    from labtax.schemas import apply_defaults, load_schema

    defaults = apply_defaults(load_schema("config.schema.json"), {})
    table = config_table()
    assert f"| `lint.max_file_bytes` | `{defaults['lint']['max_file_bytes']}` |" in table
    assert f"| `generate.num_instructions` | `{defaults['generate']['num_instructions']}` |" in table
    assert '| `taxonomy_root` | `"taxonomy"` |' in table


def test_readme_and_ci_share_the_test_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "bash scripts/test.sh" in readme and "bash scripts/test.sh" in ci
    assert "bash scripts/run.sh" in readme


def test_generate_and_train_docs_state_the_schema_defaults():
    """docs/generate.md and docs/train.md carry tables generated from the schemas, so their defaults
    cannot drift (generate.md once said max_tokens 80/160/128 where the schema said 64/128/96)."""
    from labtax.docs import DOCUMENTS_WITH_BLOCKS, config_table, train_table
    from labtax.schemas import apply_defaults, load_schema

    for name in DOCUMENTS_WITH_BLOCKS:
        text = (ROOT / name).read_text(encoding="utf-8")
        assert fill_blocks(text) == text, f"{name}: run python -m labtax.docs"
    generate_doc = (ROOT / "docs" / "generate.md").read_text(encoding="utf-8")
    train_doc = (ROOT / "docs" / "train.md").read_text(encoding="utf-8")
    assert config_table("generate") in generate_doc and train_table() in train_doc
    max_tokens = apply_defaults(load_schema("config.schema.json"), {})["generate"]["max_tokens"]
    assert f"| `max_tokens.instruction` | `{max_tokens['instruction']}` |" in generate_doc
    warmup = apply_defaults(load_schema("train.schema.json"), {})["defaults"]["warmup_steps"]
    assert f"| `defaults.warmup_steps` | `{warmup}` |" in train_doc
