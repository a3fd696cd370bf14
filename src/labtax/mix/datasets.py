"""The LAB phase datasets: samples with their token counts, split per phase (KT/1 short knowledge
answers, KT/2 long ones and foundational skills, ST compositional skills), validation splits, replay
buffers drawn from earlier phases' training splits, the stacked set (all three phases' own splits in
one, without replay), and the phase files."""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labtax.files import file_sha256, write_text_atomic
from labtax.models.tokenize import response_tokens
from labtax.phases import LAB_PHASES, STACKED


@dataclass(frozen=True)
class Sample:
    """One chat sample in a phase file."""

    id: str
    leaf: str
    branch: str
    messages: list[dict[str, str]]
    source: str  # "seed" or "generated"
    response_tokens: int
    tokens: int  # the whole conversation through the chat template
    phase: str = ""  # the phase whose own data this is
    replayed: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "leaf": self.leaf,
            "branch": self.branch,
            "messages": self.messages,
            "source": self.source,
            "phase": self.phase,
            "replayed": self.replayed,
            "response_tokens": self.response_tokens,
            "tokens": self.tokens,
        }


@dataclass(frozen=True)
class Split:
    train: list[Sample]
    validation: list[Sample]


def to_samples(records: list[dict[str, Any]], tokenizer: Any) -> list[Sample]:
    samples = []
    for r in records:
        answer = next(m["content"] for m in reversed(r["messages"]) if m["role"] == "assistant")
        text = tokenizer.apply_chat_template(r["messages"], tokenize=False)
        total = len(tokenizer(text, add_special_tokens=False)["input_ids"])
        source = "seed" if r.get("seed") else "generated"
        samples.append(
            Sample(
                r["id"],
                r["leaf"],
                r["branch"],
                r["messages"],
                source,
                response_tokens(tokenizer, answer),
                total,
            )
        )
    return samples


def kt1_samples(samples: list[Sample], short_max: int) -> list[Sample]:
    """KT/1: knowledge with short responses."""
    return [s for s in samples if s.branch == "knowledge" and s.response_tokens <= short_max]


def kt2_samples(samples: list[Sample], short_max: int) -> list[Sample]:
    """KT/2: knowledge with long responses, and foundational skills."""
    return [
        s
        for s in samples
        if (s.branch == "knowledge" and s.response_tokens > short_max) or s.branch == "foundational_skills"
    ]


def st_samples(samples: list[Sample]) -> list[Sample]:
    """ST: compositional skills."""
    return [s for s in samples if s.branch == "compositional_skills"]


def split(own: list[Sample], phase: str, fraction: float, seed: int) -> Split:
    """Hold out `fraction` of a phase's own samples (at least one when it has two or more)."""
    own = sorted((_tag(s, phase) for s in own), key=lambda s: s.id)
    random.Random(f"{seed}:{phase}:split").shuffle(own)
    n_val = min(len(own) - 1, max(1, round(fraction * len(own)))) if len(own) >= 2 and fraction > 0 else 0
    return Split(train=own[n_val:], validation=own[:n_val])


def replay(source: list[Sample], fraction: float, seed: int, phase: str, origin: str) -> list[Sample]:
    """A seeded draw of round(fraction * n) training samples of an earlier phase, marked replayed."""
    count = round(fraction * len(source))
    drawn = random.Random(f"{seed}:{phase}:replay:{origin}").sample(sorted(source, key=lambda s: s.id), count)
    return [Sample(**{**s.__dict__, "replayed": True}) for s in drawn]


def _tag(sample: Sample, phase: str) -> Sample:
    return Sample(**{**sample.__dict__, "phase": phase})


def build_phases(samples: list[Sample], settings: dict[str, Any], seed: int) -> dict[str, Split]:
    """The three phases' training (own + replayed, shuffled) and validation samples, and the stacked
    set built from the very same splits."""
    short_max, fraction, rates = (
        settings["short_max_tokens"],
        settings["validation_fraction"],
        settings["replay"],
    )
    own = {
        "kt1": split(kt1_samples(samples, short_max), "kt1", fraction, seed),
        "kt2": split(kt2_samples(samples, short_max), "kt2", fraction, seed),
        "st": split(st_samples(samples), "st", fraction, seed),
    }
    out = {}
    for phase in LAB_PHASES:
        extra = [
            s
            for origin, rate in sorted(rates.get(phase, {}).items())
            for s in replay(own[origin].train, rate, seed, phase, origin)
        ]
        train = own[phase].train + extra
        random.Random(f"{seed}:{phase}:order").shuffle(train)
        out[phase] = Split(train=train, validation=own[phase].validation)
    out[STACKED] = stacked(own, seed)
    return out


def stacked(own: dict[str, Split], seed: int) -> Split:
    """All phases' own training samples in one shuffled set, validated on all their validation
    samples. No replay: replay fights forgetting between phases, and stacked has only one phase.
    Each sample keeps the phase it belongs to, so both schedules train on the same samples."""
    train = [s for phase in LAB_PHASES for s in own[phase].train]
    random.Random(f"{seed}:{STACKED}:order").shuffle(train)
    return Split(train=train, validation=[s for phase in LAB_PHASES for s in own[phase].validation])


def phase_stats(split_: Split) -> dict[str, Any]:
    train, val = split_.train, split_.validation
    replayed = Counter(s.phase for s in train if s.replayed)
    return {
        "train": len(train),
        "validation": len(val),
        "replayed": dict(sorted(replayed.items())),
        "by_branch": dict(sorted(Counter(s.branch for s in train).items())),
        "by_leaf": dict(sorted(Counter(s.leaf for s in train).items())),
        "by_source": dict(sorted(Counter(s.source for s in train).items())),
        "tokens": {"train": sum(s.tokens for s in train), "validation": sum(s.tokens for s in val)},
        "response_tokens": {"train": sum(s.response_tokens for s in train)},
    }


def _jsonl(samples: list[Sample]) -> str:
    return "".join(json.dumps(s.to_json(), ensure_ascii=False) + "\n" for s in samples)


def write_phases(phases: dict[str, Split], output: Path) -> dict[str, str]:
    """kt1.jsonl + kt1.val.jsonl, ..., stacked.jsonl + stacked.val.jsonl written into `output`;
    returns each file's sha256."""
    output.mkdir(parents=True, exist_ok=True)
    hashes = {}
    for phase, data in phases.items():
        for name, rows in ((f"{phase}.jsonl", data.train), (f"{phase}.val.jsonl", data.validation)):
            write_text_atomic(output / name, _jsonl(rows))
            hashes[name] = file_sha256(output / name)
    return hashes
