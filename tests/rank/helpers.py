"""Helpers for rank tests: generate output written by generate's own writers, a scripted ranker,
and a run helper."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Callable

from labtax.generate.items import Item
from labtax.generate.output import (
    dropped_path,
    dropped_record,
    eval_path,
    heldout_record,
    output_path,
    record,
    write_records,
)
from labtax.generate.stats import Dropped
from labtax.rank.run import RankOptions, RankResult, rank
from labtax.taxonomy import load_leaf
from tests.generate.teacher_server import Reply, words_for

HAIKU = "taxonomy/compositional_skills/writing/haiku/qna.yaml"
SUMMARY = "taxonomy/compositional_skills/reading/summary/qna.yaml"
KINEMATICS = "taxonomy/knowledge/physics/kinematics/qna.yaml"
PROVENANCE = {
    "taxonomy_commit": None,
    "leaf_hash": "x",
    "teacher": "openai:scripted-teacher",
    "templates": {},
    "sampling": {},
    "seed": 42,
}

Script = Callable[[dict[str, Any], int], Reply]


def write_generated(
    repo: Path,
    leaf_path: str,
    kept: list[tuple[str, str]],
    dropped: list[tuple[str, str]] = (),
    context: str | None = None,
) -> Path:
    """generated/<leaf>.jsonl (kept question/answer pairs) and its .dropped.jsonl (pairs the pair
    judge rated 1), written as `labtax generate` writes them."""
    leaf = load_leaf(repo, leaf_path)
    path = output_path(repo / "generated", leaf_path, "taxonomy")
    items = [Item(i, q, a, context=context) for i, (q, a) in enumerate(kept)]
    write_records(path, [record(leaf, item, PROVENANCE) for item in items])
    drops = [
        Dropped("below_threshold", Item(100 + i, q, a, context=context), verdict="1")
        for i, (q, a) in enumerate(dropped)
    ]
    write_records(
        dropped_path(path), [dropped_record(leaf, "evaluate_pairs", drop, PROVENANCE) for drop in drops]
    )
    return path


def write_heldout(
    repo: Path, leaf_path: str, pairs: list[tuple[str, str]], context: str | None = None
) -> Path:
    """generated/eval/<leaf>.heldout.jsonl: held-out prompts and their references, written as
    `labtax generate` writes them (a kept record set aside)."""
    leaf = load_leaf(repo, leaf_path)
    path = eval_path(repo / "generated", leaf_path, "taxonomy", "heldout")
    items = [Item(200 + i, q, a, context=context) for i, (q, a) in enumerate(pairs)]
    write_records(path, [heldout_record(record(leaf, item, PROVENANCE)) for item in items])
    return path


def write_config(repo: Path, url: str, **rank_settings: Any) -> None:
    """labtax.yaml: a server teacher read as plain text (no probe), quick retries; `rank:` as given."""
    generate = {
        "teacher": url,
        "retry_backoff_s": 0.01,
        "request_timeout_s": 5,
        "max_retries": 1,
        "assistant_prefill": False,
        "choice": "text",
    }
    (repo / "labtax.yaml").write_text(json.dumps({"generate": generate, "rank": rank_settings}))


def run(repo: Path, **options: Any) -> RankResult:
    options.setdefault("all_leaves", not options.get("leaves"))
    return rank(RankOptions(root=repo, show_progress=False, **options))


def task(body: dict[str, Any]) -> str:
    return body["messages"][0]["content"].split("\n", 1)[0]


def shown_answers(body: dict[str, Any]) -> list[str]:
    """The answers a ranking prompt shows, in their order."""
    return re.findall(r"^Answer \d: (.*)$", body["messages"][0]["content"], re.MULTILINE)


def sample_reply(body: dict[str, Any]) -> Reply:
    """A further teacher answer, distinct per request (temperature, seed and prompt)."""
    return Reply(f"Answer: sample {words_for(json.dumps(body, sort_keys=True), 6)}")


def ranker(
    score: Callable[[str], Any] = len,
    pair: Callable[[list[str]], str] | None = None,
    ranking: Callable[[list[str]], str] | None = None,
) -> Script:
    """A teacher whose samples are distinct and whose judgements follow `score` (higher is better):
    consistent in both orders unless `pair` decides otherwise; `ranking` may replace list replies."""

    def script(body: dict[str, Any], attempt: int = 0) -> Reply:
        first = task(body)
        answers = shown_answers(body)
        if first.startswith("Task: compare two answers"):
            return Reply(
                pair(answers)
                if pair
                else "1"
                if (score(answers[0]), answers[0]) >= (score(answers[1]), answers[1])
                else "2"
            )
        if first.startswith("Task: rank answers"):
            if ranking:
                return Reply(ranking(answers))
            order = sorted(range(len(answers)), key=lambda i: (score(answers[i]), answers[i]), reverse=True)
            return Reply("".join(str(i + 1) for i in order))
        return sample_reply(body)

    return script


def preference_rows(repo: Path, relative: str) -> list[dict[str, Any]]:
    path = repo / "preferences" / relative
    return [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []


def posts(server: Any, prefix: str) -> list[dict[str, Any]]:
    """The chat requests the server received whose prompt starts with `prefix`."""
    return [b for b in server.received if task(b).startswith(prefix)]
