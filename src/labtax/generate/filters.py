"""The one judging loop every evaluation stage shares: the teacher picks a label for each item
(constrained choice), and the items whose label passes are kept, with the label as their score."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from labtax.generate.items import REJECTED, UNPARSEABLE, Item
from labtax.generate.stats import LeafStats
from labtax.models.calls import Caller, gather


async def judge(
    stage_name: str,
    items: list[Item],
    caller: Caller,
    stats: LeafStats,
    *,
    fields_of: Callable[[Item], dict[str, Any]],
    options: list[str],
    passes: Callable[[str], bool],
    score: str,
    value_of: Callable[[str], Any],
    failed_reason: str,
    content: tuple[str, ...],
) -> list[Item]:
    """Keep the items whose chosen label `passes`; record `value_of(label)` under `score`.

    A label that fails is dropped as `failed_reason`; no label at all counts as unparseable.
    `content` names the judged fields, blanked for calibration (see Caller.choose).
    """
    stage = stats.stage(stage_name)
    labels = await gather(
        caller.choose(stage_name, fields_of(item), options, stats=stats, content=content) for item in items
    )
    kept = []
    for item, label in zip(items, labels, strict=True):
        stage.generated += 1
        if label is None:
            stage.drop(UNPARSEABLE, item)
        elif not passes(label):
            stage.drop(failed_reason, item, verdict=label)
        else:
            item.scores[score] = value_of(label)
            kept.append(item)
    stage.kept += len(kept)
    return kept


async def judge_yes_no(
    stage_name: str,
    items: list[Item],
    caller: Caller,
    stats: LeafStats,
    *,
    fields_of: Callable[[Item], dict[str, Any]],
    score: str,
    content: tuple[str, ...],
) -> list[Item]:
    """Keep the items the teacher answers "yes" for (score True); "no" is a rejection."""
    return await judge(
        stage_name,
        items,
        caller,
        stats,
        fields_of=fields_of,
        options=["yes", "no"],
        passes=lambda label: label == "yes",
        score=score,
        value_of=lambda _: True,
        failed_reason=REJECTED,
        content=content,
    )
