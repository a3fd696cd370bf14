"""`--dry-run`: an upper bound of the teacher calls per leaf and stage, how many the cache answers,
and an estimated time; nothing is asked of the teacher.

Bounds: a leaf tries at most `max_candidates_per_leaf` candidates over its rounds (only
`num_instructions` with target 0); every stage handles each candidate at most once, and a judging
stage that may be calibrated (log-probabilities known) asks one content-free call per item more.
Cached: the leaf is replayed against the call cache alone, counting the calls answered until
the first one the cache lacks (so the count is exact for a finished leaf, a lower bound otherwise).
The estimate divides the calls not cached by the teacher's measured rate in earlier runs.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from labtax.errors import LabtaxError
from labtax.generate import knowledge, mcq_items, skills
from labtax.generate.documents import Chunk
from labtax.generate.heldout import with_holdout
from labtax.generate.stats import LeafStats
from labtax.models.cache import CallCache, call_key
from labtax.models.calls import Caller
from labtax.models.embedded_teacher import EmbeddedTeacher
from labtax.models.openai_protocol import auto_choice
from labtax.models.probe import PROBE_VERSION, Capabilities
from labtax.models.registry import teacher_specs
from labtax.models.templates import Templates
from labtax.taxonomy import Leaf

JUDGES = {
    "evaluate_instructions",
    "evaluate_pairs",
    "evaluate_faithfulness",
    "evaluate_relevance",
    "evaluate_mcq",
}


class _Miss(Exception):
    """A call the cache does not hold: the replay stops there."""


class ReplayTeacher:
    """A stand-in with the real teacher's cache identity (name, shape, choice form, context) that only
    misses."""

    def __init__(
        self, name: str, shape: str, choice_mode: str | None, context_tokens: int | None = None
    ) -> None:
        self.name, self.shape, self.choice_mode, self.context_tokens = (
            name,
            shape,
            choice_mode,
            context_tokens,
        )

    async def complete(self, *args: Any, **kwargs: Any) -> Any:
        raise _Miss

    async def choose(self, *args: Any, **kwargs: Any) -> Any:
        raise _Miss


def calls_max(leaf: Leaf, section: dict[str, Any], calibrated: bool) -> dict[str, int]:
    """The most teacher calls each stage of `leaf` can make."""
    section = section if leaf.is_knowledge else with_holdout(section, section)  # held-out pairs raise it
    budget = int(section["max_candidates_per_leaf"])
    candidates = (
        min(int(section["num_instructions"]), budget) if int(section["target_per_leaf"]) == 0 else budget
    )
    stages = knowledge.STAGES if leaf.is_knowledge else skills.STAGES
    bounds = {stage: candidates * (2 if calibrated and stage in JUDGES else 1) for stage in stages}
    # the eval items' rounds stop at their own budget
    if leaf.is_knowledge and int(section.get("mcq_per_leaf", 0)):
        budget = int(section["mcq_max_candidates"])
        bounds |= {stage: budget * (2 if calibrated and stage in JUDGES else 1) for stage in mcq_items.STAGES}
    return bounds


def replay_identity(section: dict[str, Any], cache_path: Path) -> ReplayTeacher | None:
    """The cache identity of the configured teacher, where it is known without asking a server."""
    specs = teacher_specs(section)
    if specs == ["embedded"]:
        return ReplayTeacher(
            EmbeddedTeacher.name,
            EmbeddedTeacher.shape,
            None,
            section.get("context_tokens") or EmbeddedTeacher.context_tokens,
        )
    model = section.get("model")
    if model is None:
        return None  # the server names the model: unknown until asked
    shape = "prefill" if section["assistant_prefill"] is True else "plain"
    choice = str(section["choice"])
    if "auto" in (section["assistant_prefill"], choice):
        found = _cached_probe(specs, str(model), cache_path)
        if found is None:
            return None
        if section["assistant_prefill"] == "auto":
            shape = "prefill" if found.prefill else "json" if found.json_schema else "plain"
        if choice == "auto":
            choice = auto_choice(found)
    return ReplayTeacher(f"openai:{model}", shape, choice, section.get("context_tokens"))


def _cached_probe(urls: list[str], model: str, cache_path: Path) -> Capabilities | None:
    if not cache_path.is_file():
        return None
    cache = CallCache(cache_path)
    try:
        found = None
        for url in urls:
            value = cache.get(call_key(kind="probe", version=PROBE_VERSION, url=url.rstrip("/"), model=model))
            if value is None:
                return None
            capabilities = Capabilities(**value["capabilities"])
            found = capabilities if found is None else found.both(capabilities)
        return found
    finally:
        cache.close()


def cached_calls(
    leaf: Leaf,
    chunks: list[Chunk],
    section: dict[str, Any],
    teacher: ReplayTeacher,
    cache_path: Path,
    templates: Templates,
) -> int:
    """The calls of `leaf` the cache answers, replaying the leaf until its first miss."""
    if not cache_path.is_file():
        return 0
    cache = CallCache(cache_path)
    sampling = {
        "temperature": float(section["sampling"]["temperature"]),
        "top_p": float(section["sampling"]["top_p"]),
    }
    caller = Caller(
        teacher, cache, templates, sampling, int(section["seed"]), calibrate=bool(section["calibrate"])
    )  # type: ignore[arg-type]
    stats = LeafStats()

    async def replay() -> None:
        if leaf.is_knowledge:
            await knowledge.run_knowledge(leaf, chunks, caller, section, stats)
            if int(section.get("mcq_per_leaf", 0)):
                await mcq_items.run_mcq(leaf, chunks, caller, section, stats)
        else:
            await skills.run_skills(leaf, caller, with_holdout(section, section), stats)

    try:
        asyncio.run(replay())
    except (_Miss, LabtaxError):
        pass  # stopped at the first call not cached (or where the real run would stop)
    finally:
        cache.close()
    return stats.cache_hits


def plan_leaf(
    leaf: Leaf,
    chunks: list[Chunk] | None,
    section: dict[str, Any],
    teacher: ReplayTeacher | None,
    cache_path: Path,
    templates: Templates,
    rate: float | None,
) -> dict[str, Any]:
    """One leaf's plan: `stages` (calls_max each), `calls_max`, `cached` (None: unknown), `chunks`,
    `eta_s`."""
    calibrated = bool(section["calibrate"]) and (
        teacher is None or teacher.choice_mode is None or "logprobs" in teacher.choice_mode
    )
    stages = calls_max(leaf, section, calibrated)
    if leaf.is_knowledge and not chunks:
        stages = dict.fromkeys(stages, 0)
    total = sum(stages.values())
    cached = (
        cached_calls(leaf, chunks or [], section, teacher, cache_path, templates)
        if teacher is not None
        else None
    )
    left = total - (cached or 0)
    return {
        "leaf": leaf.path,
        "branch": leaf.branch,
        "stages": stages,
        "calls_max": total,
        "cached": cached,
        "chunks": len(chunks or []) if leaf.is_knowledge else None,
        "eta_s": round(left / rate, 1) if rate else None,
    }


def rate_key(section: dict[str, Any]) -> str:
    """The manifest's key for the measured rate of the configured teacher."""
    return ",".join(teacher_specs(section))


def plan_run(
    section: dict[str, Any],
    leaves: list[Leaf],
    chunks: dict[str, list[Chunk]],
    cache_path: Path,
    templates: Templates,
    manifest: dict[str, Any],
) -> list[dict[str, Any]]:
    """The plan of every leaf (see plan_leaf), with the rate measured by earlier runs of this teacher."""
    teacher = replay_identity(section, cache_path)
    rate = (manifest.get("rates") or {}).get(rate_key(section))
    return [
        plan_leaf(leaf, chunks.get(leaf.path), section, teacher, cache_path, templates, rate)
        for leaf in leaves
    ]
