"""What generation counts per leaf: each stage's generated, kept and dropped candidates.

The call layer counts calls and tokens (`CallStats`); a leaf adds its stages, rounds and target.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from labtax.generate.items import Item
from labtax.models.calls import CallStats


@dataclass(frozen=True)
class Dropped:
    """One candidate a stage dropped: the item as it stood (None before it parsed), the judge's
    label when a judge dropped it, and the teacher's raw reply when it did not parse."""

    reason: str
    item: Item | None = None
    verdict: str | None = None
    raw: str | None = None
    sample: int | None = None
    duplicate_of: str | None = None  # near-duplicates: the seed or earlier question it repeats


@dataclass
class StageStats:
    """How many items a stage produced, kept, and dropped by reason (and the dropped candidates
    themselves)."""

    generated: int = 0
    kept: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    dropped_items: list[Dropped] = field(default_factory=list)
    unparsed: str | None = None  # the first raw reply dropped as unparseable, for the error message

    def drop(
        self,
        reason: str,
        item: Item | None = None,
        *,
        verdict: str | None = None,
        raw: str | None = None,
        sample: int | None = None,
        duplicate_of: str | None = None,
    ) -> None:
        self.dropped[reason] += 1
        self.dropped_items.append(
            Dropped(reason, item, verdict, raw, sample if item is None else item.sample, duplicate_of)
        )
        if raw is not None and self.unparsed is None:
            self.unparsed = raw

    def as_dict(self) -> dict[str, Any]:
        return {"generated": self.generated, "kept": self.kept, "dropped": dict(sorted(self.dropped.items()))}


@dataclass
class LeafStats(CallStats):
    """Per-leaf counters for the manifest and the summary table: the caller's counts, and per stage."""

    stages: dict[str, StageStats] = field(default_factory=dict)
    current: str | None = None  # the stage running now, for error messages
    target: int = 0  # kept records wanted
    candidates: int = 0  # candidates tried over all rounds
    rounds: int = 0
    persona: str | None = None  # the response persona of a skills leaf

    def stage(self, name: str) -> StageStats:
        self.current = name
        return self.stages.setdefault(name, StageStats())

    def unlabelled(self, stage: str, text: str) -> None:
        if stage in self.stages and self.stages[stage].unparsed is None:
            self.stages[stage].unparsed = text
