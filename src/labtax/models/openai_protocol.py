"""The OpenAI chat-completions protocol as labtax speaks it: the request fields of a judgement, and
reading what servers send back (labels, log-probabilities, structured replies, /models entries,
Retry-After). Plain functions of data; the client that sends requests is openai_teacher.py.
"""

from __future__ import annotations

import email.utils
import json
import math
import re
import time
from typing import Any

import httpx

from labtax.models.probe import Capabilities, choice_grammar, json_schema_format
from labtax.models.teacher import LOGPROB_FLOOR, nested_options

MAX_BACKOFF_S = 30.0  # the longest wait between two tries of one call (Retry-After included)


def auto_choice(capabilities: Capabilities) -> str:
    """The strongest judgement form: a constraint (guided choice, grammar, JSON enum) plus logprobs
    where known."""
    constraint = (
        "guided"
        if capabilities.guided_choice
        else "grammar"
        if capabilities.grammar
        else "json"
        if capabilities.json_schema
        else ""
    )
    parts = [p for p in (constraint, "logprobs" if capabilities.logprobs else "") if p]
    return "+".join(parts) or "text"


def choice_fields(part: str, options: list[str]) -> dict[str, Any]:
    """The request fields of one judgement form."""
    if part == "logprobs":
        return {"logprobs": True, "top_logprobs": min(20, max(5, len(options)))}
    if part == "guided":  # vLLM's guided decoding: the reply is exactly one option
        return {"guided_choice": options}
    if part == "grammar":  # llama.cpp server: a GBNF grammar allowing only the options
        return {"grammar": choice_grammar(options)}
    if part == "json":
        return {"response_format": json_schema_format({"label": {"type": "string", "enum": options}})}
    return {}


def retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, min(MAX_BACKOFF_S, float(value)))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, min(MAX_BACKOFF_S, moment.timestamp() - time.time()))


def parse_label(text: str, options: list[str]) -> str | None:
    """The first option that appears as a whole word in `text` (case-insensitive), else None."""
    best: tuple[int, str] | None = None
    for option in options:
        match = re.search(rf"(?<![\w.]){re.escape(option)}(?!\w|[.,]\d)", text, re.IGNORECASE)
        if match and (best is None or match.start() < best[0]):
            best = (match.start(), option)
    return best[1] if best else None


def logprob_scores(data: dict[str, Any], options: list[str]) -> dict[str, float] | None:
    """Log-probabilities of the options at the first reply position where one of them is among the
    top tokens (options missing there get a floor value), else None. Where one option begins
    another ("1", "10"), the shorter one's mass is split by the next position (`_split_nested`)."""
    try:
        positions = data["choices"][0]["logprobs"]["content"] or []
    except (KeyError, IndexError, TypeError):
        return None
    wanted = {o.lower(): o for o in options}
    for index, position in enumerate(positions):
        scores: dict[str, float] = {}
        for candidate in _candidates(position):
            token = str(candidate.get("token", "")).strip().lower()
            if token in wanted and wanted[token] not in scores:
                scores[wanted[token]] = float(candidate.get("logprob", LOGPROB_FLOOR))
        if scores and nested_options(options):
            scores = _split_nested(scores, positions, index, wanted)
        if scores:
            return {o: scores.get(o, LOGPROB_FLOOR) for o in options}
    return None


def _candidates(position: dict[str, Any]) -> list[dict[str, Any]]:
    return position.get("top_logprobs") or [position]


def _split_nested(
    scores: dict[str, float], positions: list[dict[str, Any]], index: int, wanted: dict[str, str]
) -> dict[str, float]:
    """The scores of a position where an option that begins a longer one was seen ("1" of "10").

    A tokenizer that writes digits one by one gives "10" as "1" then "0": the token "1" holds the
    mass of both grades. When "1" is the reply's own token, the next position's top log-probabilities
    split it: "10" gets p(1) p(0 | 1) and "1" keeps p(1) (1 - p(going on into a longer option)).
    When the longer option is a token of its own at this position ("10" in one token), "1" is just
    1. Otherwise (the reply took another token) the split is unknown and "1" goes unscored rather
    than counting the mass of 10 as 1. A reply that ends after "1" keeps p(1) for "1".
    """
    split = dict(scores)
    reply_token = str(positions[index].get("token", "")).strip().lower()
    for short in [s for s in wanted if wanted[s] in scores]:
        longer = [w for w in wanted if w != short and w.startswith(short)]
        if not longer or any(wanted[w] in scores for w in longer):
            continue
        if reply_token != short:
            del split[wanted[short]]
            continue
        if index + 1 == len(positions):
            continue
        going_on: dict[str, float] = {}  # probability of each way on, given `short`
        for candidate in _candidates(positions[index + 1]):
            text = (short + str(candidate.get("token", ""))).rstrip().lower()
            into = next((w for w in longer if re.match(rf"{re.escape(w)}(?!\w)", text)), None)
            if text == short or (into is None and not any(w.startswith(text) for w in longer)):
                continue  # the reply ends, or goes on into no longer option ("1." is 1)
            way = into or ""  # "": part of a longer option still to come
            going_on[way] = going_on.get(way, 0.0) + math.exp(float(candidate.get("logprob", LOGPROB_FLOOR)))
        base = scores[wanted[short]]
        for way, p in going_on.items():
            if way:
                split[wanted[way]] = base + _log(p)
        split[wanted[short]] = base + _log(1.0 - sum(going_on.values()))
    return split


def _log(p: float) -> float:
    """log p, finite (the cache stores JSON): below the floor where p is 0."""
    return math.log(p) if p > 0 else 2 * LOGPROB_FLOOR


def model_entries(response: httpx.Response) -> list[dict[str, Any]]:
    try:
        models = response.json().get("data") or []
    except (ValueError, AttributeError):
        return []
    return [m for m in models if isinstance(m, dict)] if isinstance(models, list) else []


def context_of(entry: dict[str, Any]) -> int | None:
    """The context window a /models entry states: vLLM's max_model_len, llama.cpp's
    meta.n_ctx_train, or context_length."""
    meta = entry.get("meta") if isinstance(entry.get("meta"), dict) else {}
    for value in (entry.get("max_model_len"), meta.get("n_ctx_train"), entry.get("context_length")):
        if isinstance(value, int) and value > 0:
            return value
    return None


def tagged(text: str, tags: tuple[str, ...]) -> str:
    """A JSON reply {"instruction": ...} as the "Instruction: ..." text the stages parse (else as it came)."""
    try:
        data = json.loads(text)
    except ValueError:
        return text
    if not isinstance(data, dict):
        return text
    return "\n".join(f"{tag}: {data.get(tag.lower(), '')}" for tag in tags)


def json_label(text: str) -> str:
    """The label of a JSON-constrained judgement ({"label": "yes"}), else the text itself."""
    try:
        data = json.loads(text)
    except ValueError:
        return text
    return str(data.get("label", text)) if isinstance(data, dict) else text


def reply_data(response: httpx.Response) -> tuple[dict[str, Any] | None, str]:
    """The JSON body of a 200 when it holds a reply with content, else (None, why not): a proxy's
    HTML page or an empty reply is the server failing, not the model answering."""
    try:
        data = response.json()
    except ValueError:
        return None, f"a 200 reply that is not JSON: {response.text[:80]!r}"
    if not isinstance(data, dict):
        return None, "a 200 reply whose JSON is not an object"
    try:
        content = data["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        return None, "a 200 reply without choices[0].message"
    if not content:
        return None, "a 200 reply whose message has no content"
    return data, ""
