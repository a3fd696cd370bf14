"""What an OpenAI-compatible server supports, learned once per URL and model with a few tiny calls.

Each probe asks for something a server can only produce when it honours the feature: the
continuation of "1 2 3 4 5 6" (assistant prefill), a JSON object whose only allowed value is the
made-up word "zq7" (response_format json_schema), a reply restricted to two made-up words (vLLM
guided_choice, llama.cpp grammar), top log-probabilities. A server that ignores a field, or
refuses it with HTTP 4xx, does not support it. The result and the server's answers are cached on
disk with the calls, so later runs ask nothing.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any, Awaitable, Callable

PROBE_VERSION = 1
WORDS = ["zq7", "xv3"]  # labels no model writes unasked
FEATURES = ("prefill", "json_schema", "guided_choice", "grammar", "logprobs")

Post = Callable[[dict[str, Any]], Awaitable[tuple[int, dict[str, Any]]]]  # body -> (HTTP status, JSON)


@dataclass(frozen=True)
class Capabilities:
    """The features a teacher server honours."""

    prefill: bool = False
    json_schema: bool = False
    guided_choice: bool = False
    grammar: bool = False
    logprobs: bool = False

    def both(self, other: Capabilities) -> Capabilities:
        """What two servers both support (every server must take every request)."""
        return Capabilities(**{name: getattr(self, name) and getattr(other, name) for name in FEATURES})

    def as_dict(self) -> dict[str, bool]:
        return asdict(self)


def json_schema_format(properties: dict[str, Any]) -> dict[str, Any]:
    """An OpenAI `response_format` asking for an object with exactly `properties` (all required)."""
    schema = {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }
    return {"type": "json_schema", "json_schema": {"name": "labtax_reply", "strict": True, "schema": schema}}


def choice_grammar(options: list[str]) -> str:
    """A GBNF grammar (llama.cpp) whose only sentences are the `options`."""
    return "root ::= " + " | ".join(json.dumps(option) for option in options)


def _user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def probe_requests(model: str) -> dict[str, dict[str, Any]]:
    """The request of each probe, by feature."""
    base = {"model": model, "temperature": 0.0, "max_tokens": 8}
    counting = [
        *_user("Count from 1 to 10, separated by spaces."),
        {"role": "assistant", "content": "1 2 3 4 5 6"},
    ]
    return {
        "prefill": {
            **base,
            "messages": counting,
            "continue_final_message": True,
            "add_generation_prompt": False,
        },
        "json_schema": {
            **base,
            "max_tokens": 16,
            "messages": _user("Reply with a JSON object."),
            "response_format": json_schema_format({"k": {"type": "string", "enum": [WORDS[0]]}}),
        },
        "guided_choice": {**base, "messages": _user("Say hello."), "guided_choice": WORDS},
        "grammar": {**base, "messages": _user("Say hello."), "grammar": choice_grammar(WORDS)},
        "logprobs": {
            **base,
            "max_tokens": 1,
            "messages": _user("Say hello."),
            "logprobs": True,
            "top_logprobs": 5,
        },
    }


def reply_text(data: dict[str, Any]) -> str:
    """The reply text of a chat completion (empty when there is none)."""
    try:
        return str(data["choices"][0]["message"]["content"] or "")
    except (KeyError, IndexError, TypeError):
        return ""


def _has_top_logprobs(data: dict[str, Any]) -> bool:
    try:
        return bool(data["choices"][0]["logprobs"]["content"][0]["top_logprobs"])
    except (KeyError, IndexError, TypeError):
        return False


def _json_word(text: str) -> bool:
    try:
        return json.loads(text) == {"k": WORDS[0]}
    except ValueError:
        return False


CHECKS: dict[str, Callable[[dict[str, Any]], bool]] = {
    "prefill": lambda data: reply_text(data).lstrip().startswith("7"),
    "json_schema": lambda data: _json_word(reply_text(data).strip()),
    "guided_choice": lambda data: reply_text(data).strip() in WORDS,
    "grammar": lambda data: reply_text(data).strip() in WORDS,
    "logprobs": _has_top_logprobs,
}


async def probe(post: Post, model: str) -> dict[str, Any]:
    """{"capabilities": {feature: bool}, "answers": {feature: what the server said}} for one server."""
    found, answers = {}, {}
    for feature, body in probe_requests(model).items():
        status, data = await post(body)
        found[feature] = status < 400 and CHECKS[feature](data)
        answers[feature] = {"status": status, "reply": reply_text(data)[:80]}
    return {"capabilities": found, "answers": answers}


def describe(capabilities: Capabilities, shape: str, choice: str) -> str:
    """One line: what the server supports and what labtax will use."""
    supported = (
        ", ".join(name for name in FEATURES if getattr(capabilities, name))
        or "none of prefill, json_schema, guided_choice, grammar, logprobs"
    )
    lenient = " (replies parsed leniently)" if shape == "plain" else ""
    return f"supports {supported}; replies shaped by {shape}{lenient}, judgements by {choice}"
