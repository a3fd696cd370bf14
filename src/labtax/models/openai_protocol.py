"""The OpenAI chat-completions protocol as labtax speaks it: the request fields of a judgement, and
reading what servers send back (labels, log-probabilities, structured replies, /models entries,
Retry-After). Plain functions of data; the client that sends requests is openai_teacher.py.
"""

from __future__ import annotations

import email.utils
import json
import re
import time
from typing import Any

import httpx

from labtax.models.probe import Capabilities, choice_grammar, json_schema_format
from labtax.models.teacher import LOGPROB_FLOOR

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
    top tokens (options missing there get a floor value), else None."""
    try:
        positions = data["choices"][0]["logprobs"]["content"] or []
    except (KeyError, IndexError, TypeError):
        return None
    wanted = {o.lower(): o for o in options}
    for position in positions:
        scores: dict[str, float] = {}
        for candidate in position.get("top_logprobs") or [position]:
            token = str(candidate.get("token", "")).strip().lower()
            if token in wanted and wanted[token] not in scores:
                scores[wanted[token]] = float(candidate.get("logprob", LOGPROB_FLOOR))
        if scores:
            return {o: scores.get(o, LOGPROB_FLOOR) for o in options}
    return None


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
