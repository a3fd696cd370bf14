"""Rounds: generate candidates until a leaf has `target_per_leaf` kept records or its budget is spent.

Round 1 asks for `num_instructions` candidates. Each later round asks for the missing number of
records divided by the yield of the round before (kept / candidates), or twice the last round when
it kept nothing, never more than what is left of `max_candidates_per_leaf`. Samples are numbered
across rounds, so each round's calls are new, deterministic for the seed, and cached like any call.

A round after which a stage has dropped every one of its replies (at least MIN_EVIDENCE) as
unparseable stops the leaf: more rounds would be asked the same way and fail the same way.
"""

from __future__ import annotations

import math
from typing import Any, Awaitable, Callable

from labtax.errors import EXIT_FINDINGS, LabtaxError
from labtax.generate.items import UNPARSEABLE, Item
from labtax.generate.stats import LeafStats, StageStats

RoundRunner = Callable[[int, int], Awaitable[list[Item]]]  # (first sample, count) -> kept items
SHOWN_CHARS = 160  # of a raw reply in the error message
# replies a stage must have dropped, all as unparseable, before the leaf stops (one empty answer is chance)
MIN_EVIDENCE = 3


class UnparseableError(LabtaxError):
    """Every reply of a stage was dropped as unparseable."""

    exit_code = EXIT_FINDINGS


def next_count(missing: int, last_count: int, last_kept: int, left: int) -> int:
    """Candidates for the next round: the missing records scaled by the last round's yield."""
    wanted = math.ceil(missing * last_count / last_kept) if last_kept else 2 * last_count
    return max(0, min(left, max(1, wanted)))


async def in_rounds(run_round: RoundRunner, settings: dict[str, Any], stats: LeafStats) -> list[Item]:
    """Run rounds of `run_round` until the target is met or the budget spent; all kept items."""
    target = int(settings["target_per_leaf"])
    budget = int(settings["max_candidates_per_leaf"])
    stats.target = target
    items: list[Item] = []
    count = min(int(settings["num_instructions"]), budget)
    while count > 0:
        kept = await run_round(stats.candidates, count)
        stats.rounds += 1
        stats.candidates += count
        items.extend(kept)
        check_parsed(stats)
        if len(items) >= target:
            break
        count = next_count(target - len(items), count, len(kept), budget - stats.candidates)
    return items


def check_parsed(stats: LeafStats) -> None:
    """Raise UnparseableError when a stage dropped every one of its replies as unparseable."""
    for name, stage in stats.stages.items():
        if stage.generated >= MIN_EVIDENCE and stage.dropped[UNPARSEABLE] == stage.generated:
            stats.current = name
            raise UnparseableError(_unparseable_message(name, stage))


def _unparseable_message(name: str, stage: StageStats) -> str:
    raw = (stage.unparsed or "")[:SHOWN_CHARS]
    if name.startswith("evaluate"):
        hint = (
            "the teacher named none of the allowed labels; set generate.choice to auto "
            "(or logprobs, guided or grammar as the server supports)"
        )
    else:
        hint = (
            "the teacher's replies lack the expected tags; set generate.assistant_prefill to auto "
            "(or true where the server continues a final assistant message), "
            "or adapt the stage's template in generate.prompts_dir"
        )
    return f"all {stage.generated} replies were unparseable (one reply: {raw!r}); {hint}"
