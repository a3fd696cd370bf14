"""`labtax mix`: the LAB phase datasets, KT/1 -> KT/2 -> ST, with replay buffers, and the stacked set.

| phase   | own samples                                        | replayed              |
| kt1     | knowledge, short responses                         | none                  |
| kt2     | knowledge, long responses; foundational skills     | a share of KT/1       |
| st      | compositional skills                               | shares of KT/1, KT/2  |
| stacked | the own samples of kt1, kt2 and st, in one phase   | none                  |

Own samples are the generated records plus the leaves' seed examples. Each phase holds out a
validation split of its own samples; replay draws only from earlier phases' training splits, so
no validation sample is ever trained on. The stacked set (the alternative to the LAB schedule) is
the union of the three phases' training splits and of their validation splits, so a stacked run
and a LAB run train on the same samples. Everything is sorted before a seeded shuffle, so the
output depends on the seed and the inputs, never on file order.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from labtax.config import Config
from labtax.errors import EXIT_FINDINGS, LabtaxError
from labtax.files import file_sha256, write_text_atomic
from labtax.generate.output import EVAL_DIR
from labtax.mix.contamination import eval_texts, message_texts, refuse_contaminated
from labtax.mix.datasets import Split, build_phases, phase_stats, to_samples, write_phases
from labtax.mix.inputs import (
    current_records,
    read_generated,
    read_generated_at,
    read_manifest,
    seed_locations,
    seed_records,
    taxonomy_leaves,
)
from labtax.models.embedded import embedded_model_dir
from labtax.models.tokenize import load_tokenizer
from labtax.overlap import TrainText, check
from labtax.phases import MIX_PHASES
from labtax.publish import publish_set
from labtax.taxonomy.git import head_commit

__all__ = ["STATS", "check_mix", "mix", "read_generated"]

STATS = "mix.json"
OWN_FILES = frozenset({STATS, *(f"{p}{suffix}" for p in MIX_PHASES for suffix in (".jsonl", ".val.jsonl"))})


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
                f"{path}: does not match {folder / STATS} (missing, edited, or from another mix run); "
                "run `labtax mix` again"
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
    located = read_generated_at(input_dir)
    records, dropped = current_records(
        [record for _, record in located], read_manifest(input_dir), {leaf.path for leaf in leaves}
    )
    seeds = seed_records(leaves) if settings["include_seeds"] else []
    phases = build_phases(to_samples(records + seeds, tokenizer), settings, seed)
    if not any(split_.train for split_ in phases.values()):
        raise LabtaxError(
            f"no samples to mix from {input_dir} and the taxonomy's seeds; nothing written", EXIT_FINDINGS
        )
    where = {record["id"]: at for at, record in located} | seed_locations(config.root, leaves)
    clean = check_clean(input_dir / EVAL_DIR, phases, where, config.section("eval"))
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
        "contamination": clean,
    }

    def write(staged: Path) -> None:
        stats["files"] = write_phases(phases, staged)
        write_text_atomic(staged / STATS, json.dumps(stats, indent=2) + "\n")

    publish_set(output_dir, OWN_FILES, "labtax mix", write)
    return stats


def check_clean(
    eval_dir: Path, phases: dict[str, Split], where: dict[str, str], settings: dict[str, Any]
) -> dict[str, Any]:
    """Refuse to mix when an evaluation item under `eval_dir` is over the contamination threshold
    against the training splits (what training reads; validation samples are never trained on)."""
    n, threshold = settings["contamination_ngram"], settings["contamination_threshold"]
    samples = {s.id: s for split_ in phases.values() for s in split_.train}  # a replayed sample once
    records = [TrainText(where.get(i, f"record {i}"), message_texts(s.messages)) for i, s in samples.items()]
    overlaps = check(eval_texts(eval_dir), records, n, threshold)
    refuse_contaminated(overlaps, n, threshold)
    return {
        "ngram": n,
        "threshold": threshold,
        "items": len(overlaps),
        "max_overlap": round(max((o.share for o in overlaps), default=0.0), 4),
    }
