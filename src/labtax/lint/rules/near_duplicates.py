"""Seed examples should not be near-copies of each other (word overlap >= lint.near_duplicate_threshold).

Passes::

    - question: What is the speed of a car covering 100 km in 2 hours?
    - question: How far does a cyclist at 15 km/h ride in 40 minutes?

Fails::

    - question: What is the speed of a car covering 100 km in 2 hours?
    - question: What is the speed of a car that covers 100 km in 2 hours?
"""

from labtax.lint.problem import Finding, json_path
from labtax.lint.rules._seeds import prepared
from labtax.taxonomy.scaffold import PLACEHOLDER

ID = "LT302"
NAME = "near-duplicate-seeds"
SEVERITY = "warning"
PROFILES = ("labtax",)


def check(source):
    threshold = source.settings["near_duplicate_threshold"]
    # Unfilled scaffold text is reported by LT304; comparing it would only repeat that.
    items = [
        (p.pair, p.words) for p in prepared(source) if not PLACEHOLDER.search(p.pair.question + p.pair.answer)
    ]
    for j, (pair, words) in enumerate(items):
        for earlier, other in items[:j]:
            if not words or not other or words == other:
                continue  # identical word sets are exact duplicates (LT301/LT106)
            if min(len(words), len(other)) < threshold * max(len(words), len(other)):
                continue  # the overlap cannot reach the threshold: skip the set arithmetic
            similarity = len(words & other) / len(words | other)
            if similarity >= threshold:
                yield Finding(
                    ID,
                    f"is nearly identical to {json_path(earlier.at)} ({similarity:.0%} of words shared); "
                    "vary the examples so the teacher sees the range of the task",
                    at=pair.at,
                )
                break
