"""Text summaries of mix and train results for the CLI: formatting happens here only."""

from __future__ import annotations

from typing import Any

from labtax.phases import PHASE_NAMES
from labtax.train.select import decided_by


def mix_summary(stats: dict[str, Any]) -> str:
    lines = [
        f"mixed {stats['inputs']['generated']} generated records and "
        f"{stats['inputs']['seed_examples']} seed examples (seed {stats['seed']})"
    ]
    for phase, s in stats["phases"].items():
        replay = ", ".join(f"{n} from {PHASE_NAMES[o]}" for o, n in s["replayed"].items()) or "none"
        sources = s.get("by_source", {})
        lines.append(
            f"  {PHASE_NAMES[phase]:7} train {s['train']:6} "
            f"(generated {sources.get('generated', 0)}, seed {sources.get('seed', 0)})  "
            f"validation {s['validation']:5}  tokens {s['tokens']['train']:9,}  replayed: {replay}"
        )
    lines += [f"warning: dropped {n} record(s) of {why}" for why, n in stats.get("dropped", {}).items()]
    lines += [f"warning: skipped {why}" for why in stats.get("skipped_leaves", [])]
    return "\n".join(lines)


def mix_warnings(stats: dict[str, Any]) -> list[str]:
    """Leaves that give the student no generated record (only their seeds, if any): worth a look
    before training."""
    missing = stats["inputs"].get("leaves_without_generated", [])
    return [
        f"warning: {path}: no generated record (run `labtax generate` for it, or see `labtax report`)"
        for path in missing
    ]


PLAN_COLUMNS = (
    ("samples", "samples"),
    ("validation", "val"),
    ("tokens", "tokens"),
    ("epochs", "epochs"),
    ("optimizer_steps", "opt steps"),
    ("effective_batch_size", "batch"),
    ("micro_batch_tokens", "micro tok"),
    ("gradient_accumulation", "grad acc"),
    ("warmup_steps", "warm-up"),
    ("lr", "lr"),
    ("zero_stage", "ZeRO"),
    ("packing_efficiency", "packing"),
)


def plan_table(plan: list[dict[str, Any]], world: int) -> str:
    header = ["phase", *(title for _, title in PLAN_COLUMNS), "replayed"]
    rows = []
    for p in plan:
        replay = ", ".join(f"{n} {PHASE_NAMES.get(o, o)}" for o, n in p["replayed"].items()) or "-"
        rows.append([PHASE_NAMES[p["phase"]], *(_cell(key, p[key]) for key, _ in PLAN_COLUMNS), replay])
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    out = [f"plan for {world} process(es):"]
    out += ["  " + "  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in [header, *rows]]
    truncated = [f"{PHASE_NAMES[p['phase']]} {p['truncated']}" for p in plan if p["truncated"]]
    if truncated:
        out.append("  truncated to max_seq_len: " + ", ".join(truncated))
    # transformers' warm-up trains step i (from 1) at lr * (i-1)/W: with W >= N steps the phase never
    # trains at its learning rate (metrics.jsonl logs the rate each step trained at, so it agrees).
    short = [
        f"{PHASE_NAMES[p['phase']]} ({p['warmup_steps']} warm-up, {p['optimizer_steps']} steps: "
        f"the last step trains at {(p['optimizer_steps'] - 1) / p['warmup_steps']:.0%} of lr)"
        for p in plan
        if p["warmup_steps"] >= p["optimizer_steps"] > 0
    ]
    if short:
        out.append(
            "  warning: warm-up covers the whole phase, the full lr is never reached: " + ", ".join(short)
        )
    return "\n".join(out)


def loss(value: float | None) -> str:
    """A loss as people read it: 4 decimals (2.2810, not 2.2810039967998095)."""
    return "n/a" if value is None else f"{value:.4f}"


def _cell(key: str, value: Any) -> str:
    if key == "packing_efficiency":
        return f"{value:.1%}"
    return f"{value:g}" if isinstance(value, float) else str(value)


def train_summary(result: dict[str, Any]) -> str:
    if "plan" in result:
        return (
            plan_table(result["plan"], result["world_size"]) + "\ncommand:\n  " + " ".join(result["command"])
        )
    lines = ["training finished:"]
    for phase in result["schedule"]:
        entry = result["phases"][phase]
        chosen = entry.get("chosen")
        what = (
            f"epoch {chosen['epoch']} by {decided_by(chosen)}: {chosen.get('why', '')}"
            if chosen
            else entry["status"]
        )
        if entry.get("eval_s"):
            what += f"; scoring took {entry['eval_s']:.0f} s"
        if chosen and "test_accuracy" in chosen:
            shown = "n/a" if chosen["test_accuracy"] is None else f"{chosen['test_accuracy']:.3f}"
            what += f"; test pair accuracy {shown} ({chosen['test_pairs']} pairs)"
        lines.append(f"  {PHASE_NAMES[phase]:6} {what}")
    lines.append(f"final checkpoint: {result['final_checkpoint']}")
    if result.get("reward_model"):
        lines.append(f"reward model: {result['reward_model']}")
    if result.get("plot"):
        lines.append(f"loss plot: {result['plot']}")
    return "\n".join(lines)
