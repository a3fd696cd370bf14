"""The teacher as ranker: candidate answers ordered under the constitution, as (winner, loser) pairs.

Method `pairs` compares every two candidates in both orders (prompts/rank_pair.j2, a constrained
choice of "1" or "2") and keeps a pair only when both verdicts name the same winner: a judge that
prefers whatever stands first (position bias) disagrees with itself and yields no pair.
Method `list` asks for the whole ranking in one call, as the STEM-tutor paper does
(prompts/rank_list.j2): a constrained choice over every permutation when there are few candidates,
else free text; a reply that is not a permutation of 1..K is dropped and counted. Every two
places of a ranking give one pair (K candidates: K(K-1)/2 pairs).
"""

from __future__ import annotations

import itertools
import random
import re
from dataclasses import dataclass, field
from typing import Any

from labtax.models.calls import Caller, CallStats, gather
from labtax.rank.questions import Question

PAIR_STAGE, LIST_STAGE = "rank_pair", "rank_list"
PAIR_OPTIONS = ["1", "2"]
# list mode: up to 4 candidates the reply is chosen among the 4! = 24 permutations; above, free text
CHOICE_MAX = 4
_RANKING = re.compile(r"^\s*(?:ranking\s*:)?\s*([\d\s,>]+?)\s*\.?\s*$", re.IGNORECASE)


@dataclass
class RankStats:
    """One leaf's counts for the manifest and the summary."""

    calls: CallStats = field(default_factory=CallStats)
    questions: int = 0
    candidates: int = 0
    comparisons: int = 0  # ranker calls
    consistent: int = 0  # pairs mode: candidate pairs whose two verdicts agree
    inconsistent: int = 0  # pairs mode: ... whose verdicts disagree (no preference)
    unanswered: int = 0  # pairs mode: ... where a verdict named neither answer
    dropped_rankings: int = 0  # list mode: replies that are no permutation
    pairs: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "questions": self.questions,
            "candidates": self.candidates,
            "comparisons": self.comparisons,
            "consistent_verdicts": self.consistent,
            "inconsistent_verdicts": self.inconsistent,
            "unanswered_verdicts": self.unanswered,
            "dropped_rankings": self.dropped_rankings,
            "pairs": self.pairs,
        }


@dataclass(frozen=True)
class Preference:
    """Candidate `chosen` beats candidate `rejected` (indices into the question's candidates)."""

    chosen: int
    rejected: int
    ranking: dict[str, Any]


def ranker_fields(question: Question) -> dict[str, Any]:
    """What the ranker sees besides the answers: the question as the student gets it, and the reference
    the paper shows as the exam solution: a knowledge question's passage, else the teacher's kept answer."""
    passage = question.context if question.knowledge else None
    return {
        "question": question.user_turn,
        "reference": passage or question.reference,
        "reference_kind": "passage" if passage else "solution",
    }


async def rank_pairs(
    question: Question, answers: list[str], caller: Caller, stats: RankStats
) -> list[Preference]:
    """Both orders of every two candidates; a pair where the two verdicts agree."""
    couples = list(itertools.combinations(range(len(answers)), 2))

    async def verdict(first: int, second: int) -> str | None:
        fields = {**ranker_fields(question), "first": answers[first], "second": answers[second]}
        # Calibrated where log-probabilities are known (generate.calibrate): a small ranker's lean
        # towards one position is so strong that, uncorrected, it names "1" in both orders and no
        # verdict ever agrees; the content-free baseline (both answers "N/A") is one call per question.
        return await caller.choose(
            PAIR_STAGE, fields, PAIR_OPTIONS, stats=stats.calls, content=("first", "second")
        )

    labels = await gather(verdict(*order) for i, j in couples for order in ((i, j), (j, i)))
    stats.comparisons += len(labels)
    preferences = []
    for (i, j), forward, backward in zip(couples, labels[::2], labels[1::2], strict=True):
        if forward is None or backward is None:
            stats.unanswered += 1
            continue
        winner_forward = i if forward == "1" else j
        winner_backward = j if backward == "1" else i
        if winner_forward != winner_backward:
            stats.inconsistent += 1
            continue
        stats.consistent += 1
        preferences.append(
            Preference(winner_forward, j if winner_forward == i else i, {"method": "pairs", "agreement": 2})
        )
    return preferences


async def rank_list(
    question: Question, answers: list[str], caller: Caller, stats: RankStats, *, max_tokens: int = 32
) -> list[Preference]:
    """One ranking of all candidates, shown in an order shuffled per question (the teacher's kept
    answer is not always first); every two places give a pair. An invalid ranking gives none."""
    shown = list(range(len(answers)))
    random.Random(question.question_id).shuffle(shown)
    fields = {**ranker_fields(question), "answers": [answers[i] for i in shown]}
    if len(answers) <= CHOICE_MAX:
        options = ["".join(p) for p in itertools.permutations(str(k) for k in range(1, len(answers) + 1))]
        reply = await caller.choose(LIST_STAGE, fields, options, stats=stats.calls)
    else:
        reply = await caller.complete(
            LIST_STAGE, fields, sample=0, max_tokens=max_tokens, stats=stats.calls, temperature=0.0
        )
    stats.comparisons += 1
    order = parse_ranking(reply or "", len(answers))
    if order is None:
        stats.dropped_rankings += 1
        return []
    ranking = {"method": "list", "order": "".join(map(str, order))}
    best_first = [shown[place - 1] for place in order]
    return [Preference(winner, loser, ranking) for winner, loser in pairs_from_order(best_first)]


def parse_ranking(text: str, count: int) -> tuple[int, ...] | None:
    """A reply such as "312" (or "Ranking: 3, 1, 2") as the places 1..count from the best, each
    exactly once; None for anything else ("113", "4x", a place out of range, one missing)."""
    match = _RANKING.match(text.splitlines()[0] if text.strip() else "")
    if match is None:
        return None
    digits = re.sub(r"[\s,>]", "", match.group(1))
    order = tuple(int(d) for d in digits)
    return order if sorted(order) == list(range(1, count + 1)) else None


def pairs_from_order(best_first: list[int]) -> list[tuple[int, int]]:
    """(winner, loser) for every two places of a ranking, best first: K items give K(K-1)/2 pairs."""
    return [
        (best_first[i], best_first[j]) for i in range(len(best_first)) for j in range(i + 1, len(best_first))
    ]
