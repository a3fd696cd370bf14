"""`labtax mix`: the LAB phase datasets, KT/1 -> KT/2 -> ST, with replay buffers.

| phase | own samples                                        | replayed              |
| kt1   | knowledge, short responses                         | none                  |
| kt2   | knowledge, long responses; foundational skills     | a share of KT/1       |
| st    | compositional skills                               | shares of KT/1, KT/2  |

Own samples are the generated records plus the leaves' seed examples. Each phase holds out a
validation split of its own samples; replay draws only from earlier phases' training splits, so
no validation sample is ever trained on. Everything is sorted before a seeded shuffle, so the
output depends on the seed and the inputs, never on file order.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labtax.config import Config
from labtax.errors import EXIT_FINDINGS, LabtaxError
from labtax.files import file_sha256, jsonl_rows, write_text_atomic
from labtax.generate.output import EVAL_DIR, MANIFEST, is_dropped_file
from labtax.models.embedded import embedded_model_dir
from labtax.models.tokenize import load_tokenizer, response_tokens
from labtax.phases import LAB_PHASES
from labtax.publish import publish_set
from labtax.schemas import validator
from labtax.taxonomy import Leaf, chat_messages, find_leaves, load_leaf
from labtax.taxonomy.git import head_commit

STATS = "mix.json"
OWN_FILES = frozenset({STATS, *(f"{p}{suffix}" for p in LAB_PHASES for suffix in (".jsonl", ".val.jsonl"))})


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


# ---- reading -----------------------------------------------------------------------------------


def read_generated(input_dir: Path) -> list[dict[str, Any]]:
    """Every record under `input_dir` (one JSONL per leaf), validated against record.schema.json.
    The evaluation items under `eval/` are not read, and no record may be one of them."""
    if not input_dir.is_dir():
        raise LabtaxError(f"{input_dir}: no generated data here; run `labtax generate` first or pass --input")
    check = validator("record.schema.json")
    held_out = eval_prompts(input_dir / EVAL_DIR)
    records = []
    for path in sorted(
        p
        for p in input_dir.rglob("*.jsonl")
        if EVAL_DIR not in p.relative_to(input_dir).parts[:1] and not is_dropped_file(p)
    ):
        for lineno, line in enumerate(path.read_bytes().split(b"\n"), 1):
            if line.strip():
                records.append(_record(path, lineno, line, check, held_out))
    return records


def _record(path: Path, lineno: int, line: bytes, check: Any, held_out: dict[str, str]) -> dict[str, Any]:
    """One JSONL line as a valid record, else a located error (bytes that are not UTF-8, a lone
    surrogate escape, bad JSON, a schema violation)."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LabtaxError(
            f"{path}:{lineno}:{exc.start + 1}: error[record] byte 0x{line[exc.start]:02x} is not valid UTF-8"
        ) from None
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LabtaxError(f"{path}:{lineno}:{exc.colno}: error[record] not valid JSON: {exc.msg}") from None
    try:  # JSON may escape half of a surrogate pair ("\ud800"): valid JSON, but not text
        json.dumps(record, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        match = re.search(r"\\u[dD][89a-fA-F]", text)
        column = match.start() + 1 if match else 1
        raise LabtaxError(
            f"{path}:{lineno}:{column}: error[record] holds a lone surrogate escape (half a UTF-16 pair), which is not text"
        ) from None
    _refuse_eval_item(path, lineno, record, held_out)
    error = next(iter(check.iter_errors(record)), None)
    if error is not None:
        where = ".".join(map(str, error.absolute_path)) or "(record)"
        raise LabtaxError(f"{path}:{lineno}:1: error[record] {where}: {error.message}")
    return record


def eval_prompts(folder: Path) -> dict[str, str]:
    """The user turn of every held-out evaluation prompt under `folder` -> where it is."""
    prompts = {}
    for path in sorted(folder.rglob("*.heldout.jsonl")) if folder.is_dir() else []:
        for lineno, item in jsonl_rows(path.read_text(encoding="utf-8"), str(path), "eval-item"):
            for turn in item.get("prompt", []):
                if isinstance(turn, dict) and turn.get("role") == "user":
                    prompts[str(turn.get("content"))] = f"{path}:{lineno}"
    return prompts


def _refuse_eval_item(path: Path, lineno: int, record: Any, held_out: dict[str, str]) -> None:
    """Evaluation items are never trained on: a file of them, or a record asking a held-out prompt, stops the mix."""
    if isinstance(record, dict) and "set" in record:
        raise LabtaxError(
            f"{path}:{lineno}:1: error[eval-item] an evaluation item (set {record['set']!r}); evaluation sets are never trained on"
        )
    users = (
        [
            m.get("content")
            for m in record.get("messages", [])
            if isinstance(m, dict) and m.get("role") == "user"
        ]
        if isinstance(record, dict)
        else []
    )
    clash = next((held_out[u] for u in users if u in held_out), None)
    if clash:
        raise LabtaxError(
            f"{path}:{lineno}:1: error[eval-item] this record asks the held-out evaluation prompt of {clash}; it would train on the evaluation set"
        )


def current_records(
    records: list[dict[str, Any]], manifest: dict[str, Any] | None, leaves: set[str]
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The records mix may train on, and how many it drops by reason. A record counts only when its
    leaf is a leaf of the taxonomy today (not deleted, not a link labtax never reads) and it was
    generated from the leaf version the manifest names (a leftover of an older run is not)."""
    kept, dropped = [], Counter[str]()
    entries = (manifest or {}).get("leaves", {})
    for record in records:
        entry = entries.get(record["leaf"])
        if record["leaf"] not in leaves:
            dropped[
                f"{record['leaf']}: the leaf is not in the taxonomy (deleted, or a link that is not read)"
            ] += 1
        elif entry is None:
            dropped[f"{record['leaf']}: not in {MANIFEST} (not written by labtax generate)"] += 1
        elif entry.get("leaf_hash") != record["provenance"]["leaf_hash"]:
            dropped[
                f"{record['leaf']}: generated from another version of the leaf than {MANIFEST} names"
            ] += 1
        else:
            kept.append(record)
    return kept, dict(sorted(dropped.items()))


def read_manifest(input_dir: Path) -> dict[str, Any] | None:
    """generate's manifest.json in `input_dir`, or None when there is none or it is not readable."""
    try:
        data = json.loads((input_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("leaves"), dict) else None


def taxonomy_leaves(config: Config) -> tuple[list[Leaf], list[str]]:
    """The leaves of the taxonomy labtax reads, and one line for each it cannot (a link leading
    outside, a file that does not load): those add nothing to any phase."""
    leaves, skipped = [], []
    for qna in find_leaves(config.taxonomy_root):
        try:
            leaves.append(
                load_leaf(config.root, qna.relative_to(config.root).as_posix(), config.data["taxonomy_root"])
            )
        except LabtaxError as exc:
            skipped.append(exc.message)
    return leaves, skipped


def seed_records(leaves: list[Leaf]) -> list[dict[str, Any]]:
    """The leaves' own seed examples as chat records. Knowledge seeds are asked without their
    passage (the student must learn the fact); grounded skills keep the context in the prompt."""
    out = []
    for leaf in leaves:
        for i, seed in enumerate(leaf.seed_examples):
            digest = hashlib.sha256(f"{leaf.path}\0{i}\0{seed.question}".encode()).hexdigest()[:32]
            messages = chat_messages(leaf, seed.question, seed.answer, seed.context)
            out.append(
                {"id": digest, "leaf": leaf.path, "branch": leaf.branch, "messages": messages, "seed": True}
            )
    return out


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


# ---- the three phases ----------------------------------------------------------------------------


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
    """The three phases' training (own + replayed, shuffled) and validation samples."""
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
    return out


# ---- stats and files -------------------------------------------------------------------------------


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
    """kt1.jsonl + kt1.val.jsonl, ... written into `output`; returns each file's sha256."""
    output.mkdir(parents=True, exist_ok=True)
    hashes = {}
    for phase, data in phases.items():
        for name, rows in ((f"{phase}.jsonl", data.train), (f"{phase}.val.jsonl", data.validation)):
            write_text_atomic(output / name, _jsonl(rows))
            hashes[name] = file_sha256(output / name)
    return hashes


def check_mix(folder: Path) -> None:
    """Refuse phase files that are not the ones `mix.json` describes (a mix that died while publishing,
    a file edited by hand): training on them would train on a set no mix wrote."""
    try:
        stats = json.loads((folder / STATS).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return  # phase files written by hand: nothing to check them against
    except (OSError, ValueError) as exc:
        raise LabtaxError(f"{folder / STATS}: cannot be read ({exc}); run `labtax mix` again") from None
    for name, digest in sorted((stats.get("files") or {}).items()):
        path = folder / name
        if not path.is_file() or file_sha256(path) != digest:
            raise LabtaxError(
                f"{path}: does not match {folder / STATS} (missing, edited, or from another mix run); run `labtax mix` again"
            )


def mix(
    config: Config,
    input_dir: Path | None = None,
    output_dir: Path | None = None,
    seed: int | None = None,
    tokenizer_path: str | None = None,
) -> dict[str, Any]:
    """Build the phase datasets and mix.json, published together; returns the mix.json content."""
    settings = config.section("mix")
    seed = settings["seed"] if seed is None else seed
    input_dir = input_dir or config.root / settings["input"]
    output_dir = (output_dir or config.root / settings["output"]).absolute()
    if tokenizer_path is None and settings["tokenizer"]:  # labtax.yaml paths are relative to its folder
        tokenizer_path = str(config.root / settings["tokenizer"])
    tokenizer_path = tokenizer_path or str(embedded_model_dir())
    tokenizer = load_tokenizer(tokenizer_path)
    leaves, skipped = taxonomy_leaves(config)
    records, dropped = current_records(
        read_generated(input_dir), read_manifest(input_dir), {leaf.path for leaf in leaves}
    )
    seeds = seed_records(leaves) if settings["include_seeds"] else []
    phases = build_phases(to_samples(records + seeds, tokenizer), settings, seed)
    if not any(split_.train for split_ in phases.values()):
        raise LabtaxError(
            f"no samples to mix from {input_dir} and the taxonomy's seeds; nothing written", EXIT_FINDINGS
        )
    stats = {
        "seed": seed,
        "tokenizer": tokenizer_path,
        "taxonomy_commit": head_commit(config.root),
        "inputs": {
            "generated": len(records),
            "seed_examples": len(seeds),
            "folder": str(input_dir),
            "root": str(config.root),
            "leaves_without_generated": sorted({leaf.path for leaf in leaves} - {r["leaf"] for r in records}),
        },
        "dropped": dropped,
        "skipped_leaves": skipped,
        "settings": {
            k: settings[k] for k in ("short_max_tokens", "validation_fraction", "replay", "include_seeds")
        },
        "phases": {phase: phase_stats(data) for phase, data in phases.items()},
    }

    def write(staged: Path) -> None:
        stats["files"] = write_phases(phases, staged)
        write_text_atomic(staged / STATS, json.dumps(stats, indent=2) + "\n")

    publish_set(output_dir, OWN_FILES, "labtax mix", write)
    return stats
