"""Clean sets in `labtax mix`: the generated evaluation items, read as the texts the check compares
(question and correct answer), and the refusal of a contaminated one. The measure itself, and its
sources, are in labtax.overlap."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from labtax.errors import EXIT_FINDINGS, LabtaxError
from labtax.overlap import EvalText, Overlap, percent
from labtax.schemas import checked_rows

EVAL_FILES = (("*.mcq.jsonl", "knowledge"), ("*.heldout.jsonl", "skills"))


def eval_texts(folder: Path) -> list[EvalText]:
    """The generated evaluation items under `folder` (generate's eval/): multiple-choice items as
    question + correct choice, held-out prompts as their last user turn + reference answer."""
    items = []
    for pattern, kind in EVAL_FILES:
        for path in sorted(folder.rglob(pattern)) if folder.is_dir() else []:
            text = path.read_text(encoding="utf-8")
            for lineno, row in checked_rows(text, str(path), "eval-item.schema.json", "eval-item", "(item)"):
                items.append(
                    EvalText(f"{path}:{lineno}", str(row.get("leaf") or path.name), kind, _texts(row))
                )
    return items


def _texts(row: dict[str, Any]) -> tuple[str, ...]:
    if "prompt" in row:
        users = [t["content"] for t in row["prompt"] if t.get("role") == "user"]
        return (*users[-1:], str(row.get("reference", "")))
    return (row["question"], row["choices"][row["answer"]])


def message_texts(messages: Iterable[dict[str, Any]]) -> tuple[str, ...]:
    """The texts of a chat record's turns, in order (what the student reads and is trained on)."""
    return tuple(str(m.get("content", "")) for m in messages if isinstance(m, dict))


def refuse_contaminated(overlaps: Sequence[Overlap], n: int, threshold: float) -> None:
    """Stop at the first contaminated item: one located line naming the item and the training record."""
    dirty = [o for o in overlaps if o.contaminated]
    if not dirty:
        return
    first = dirty[0]
    more = f" ({len(dirty) - 1} more contaminated item(s) after this one)" if len(dirty) > 1 else ""
    raise LabtaxError(
        f"{first.item.where}:1: error[contamination] {percent(first.share)} of this evaluation item's "
        f"{first.tokens} words fall in {n}-grams of the training record {first.record} (at most "
        f"{percent(threshold)} allowed, eval.contamination_threshold); it would measure memory, not "
        f"learning: rewrite or drop the item or the record; nothing written{more}",
        EXIT_FINDINGS,
    )
