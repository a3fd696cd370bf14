"""Which split a question lands in: reward, dpo, val or test, decided per question, never per pair.

The test split is generate's held-out prompts (generated/eval/<leaf>.heldout.jsonl), and only
them: a prompt `labtax mix` turns into SFT data has been trained on, so a reward deviation measured
on it says how well the student remembers, not how it answers. Every other question (a kept
record's, a dropped answer's) lands in reward, dpo or val, by the shares of those three
renormalised to add up to 1 (`rank.splits.test` places no question).

Each question id hashes to a point in [0, 1); the point falls in one split's stretch of the
cumulative shares. The trade-off is stability over exactness: a question's split depends on its
own id and the shares alone, so ranking another leaf (or adding one) never moves a question from
one split to another (a moved question would leak pairs between splits). The price is that the
shares hold only on average: 50 questions give about 22 +/- 3.5 reward questions (0.4 of 0.9), and a leaf of
three questions may have none in val. Sorting all questions and cutting at the shares would be
exact, but every new leaf would shift the cut points and move other leaves' questions.
"""

from __future__ import annotations

import hashlib

from labtax.errors import ConfigError
from labtax.preferences import SPLITS

TOLERANCE = 1e-6
TEST = "test"
TRAINING_SPLITS = tuple(split for split in SPLITS if split != TEST)  # where trained-on questions go


def check_shares(shares: dict[str, float]) -> dict[str, float]:
    """rank.splits, which must add up to 1 (a configuration error otherwise)."""
    total = sum(float(shares[split]) for split in SPLITS)
    if abs(total - 1.0) > TOLERANCE:
        listed = ", ".join(f"{split} {shares[split]}" for split in SPLITS)
        raise ConfigError(f"rank.splits must add up to 1, not {total:g} ({listed})")
    if sum(float(shares[split]) for split in TRAINING_SPLITS) <= TOLERANCE:
        raise ConfigError(
            "rank.splits: reward, dpo and val share 0, so the questions of the training records have no "
            "split (the test split holds generate's held-out prompts only); give one of them a share"
        )
    return {split: float(shares[split]) for split in SPLITS}


def point(question_id: str) -> float:
    """The question's place in [0, 1), from a hash of its id."""
    return int(hashlib.sha256(question_id.encode("utf-8")).hexdigest()[:15], 16) / 16**15


def split_of(question_id: str, shares: dict[str, float], heldout: bool = False) -> str:
    """The split holding every pair of this question: test for a held-out prompt, else reward, dpo or
    val by the renormalised shares of those three."""
    if heldout:
        return TEST
    total = sum(shares[split] for split in TRAINING_SPLITS)
    where, cumulative = point(question_id) * total, 0.0
    for split in TRAINING_SPLITS:
        cumulative += shares[split]
        if where < cumulative:
            return split
    # rounding left the point past the last share
    return next(split for split in reversed(TRAINING_SPLITS) if shares[split] > 0)
