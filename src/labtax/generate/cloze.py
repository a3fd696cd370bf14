"""Cloze items: multiple-choice items built from a knowledge leaf's document alone, with no teacher call.

A cloze item is one fact of the document (facts.py: a sentence, or two when the first is short or the
second points back) with one span blanked, and four options: the blanked span and three distractors of
the same kind taken from elsewhere in the same document.

- **Kinds of span**: a number (`1.5`, `1913`, `2,8,1`; a decimal's distractors are decimals, an
  integer's integers), a capitalised name (`Copenhagen`, `Niels Bohr`; at the start of a sentence
  only one of two words or more; a one-word name's distractors have one word, the others two or
  more), or a term (a lower-case word of 6 letters or more, not a common word). A term's
  distractors have the same form: the same ending among the common suffixes (-tion, -ment, -ity,
  -ing, -ic, ... or none) and a length within 4 letters.
- **Exactly one option fits**: a span that occurs twice in its fact is not blanked; a distractor
  never occurs in the fact's paragraph (the sentence's context) nor repeats another option; and when
  the fact with a distractor in the blank reads as the document states it (the distractor with up to
  three words before or after the blank occurs in the document), two options fit: the item is dropped
  (`two_options_fit`). A fact whose spans all fail gives no item (`no_distractors` when no span had
  three distractors of its kind).
- **Deterministic**: facts are taken in an order drawn from the run's seed and the leaf, and so are
  each fact's spans and its distractors; the items need no call and no cache. The kinds take turns:
  the n-th fact tries its spans of kind n mod 3 first (number, name, term), then the others.

The items carry the leaf's chunk holding the fact as context, and answer index 0 (the caller
shuffles the options as it shuffles the teacher's).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from labtax.generate.clean_sets import IN_TRAINING
from labtax.generate.documents import Chunk
from labtax.generate.facts import facts, paragraphs
from labtax.generate.items import Item
from labtax.generate.stats import StageStats

STAGE = "cloze"
BLANK = "_____"
TWO_FIT = "two_options_fit"
NO_DISTRACTORS = "no_distractors"
WINDOW = 3  # words either side of the blank that must match the document for a distractor to fit
TERM_LETTERS = 6
KINDS = ("number", "name", "term")
_NUMBER = re.compile(r"(?<![\w.,\-−⁻/])\d+(?:[.,]\d+)*(?![\w⁻⁰¹²³⁴⁵⁶⁷⁸⁹%]|[.,]\d|-\w)")
_NAME = re.compile(r"(?<![\w\-])[A-Z][a-z]{2,}(?:\s+[A-Z][a-z]{2,})*(?![\w\-])")
_TERM = re.compile(r"(?<![\w\-])[a-z]{%d,}(?![\w\-])" % TERM_LETTERS)
_WORD = re.compile(r"\S+")
_SUFFIXES = (
    "ation", "tion", "sion", "ment", "ness", "ity", "ance", "ence", "ism", "ing", "ics", "ical", "ic",
    "ous", "ive", "able", "ible", "al", "ed", "ly", "er", "or", "es", "s",
)  # fmt: skip
# Words too common to test knowledge of the document (why: blanking "because" asks about grammar).
_COMMON = frozenset(
    (
        "about", "above", "across", "after", "again", "against", "almost", "always", "another", "around",
        "because", "become", "becomes", "before", "behind", "being", "below", "beside", "between", "beyond",
        "cannot", "column", "contains", "different", "during", "either", "enough", "every", "example",
        "exactly", "following", "further", "however", "instead", "itself", "larger", "little", "longer",
        "mostly", "nothing", "number", "others", "otherwise", "perhaps", "rather", "really", "second",
        "several", "should", "simply", "single", "smaller", "something", "sometimes", "still", "through",
        "throughout", "together", "towards", "toward", "unless", "within", "without", "would", "whether",
        "whose", "where", "which", "while", "therefore", "These", "There", "Their", "Those", "When", "Where",
        "Which", "While", "With", "Without", "called", "equals", "equal", "whole"
    )
)  # fmt: skip


_STARTERS = frozenset(
    ("The", "This", "That", "These", "Those", "In", "On", "At", "For", "From", "An", "And", "But", "Each",
     "Every", "Most", "All", "Some", "Near", "Its", "His", "Her", "Our", "Their", "When", "If", "As", "By",
     "Then", "Today", "Later", "After", "Before", "During", "With", "Without", "While", "Since")
)  # fmt: skip


@dataclass(frozen=True)
class Span:
    kind: str  # "number", "name" or "term"
    text: str
    start: int
    end: int


def spans(sentence: str) -> list[Span]:
    """The spans of a fact that can be blanked: numbers, names (not a sentence's first word), terms."""
    found = [Span("number", m.group(), m.start(), m.end()) for m in _NUMBER.finditer(sentence)]
    for m in _NAME.finditer(sentence):
        text, start = m.group(), m.start()
        before = sentence[:start].rstrip()
        opens = not before or before.endswith((".", "!", "?", ":"))
        first, _, rest = text.partition(" ")
        if opens and first in _STARTERS and rest:  # "Then Niels Bohr": the name is "Niels Bohr"
            text, start, opens = rest, m.end() - len(rest), False
        # a sentence's first word is capitalised anyway: there only a name of two words or more counts
        if text not in _COMMON and (not opens or (rest and first not in _STARTERS)):
            found.append(Span("name", text, start, m.end()))
    found += [
        Span("term", m.group(), m.start(), m.end())
        for m in _TERM.finditer(sentence)
        if m.group() not in _COMMON
    ]
    return [s for s in found if _occurrences(s.text, sentence) == 1]


def form(span: Span) -> str:
    """What a distractor must share with the span: its kind, and for a term its ending."""
    if span.kind == "number":  # an integer for an integer, a decimal for a decimal, "2,8,1" for a list
        return "number:" + ("decimal" if "." in span.text else "grouped" if "," in span.text else "integer")
    if span.kind == "name":  # "Niels Bohr" for "Ernest Rutherford", "Cambridge" for "Copenhagen"
        return f"name:{min(len(span.text.split()), 2)}"
    return "term:" + next((s for s in _SUFFIXES if span.text.endswith(s)), "")


def cloze_items(
    chunks: list[Chunk],
    wanted: int,
    key: str,
    stage: StageStats,
    clean: Callable[[Sequence[str]], bool] | None = None,
) -> list[Item]:
    """Up to `wanted` cloze items from the document behind `chunks` (see the module docstring); `key`
    (the run's seed and the leaf) orders the facts, spans and distractors. Counts on `stage`."""
    if wanted <= 0 or not chunks:
        return []
    document = "\n\n".join(dict.fromkeys(p for c in chunks for p in paragraphs(c.text)))
    flat = " ".join(_WORD.findall(document.lower()))
    pools: dict[str, list[str]] = {}
    for paragraph in document.split("\n\n"):
        for sentence in re.split(r"(?<=[.!?])\s+", paragraph):
            for span in spans(sentence):
                pools.setdefault(form(span), []).append(span.text)
    pools = {f: sorted(set(texts)) for f, texts in pools.items()}
    found = [(fact, chunk) for chunk in chunks for fact in facts(chunk.text)]
    order = list(dict((fact, (fact, chunk)) for fact, chunk in found).values())
    random.Random(f"{key}\0cloze").shuffle(order)
    items: list[Item] = []
    for index, (fact, chunk) in enumerate(order):
        if len(items) >= wanted:
            break
        stage.generated += 1
        item, reason = _item(fact, chunk, document, flat, pools, f"{key}\0cloze\0{index}", index)
        if item is not None and clean is not None and not clean((item.question, item.answer)):
            item, reason = None, IN_TRAINING  # the leaf trains on this sentence: it would be refused by mix
        if item is None:
            stage.drop(reason, raw=fact, sample=index)
        else:
            items.append(item)
            stage.kept += 1
    return items


def _item(
    fact: str, chunk: Chunk, document: str, flat: str, pools: dict[str, list[str]], key: str, sample: int
) -> tuple[Item | None, str]:
    """The fact's first span (in a seeded order) that makes an item, or None and why none did."""
    rng = random.Random(key)
    candidates = spans(fact)
    rng.shuffle(candidates)
    # the kinds take turns from fact to fact (terms are the most numerous and would crowd out the rest)
    turn = KINDS[sample % len(KINDS) :] + KINDS[: sample % len(KINDS)]
    candidates.sort(key=lambda span: turn.index(span.kind))
    context = next((p for p in document.split("\n\n") if fact[:40] in p), fact)
    reason = NO_DISTRACTORS
    for span in candidates:
        pool = [
            d
            for d in pools.get(form(span), [])
            if _distinct(d, span.text) and not _occurrences(d, context) and _similar(d, span)
        ]
        if len(pool) < 3:
            continue
        distractors = rng.sample(pool, 3)
        if any(_fits(fact, span, d, flat) for d in distractors):
            reason = TWO_FIT
            continue
        question = f"{fact[: span.start]}{BLANK}{fact[span.end :]}"
        return (
            Item(
                sample,
                question,
                span.text,
                context=chunk.text,
                source=chunk.reference,
                choices=(span.text, *distractors),
                correct=0,
                made_by=STAGE,
            ),
            "",
        )
    return None, reason


def _occurrences(text: str, within: str) -> int:
    return len(re.findall(rf"(?<![\w\-]){re.escape(text)}(?![\w\-])", within, re.IGNORECASE))


def _distinct(distractor: str, answer: str) -> bool:
    """Not the answer in another spelling, nor one of its inflections (electron / electrons)."""
    a, d = answer.lower().replace(",", ""), distractor.lower().replace(",", "")
    if a == d:
        return False
    try:
        return float(a) != float(d)
    except ValueError:
        return not (a.startswith(d[:5]) and len(d) >= 5 and abs(len(a) - len(d)) <= 3)


def _similar(distractor: str, span: Span) -> bool:
    """A term of similar length (the form, its ending, is shared already)."""
    return span.kind != "term" or abs(len(distractor) - len(span.text)) <= 4


def _fits(fact: str, span: Span, distractor: str, flat: str) -> bool:
    """The fact with `distractor` in the blank reads as the document states it: the distractor follows
    the (up to) three words before the blank, or precedes the three after it, somewhere in the document
    (a side with fewer than two words says too little and is not asked)."""
    before = _WORD.findall(fact[: span.start].lower())[-WINDOW:]
    after = _WORD.findall(fact[span.end :].lower())[:WINDOW]
    word = distractor.lower()
    phrases = [p for side, p in ((before, [*before, word]), (after, [word, *after])) if len(side) >= 2]
    return any(f" {' '.join(p)} " in f" {flat} " for p in phrases)
