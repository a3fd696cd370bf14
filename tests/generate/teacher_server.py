"""A local OpenAI-compatible HTTP server with scripted replies: the only test double for a teacher.

`script(body, attempt)` decides each reply: `attempt` counts earlier requests with the same
body, so a script can fail a request once and answer its retry. The server counts what it
received and what it answered.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

WORDS = [
    "atom", "orbit", "photon", "vector", "tensor", "energy", "field", "wave", "lattice", "prism", "quark",
    "neuron", "enzyme", "glacier", "delta", "plasma", "vortex", "magnet", "rotor", "piston", "circuit",
    "signal", "matrix", "graph", "prime", "integral", "limit", "series", "proof", "theorem", "lemma", "axiom",
    "ratio", "angle", "chord", "radius", "sphere", "cone", "helix", "spiral", "fractal", "entropy", "kelvin",
    "joule", "volt", "ampere", "ohm", "farad", "tesla", "newton", "pascal", "lumen", "candela", "mole",
    "carbon", "oxygen", "helium", "neon", "argon", "iron", "copper", "zinc", "silver", "gold", "cobalt",
    "nickel", "sodium", "calcium", "sulfur", "iodine", "boron", "silicon", "quartz", "basalt", "granite",
]  # fmt: skip


@dataclass
class Reply:
    """What the server does with one request."""

    text: str = ""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (longer than the client timeout: a timeout)
    drop: bool = False  # close the connection without an answer
    logprobs: list[dict[str, Any]] | None = None  # OpenAI logprobs.content, when scripted
    payload: dict[str, Any] | None = None  # a whole JSON body sent as is (e.g. `choices: []`)
    raw: bytes | None = None  # a body that is not JSON (e.g. an HTML page), sent with status 200
    trickle: float = 0.0  # seconds between the body's bytes (a server that sends slowly)


def words_for(text: str, count: int = 8) -> str:
    """Deterministic, distinct-looking words derived from `text`."""
    digest = hashlib.sha256(text.encode()).digest()
    return " ".join(WORDS[b % len(WORDS)] for b in digest[:count])


def stage_of(body: dict[str, Any]) -> str:
    """The stage a request belongs to, from the first line of the bundled templates ("Task: ...")."""
    text = body["messages"][0]["content"]
    first = text.split("\n", 1)[0]
    table = {
        "write one new instruction": "generate_instructions",
        "judge whether an instruction": "evaluate_instructions",
        "answer an instruction": "generate_responses",
        "rate an answer": "evaluate_pairs",
        "write one question and its answer": "generate_qa",
        "write the question to a given answer": "generate_qa_extractive",
        "check whether an answer is supported": "evaluate_faithfulness",
        "check whether a question is relevant": "evaluate_relevance",
        "write one multiple-choice question": "generate_mcq",
        "check a multiple-choice question": "evaluate_mcq",
        "grade an answer": "judge_answer",
    }
    return next((stage for marker, stage in table.items() if marker in first), "unknown")


def field_of(body: dict[str, Any], name: str) -> str:
    """The value of a "Name: value" line of the prompt (the judged item)."""
    match = re.search(rf"^{re.escape(name)}: (.*)$", body["messages"][0]["content"], re.MULTILINE)
    return match.group(1) if match else ""


def good_teacher(body: dict[str, Any], attempt: int = 0) -> Reply:
    """A teacher that always answers well-formed, accepting replies, deterministic in the request."""
    stage = stage_of(body)
    key = json.dumps(body, sort_keys=True)
    if stage == "generate_instructions":
        grounded = (
            "Context:"
            in body["messages"][0]["content"]
            .split("Examples of instructions", 1)[-1]
            .split("Write one new")[0]
        )
        context = f"Context: {words_for('ctx' + key, 12)}\n" if grounded else ""
        return Reply(f"{context}Instruction: {words_for(key)}?")
    if stage == "generate_responses":
        return Reply(f"{words_for('answer' + key, 10)}.")
    if stage == "generate_qa":
        return Reply(f"Question: {words_for(key)}?\nAnswer: {words_for('a' + key, 6)}.")
    if stage == "generate_qa_extractive":
        return Reply(f"Question: {words_for(key)}?")
    if stage == "generate_mcq":
        options = "".join(f"\n{letter}. {words_for(letter + key, 3)}" for letter in "ABCD")
        return Reply(f"Question: {words_for(key)}?{options}\nAnswer: B")
    if stage == "evaluate_pairs":
        return Reply("3")
    if stage == "judge_answer":
        return Reply("7")
    return Reply("yes")


def picky_teacher(body: dict[str, Any], attempt: int = 0) -> Reply:
    """The good teacher, except that it rejects about two thirds of the instructions (by a hash of
    the instruction), so that skills leaves need several rounds to reach a target."""
    instruction = field_of(body, "Instruction")
    if stage_of(body) == "evaluate_instructions" and instruction != "N/A":
        return Reply("yes" if hashlib.sha256(instruction.encode()).digest()[0] % 3 == 0 else "no")
    return good_teacher(body)


def _tag_fields(text: str) -> dict[str, str]:
    """ "Tag: value" lines of a reply as {"tag": "value"}."""
    return {
        m.group(1).lower(): m.group(2).strip() for m in re.finditer(r"^(\w+): ?(.*)$", text, re.MULTILINE)
    }


def capable(
    features: set[str], inner: Callable[[dict[str, Any], int], Reply] = good_teacher
) -> Callable[[dict[str, Any], int], Reply]:
    """A server that honours exactly `features` (prefill, json_schema, guided_choice, grammar,
    logprobs) the way llama.cpp or vLLM do, and ignores the fields of the others; `inner` writes the text."""

    def script(body: dict[str, Any], attempt: int) -> Reply:
        messages = body["messages"]
        prefill = (
            messages[-1]["content"] if messages[-1]["role"] == "assistant" and "prefill" in features else ""
        )
        if messages[0]["content"].startswith("Count from 1 to 10"):
            text = "1 2 3 4 5 6 7 8 9 10"
        else:
            text = inner({**body, "messages": messages[:1]}, attempt).text
        options = body.get("guided_choice") if "guided_choice" in features else None
        if "grammar" in body and "grammar" in features:
            options = re.findall(r'"([^"]*)"', body["grammar"])
        if options:
            text = text if text in options else options[0]
        schema = (body.get("response_format") or {}).get("json_schema", {}).get("schema")
        if schema and "json_schema" in features:
            fields = _tag_fields(text)
            text = json.dumps(
                {
                    name: (
                        spec["enum"][0]
                        if "enum" in spec and text not in spec["enum"]
                        else text
                        if "enum" in spec
                        else fields.get(name, text)
                    )
                    for name, spec in schema["properties"].items()
                }
            )
        if prefill:
            text = text[len(prefill) :] if text.startswith(prefill) else text.removeprefix(prefill.strip())
        logprobs = None
        if body.get("logprobs") and "logprobs" in features:
            logprobs = [
                {
                    "token": text,
                    "logprob": -0.1,
                    "top_logprobs": [{"token": text, "logprob": -0.1}, {"token": "zz", "logprob": -3.0}],
                }
            ]
        return Reply(text, logprobs=logprobs)

    return script


class TeacherServer:
    """Start with `with TeacherServer(script) as server:`; `server.url` ends in /v1."""

    def __init__(
        self,
        script: Callable[[dict[str, Any], int], Reply] = good_teacher,
        freeze_after: int | None = None,
        models: list[dict[str, Any]] | None = None,
    ) -> None:
        self.script = script
        self.models = models or [{"id": "scripted-teacher", "object": "model"}]  # what /models lists
        self.freeze_after = freeze_after  # after this many answers, hold every request unanswered
        self.received: list[dict[str, Any]] = []
        self.answered: list[dict[str, Any]] = []
        self._attempts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def __enter__(self) -> TeacherServer:
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def stages(self, bodies: list[dict[str, Any]] | None = None) -> Counter[str]:
        return Counter(stage_of(b) for b in (self.answered if bodies is None else bodies))

    def _respond(self, body: dict[str, Any]) -> Reply:
        key = json.dumps(body, sort_keys=True)
        with self._lock:
            self.received.append(body)
            attempt = self._attempts[key]
            self._attempts[key] += 1
            frozen = self.freeze_after is not None and len(self.answered) >= self.freeze_after
        if frozen:
            self._stop.wait()
            return Reply(drop=True)
        reply = self.script(body, attempt)
        if (
            reply.status == 200
            and not reply.drop
            and reply.delay == 0
            and reply.payload is None
            and reply.raw is None
            and not reply.trickle
        ):
            with self._lock:
                self.answered.append(body)
        return reply

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                if self.path.rstrip("/") == "/v1/models":
                    self._send(200, {"object": "list", "data": server.models})
                else:
                    self._send(404, {"error": "not found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if not self.path.endswith("/chat/completions"):
                    self._send(404, {"error": "not found"})
                    return
                reply = server._respond(body)
                if reply.drop:
                    self.close_connection = True
                    return
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.status != 200:
                    self._send(
                        reply.status, {"error": {"message": f"scripted {reply.status}"}}, reply.headers
                    )
                    return
                if reply.raw is not None or reply.payload is not None:
                    self._send(200, reply.payload, raw=reply.raw, trickle=reply.trickle)
                    return
                choice: dict[str, Any] = {
                    "index": 0,
                    "message": {"role": "assistant", "content": reply.text},
                    "finish_reason": "stop",
                }
                if reply.logprobs is not None:
                    choice["logprobs"] = {"content": reply.logprobs}
                usage = {
                    "prompt_tokens": len(json.dumps(body)) // 4,
                    "completion_tokens": len(reply.text.split()) + 1,
                }
                payload = {
                    "id": "x",
                    "object": "chat.completion",
                    "model": body.get("model"),
                    "choices": [choice],
                    "usage": usage,
                }
                self._send(200, payload, reply.headers, trickle=reply.trickle)

            def _send(
                self,
                status: int,
                payload: Any,
                headers: dict[str, str] | None = None,
                raw: bytes | None = None,
                trickle: float = 0.0,
            ) -> None:
                blob = raw if raw is not None else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/html" if raw is not None else "application/json")
                self.send_header("Content-Length", str(len(blob)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                if not trickle:
                    self.wfile.write(blob)
                    return
                # one byte at a time: every read gets data, the whole body takes long
                for i in range(len(blob)):
                    if server._stop.is_set():
                        return
                    self.wfile.write(blob[i : i + 1])
                    self.wfile.flush()
                    time.sleep(trickle)

        return Handler
