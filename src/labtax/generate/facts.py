"""Facts: the sentences of a passage that can stand alone as the answer to a question.

Extractive knowledge generation (knowledge.py) copies one fact from a chunk as the answer and asks
the teacher only for the question, so the answer is faithful to the document by construction: a
weak teacher (the embedded 135M model) writes sensible questions but invents facts in its answers.

A passage is cut into paragraphs (blank lines; wrapped lines are joined), then sentences. A fact is
one sentence of 6 to 60 words that ends a statement; a short one (under 12 words) takes the next
sentence of its paragraph too, and so does one whose next sentence starts by pointing back
("This", "It", "For example", ...). A sentence that points back with nothing before it, or to
another part of the document ("the runner above"), starts no fact: a fact never needs text the
reader has not seen.
Headings, tables, code and list items that are formulas are not prose and give no facts; a chunk's
first and last pieces, which a chunk window may cut mid-sentence, only count when whole.
"""

from __future__ import annotations

import random
import re

MIN_WORDS, SHORT_WORDS, MAX_WORDS = 6, 12, 60
# A sentence ends at . ! ? followed by space and a capital, digit or opening quote/bracket, but not
# after an initial ("J. J. Thomson") or a common abbreviation.
_BOUNDARY = re.compile(r"(?<=[.!?])[\"')\]]?\s+(?=[A-Z0-9\"'(\[])")
_ABBREVIATIONS = (
    "e.g.",
    "i.e.",
    "etc.",
    "approx.",
    "fig.",
    "no.",
    "vs.",
    "dr.",
    "mr.",
    "mrs.",
    "ms.",
    "prof.",
    "st.",
    "cf.",
    "eq.",
)
_BACK_REFERENCE = re.compile(
    r"^(this|these|that|those|it|its|they|them|their|such|he|she|his|her|here|there|so|thus|hence|therefore|"
    r"however|then|also|for example|for instance|in this|in that)\b",
    re.IGNORECASE,
)
_ELSEWHERE = re.compile(
    r"\b(above|below|previous|preceding|following|earlier|later)\b(?! (the|zero|a|an)\b)", re.IGNORECASE
)
_NOT_PROSE = re.compile(r"^\s*(#|\||```|~~~|>|<)")
_LIST_MARK = re.compile(r"^\s*([-*+]|\d+[.)])\s+")
_STATEMENT_END = re.compile(r"[.!][\"')\]]?$")


def paragraphs(text: str) -> list[str]:
    """Prose paragraphs: blank-line separated, wrapped lines joined; headings, tables and code left out."""
    blocks, current, fenced = [], [], False
    for line in text.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
            continue
        if fenced or not line.strip() or _NOT_PROSE.match(line) or _LIST_MARK.match(line):
            if current:
                blocks.append(" ".join(current))
            current = []
            if line.strip() and _LIST_MARK.match(line) and not fenced:
                blocks.append(_LIST_MARK.sub("", line).strip())  # a list item is its own paragraph
            continue
        current.append(line.strip())
    if current:
        blocks.append(" ".join(current))
    return blocks


def sentences(paragraph: str) -> list[str]:
    """The sentences of one paragraph."""
    pieces: list[str] = []
    for piece in _BOUNDARY.split(paragraph):
        if pieces and _continues(pieces[-1]):
            pieces[-1] = f"{pieces[-1]} {piece}"
        else:
            pieces.append(piece)
    return [p.strip() for p in pieces if p.strip()]


def _continues(previous: str) -> bool:
    """The split after `previous` was wrong: it ends with an initial or an abbreviation."""
    last = previous.rsplit(maxsplit=1)[-1].lower()
    return bool(re.fullmatch(r"[a-z]\.", last)) or last.endswith(_ABBREVIATIONS)


def facts(passage: str) -> list[str]:
    """The facts of a passage, in order, none sharing a sentence (see the module docstring)."""
    found: list[str] = []
    blocks = [sentences(block) for block in paragraphs(passage)]
    if blocks and blocks[0] and not _whole(blocks[0][0]):
        blocks[0] = blocks[0][1:]  # the chunk window began mid-sentence
    if blocks and blocks[-1] and not _whole(blocks[-1][-1]):
        blocks[-1] = blocks[-1][:-1]  # ... or ended mid-sentence
    for parts in blocks:
        i = 0
        while i < len(parts):
            fact, i = _fact_at(parts, i)
            if fact and fact not in found:
                found.append(fact)
    return found


def _fact_at(parts: list[str], i: int) -> tuple[str | None, int]:
    """The fact starting at sentence i (None: no fact starts there) and the sentence after it.
    A short fact takes the next sentence, and so does one that the next sentence points back to."""
    if not _stands_alone(parts[i]) or _BACK_REFERENCE.match(parts[i]):
        return None, i + 1
    words, j = parts[i], i + 1
    while (
        j < len(parts)
        and _stands_alone(parts[j])
        and len(f"{words} {parts[j]}".split()) <= MAX_WORDS
        and (len(words.split()) < SHORT_WORDS or _BACK_REFERENCE.match(parts[j]))
    ):
        words, j = f"{words} {parts[j]}", j + 1
    return words, j


def _stands_alone(sentence: str) -> bool:
    """A statement of a sensible length that does not point elsewhere in the document."""
    return (
        MIN_WORDS <= len(sentence.split()) <= MAX_WORDS
        and bool(_STATEMENT_END.search(sentence))
        and not _ELSEWHERE.search(sentence)
    )


def _whole(sentence: str) -> bool:
    """A chunk's first or last piece is whole when it starts like a sentence and ends like one."""
    return sentence[0].isupper() and bool(_STATEMENT_END.search(sentence))


def pick_fact(passage_facts: list[str], seed: str, visit: int) -> str | None:
    """The fact of a passage for its `visit`-th question: a seeded order walked round, so the
    questions asked about one passage spread over its facts before any repeats."""
    if not passage_facts:
        return None
    order = list(range(len(passage_facts)))
    random.Random(seed).shuffle(order)
    return passage_facts[order[visit % len(order)]]
