"""What makes an evaluation item worth scoring: the filters generate applies before it writes one.

- **Copies a template** (multiple-choice items and held-out pairs): a weak teacher often hands back
  the example of its own prompt ("Which gas do plants take in to make sugar?", from
  prompts/generate_mcq.j2) or the judge's rubric (prompts/_principles.j2, prompts/judge_answer.j2).
  The literal text of every template in the prompts folder (Jinja tags and comments removed) is cut
  into word 4-grams; a text of 4 words or more at least half of whose 4-grams occur there copies a
  template (a shorter one only when it equals a template line).
- **Not an answer** (held-out pairs): a reference that answers nothing ("I'm ready to help. What's
  your question?", "How can I assist you today?") is no reference to grade against.
- **Copies the prompt** (held-out pairs): a reference whose ROUGE-L with the prompt's last user turn
  reaches 0.7, or that the prompt contains, restates the question instead of answering it.

Held-out pairs: each skill leaf sets aside `eval.holdout_per_leaf` of its kept pairs (default 5; more
when `eval.holdout_fraction` of them is more), never all. So that training keeps what it was
promised, `with_holdout` raises the leaf's rounds target by that count, and its candidate budget
in the same proportion (`max_candidates_per_leaf * (target + held out) / target`).
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from labtax.generate.dedup import rouge_l, words

COPIES_TEMPLATE = "copies_template"
NOT_AN_ANSWER = "not_an_answer"
COPIES_PROMPT = "copies_prompt"
GRAM = 4
COPIED_SHARE = 0.5  # of a text's 4-grams found in the templates
PROMPT_COPY = 0.7  # ROUGE-L of a reference with its prompt
_JINJA = re.compile(r"\{#.*?#\}|\{%.*?%\}|\{\{.*?\}\}", re.DOTALL)
# Replies that offer help instead of giving it (why: the 135M teacher answers an instruction it did not
# follow with these; as references they would mark every real answer wrong).
_NOT_AN_ANSWER = re.compile(
    r"^\W*(i'?m|i am) (ready|here|happy|glad) to help\b|what(?:'s| is) your question\??\W*$"
    r"|\bhow (can|may) i (help|assist)( you)?( today)?\W*$|^\W*(please )?(provide|give|share) (me )?"
    r"(the|a|your|more) |^\W*(sure|okay|ok|certainly)[.!,]?\W*$|^\W*as an ai\b",
    re.IGNORECASE,
)


@lru_cache(maxsize=8)
def template_grams(folder: str) -> tuple[frozenset[tuple[str, ...]], frozenset[str]]:
    """The word 4-grams of the literal text of every template in `folder`, and its lines (normalised)."""
    grams: set[tuple[str, ...]] = set()
    lines: set[str] = set()
    for path in sorted(Path(folder).glob("*.j2")):
        text = _JINJA.sub("\n", path.read_text(encoding="utf-8"))
        for line in text.splitlines():
            tokens = words(line)
            if tokens:
                lines.add(" ".join(tokens))
        tokens = words(text)
        grams.update(zip(*(tokens[i:] for i in range(GRAM)), strict=False))
    return frozenset(grams), frozenset(lines)


def copies_template(text: str, folder: Path | str) -> bool:
    """`text` is, for the most part, text of a prompt template (see the module docstring)."""
    grams, lines = template_grams(str(folder))
    tokens = words(text)
    if len(tokens) < GRAM:
        return bool(tokens) and " ".join(tokens) in lines
    own = list(zip(*(tokens[i:] for i in range(GRAM)), strict=False))
    return sum(g in grams for g in own) >= COPIED_SHARE * len(own)


def heldout_problem(record: dict[str, Any], folder: Path | str) -> str | None:
    """Why a kept skills record makes no held-out item (a reason of the module docstring), or None."""
    *prompt, answer = record["messages"]
    question, reference = prompt[-1]["content"], answer["content"]
    if copies_template(question, folder) or copies_template(reference, folder):
        return COPIES_TEMPLATE
    if not words(reference) or _NOT_AN_ANSWER.search(reference.strip()):
        return NOT_AN_ANSWER
    if rouge_l(question, reference) >= PROMPT_COPY or " ".join(words(reference)) in " ".join(words(question)):
        return COPIES_PROMPT
    return None


def holdout_count(records: int, per_leaf: int, fraction: float) -> int:
    """Pairs to hold out of `records` kept: `per_leaf`, or the share `fraction` (at least one) when that
    is more; never all of them."""
    if records < 2:
        return 0
    wanted = max(per_leaf, max(1, round(fraction * records)) if fraction > 0 else 0)
    return min(records - 1, wanted)


def with_holdout(section: dict[str, Any], evaluation: dict[str, Any]) -> dict[str, Any]:
    """The generate settings of a skill leaf: the target raised by the pairs held out, and the
    candidate budget in proportion (target 0, one round of num_instructions, is left as it is)."""
    held, target = int(evaluation.get("holdout_per_leaf", 0)), int(section["target_per_leaf"])
    if held <= 0 or target <= 0:
        return section
    budget = int(section["max_candidates_per_leaf"])
    return {
        **section,
        "target_per_leaf": target + held,
        "max_candidates_per_leaf": budget + math.ceil(budget * held / target),
    }


def half_width(items: int) -> float | None:
    """Half-width of the 95 % normal-approximation interval of an accuracy near 50 % measured on
    `items` items: 1.96 * sqrt(0.5 * 0.5 / n) (None with no item)."""
    return round(1.96 * math.sqrt(0.25 / items), 3) if items else None
