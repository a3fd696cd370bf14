"""Seed examples must differ once case, spacing and punctuation are ignored.

Passes::

    - question: What is 2 + 2?
    - question: What is 3 + 5?

Fails::

    - question: What is 2 + 2?
    - question: what is 2+2
"""

from labtax.lint.problem import Finding, json_path
from labtax.lint.rules._seeds import prepared

ID = "LT301"
NAME = "duplicate-seeds"
SEVERITY = "error"
PROFILES = ("labtax",)


def check(source):
    seen = {}
    for item in prepared(source):
        pair = item.pair
        context = item.context if len(pair.at) == 2 else ""  # a skill seed's context is part of it
        key = (item.question, item.answer, context)
        first = seen.setdefault(key, pair)
        if first is pair or not key[0]:
            continue
        identical = (first.question, first.answer, first.context) == (
            pair.question,
            pair.answer,
            pair.context,
        )
        if identical and first.at[:-1] == pair.at[:-1]:
            continue  # byte-identical items of one list: the schema's uniqueItems finding (LT106)
        yield Finding(
            ID,
            f"repeats {json_path(first.at)} (same question and answer once case, spacing and punctuation "
            "are ignored); make each example different",
            at=pair.at,
        )
