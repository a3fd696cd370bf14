"""labtax's preference phases against TRL's RewardTrainer and DPOTrainer on the same pairs.

Two comparisons, each one epoch of the embedded student (SmolLM2-135M-Instruct, fp32 on CPU, bf16
on CUDA) on the same preference pairs, in TRL's conversational format (prompt / chosen / rejected
message lists, which TRL takes unchanged):

1. reward model: labtax `train` with `schedule: [reward]` against TRL `RewardTrainer`. Both put a
   one-output sequence-classification head on the student and minimise -log sigmoid(r_w - r_l)
   (labtax's `reward_l2` is set to 0, as TRL has no such term); lr 1e-5.
2. DPO: labtax `train` with `schedule: [dpo]` against TRL `DPOTrainer` (sigmoid loss, beta 0.1,
   lr 5e-7). The reference is the starting weights in both: labtax scores every pair with them
   once before the first step; TRL runs with `precompute_ref_log_probs=True` (where its DPOConfig
   has it; the output says) and no `ref_model`, so it does the same and neither keeps a second model.

Shared settings: 4 pairs per optimizer step (labtax `effective_batch_size: 4`, one packed
micro-batch of at most 4,096 tokens; TRL `per_device_train_batch_size=4`, padded, no accumulation),
sequences up to 1,024 tokens (no pair of the data is longer), AdamW with a constant rate and no
warm-up, gradient clipping at 1.0, gradient checkpointing on (labtax's shipped preference configs
and TRL's default), seed 42, no evaluation, one checkpoint at the end. labtax runs
`labtax train --config configs/train-preferences.yaml` with those settings as `--set` overrides
(engine auto: plain torch for one process, nproc 1, eval_at_start false, selector last).

Each run is its own command under `/usr/bin/time -v` (peak: the largest resident set of any of its
processes, start-up and checkpoint included). Tokens/s is over the optimizer steps only: labtax's
tokens and step seconds from RUN/metrics.jsonl, TRL's `train_runtime` with the tokens of both
sequences (prompt + answer) of every pair as TRL tokenized them. Neither includes the DPO
reference pass, which both do before training; `setup_s` (model load, tokenization and, for DPO,
the reference pass) is shown apart. TRL is a benchmark-only dependency: `pip install -e '.[bench-trl]'`.

    .venv/bin/python bench/bench_preference_train.py [--pairs 64] [--objective reward|dpo|both]
        [--only labtax|trl]

The data: the starter taxonomy's seed examples (every leaf's, as `labtax eval`'s seed set asks
them); for each seed question, chosen = its seed answer, rejected = the seed answer of the question
half the list further on (one further per extra cycle), cycled to `--pairs` pairs.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
os.environ.setdefault("TORCH_EXTENSIONS_DIR", str(REPO / ".torch_extensions"))
SEED, BATCH, MAX_LEN, BUDGET, CHECKPOINTING = 42, 4, 1024, 4096, True
LR = {"reward": 1e-5, "dpo": 5e-7}
BETA = 0.1


def bench_data(work: Path, pairs: int) -> Path:
    """A preferences folder whose reward.jsonl and dpo.jsonl hold the same `pairs` pairs (no
    val.jsonl or test.jsonl: neither tool evaluates)."""
    from labtax.config import load_config
    from labtax.eval.sets import seed_items
    from labtax.preferences import preference_row

    items = seed_items(load_config(REPO))
    n = len(items)
    rows = []
    for i in range(pairs):
        cycle, k = divmod(i, n)
        other = items[(k + n // 2 + cycle) % n]
        if other.reference.strip() == items[k].reference.strip():  # n // 2 + cycle a multiple of n
            other = items[(k + 1) % n]
        rows.append(
            preference_row(
                list(items[k].prompt),
                items[k].reference,
                other.reference,
                leaf=items[k].leaf,
                question_id=f"{i}-{items[k].id}",
            )
        )
    out = work / "preferences"
    out.mkdir()
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    for split in ("reward", "dpo"):
        (out / f"{split}.jsonl").write_text(text, encoding="utf-8")
    return out


def run_labtax(objective: str, data: Path, work: Path) -> dict:
    from bench_train_trl import timed

    run = work / "labtax-run"
    p = f"phases.{objective}"
    sets = [
        f"preferences_dir={data}",
        f"output_dir={run}",
        f"schedule=[{objective}]",
        "engine=auto",
        "nproc=1",
        "precision=auto",
        f"gradient_checkpointing={str(CHECKPOINTING).lower()}",
        "eval_at_start=false",
        f"seed={SEED}",
        "selector=last",
        f"{p}.selector=last",
        f"{p}.epochs=1",
        f"{p}.lr={LR[objective]:.1e}",
        f"{p}.warmup_steps=0",
        f"{p}.scheduler=constant_with_warmup",
        f"{p}.effective_batch_size={BATCH}",
        f"{p}.max_seq_len={MAX_LEN}",
        f"{p}.micro_batch_tokens={BUDGET}",
        f"{p}.reward_l2=0.0" if objective == "reward" else f"{p}.dpo_beta={BETA}",
    ]
    cmd = [
        sys.executable,
        "-c",
        "from labtax.cli import main; main()",
        "train",
        "--config",
        str(REPO / "configs/train-preferences.yaml"),
    ]
    for s in sets:
        cmd += ["--set", s]
    result = timed(cmd, work / "labtax.log")
    steps = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    steps = [s for s in steps if s["kind"] == "step" and s["phase"] == objective]
    train_s = sum(s["tokens"] / s["tokens_per_s"] for s in steps)
    started = json.loads((run / "journal.json").read_text())["phases"][objective]["started"]
    first = steps[0]
    setup_s = first["time"] - first["tokens"] / first["tokens_per_s"] - started
    return {
        **result,
        "tokens": sum(s["tokens"] for s in steps),
        "train_s": round(train_s, 1),
        "setup_s": round(setup_s, 1),
        "steps": len(steps),
        "losses": [round(s["loss"], 4) for s in steps],
    }


def run_trl(objective: str, data: Path, work: Path) -> dict:
    from bench_train_trl import timed

    cmd = [sys.executable, __file__, "--trl-worker", objective, str(data), str(work / "trl-run")]
    result = timed(cmd, work / "trl.log")
    out = json.loads((work / "trl-run" / "result.json").read_text())
    return {**result, **out, "losses": [round(x, 4) for x in out["losses"]]}


def trl_worker(objective: str, data: Path, out: Path) -> None:
    """The TRL side, in its own process: RewardTrainer or DPOTrainer on the same pairs."""
    import torch
    from datasets import load_dataset
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer, set_seed

    from labtax.models.embedded import embedded_model_dir

    began = time.perf_counter()
    cuda = torch.cuda.is_available()
    model_dir = str(embedded_model_dir())
    dataset = load_dataset("json", data_files=str(data / f"{objective}.jsonl"), split="train")
    common = {
        "output_dir": str(out),
        "per_device_train_batch_size": BATCH,
        "gradient_accumulation_steps": 1,
        "learning_rate": LR[objective],
        "lr_scheduler_type": "constant",
        "warmup_steps": 0,
        "num_train_epochs": 1,
        "max_length": MAX_LEN,
        "seed": SEED,
        "gradient_checkpointing": CHECKPOINTING,
        "bf16": cuda,
        "use_cpu": not cuda,
        "logging_steps": 1,
        "save_strategy": "no",
        "eval_strategy": "no",
        "report_to": [],
        "dataloader_num_workers": 0,
        "max_grad_norm": 1.0,
        "weight_decay": 0.0,
    }
    kwargs = {"dtype": torch.bfloat16 if cuda else torch.float32, "attn_implementation": "sdpa"}
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    extra = {}
    if objective == "reward":
        from trl import RewardConfig, RewardTrainer

        set_seed(SEED)  # the new head's initialisation
        model = AutoModelForSequenceClassification.from_pretrained(model_dir, num_labels=1, **kwargs)
        trainer = RewardTrainer(
            model=model, args=RewardConfig(**common), train_dataset=dataset, processing_class=tokenizer
        )
        lengths = [len(r["chosen_ids"]) + len(r["rejected_ids"]) for r in trainer.train_dataset]
    else:
        from trl import DPOConfig, DPOTrainer

        fields = {f.name for f in dataclasses.fields(DPOConfig)}
        precompute = "precompute_ref_log_probs" in fields
        if precompute:
            common["precompute_ref_log_probs"] = True
        extra = {"precompute_ref_log_probs": precompute}
        model = AutoModelForCausalLM.from_pretrained(model_dir, **kwargs)
        # No ref_model: TRL takes the starting weights as the reference (scored up front with precompute).
        trainer = DPOTrainer(
            model=model,
            args=DPOConfig(beta=BETA, loss_type=["sigmoid"], **common),
            train_dataset=dataset,
            processing_class=tokenizer,
        )
        lengths = [
            2 * len(r["prompt_ids"]) + len(r["chosen_ids"]) + len(r["rejected_ids"])
            for r in trainer.train_dataset
        ]
    setup_s = time.perf_counter() - began
    train_s = trainer.train().metrics["train_runtime"]
    trainer.save_model(str(out / "final"))
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    (out / "result.json").write_text(
        json.dumps(
            {
                "tokens": sum(lengths),
                "pairs": len(lengths),
                "train_s": round(train_s, 1),
                "setup_s": round(setup_s, 1),
                "steps": len(losses),
                "losses": losses,
                **extra,
            }
        )
    )


def compare(runs: dict[str, dict]) -> dict:
    table = {
        tool: {
            "tokens": r["tokens"],
            "tokens_per_s": round(r["tokens"] / r["train_s"], 1),
            "train_s": r["train_s"],
            "setup_s": r["setup_s"],
            "wall_s": r["wall_s"],
            "cpu_s": r["cpu_s"],
            "peak_rss_gb": r["peak_rss_gb"],
            "steps": r["steps"],
            "first_losses": r["losses"][:3],
            "last_losses": r["losses"][-3:],
            **(
                {"precompute_ref_log_probs": r["precompute_ref_log_probs"]}
                if "precompute_ref_log_probs" in r
                else {}
            ),
        }
        for tool, r in runs.items()
    }
    if len(table) == 2:
        table["ratio_labtax_over_trl"] = {
            "tokens_per_s": round(table["labtax"]["tokens_per_s"] / table["trl"]["tokens_per_s"], 3),
            "peak_rss": round(table["labtax"]["peak_rss_gb"] / table["trl"]["peak_rss_gb"], 3),
            "wall": round(table["labtax"]["wall_s"] / table["trl"]["wall_s"], 3),
        }
    return table


def print_table(results: dict[str, dict]) -> None:
    print(
        "| objective | tool | tokens | steps | tokens/s (steps) | set-up s | wall s | CPU s | peak RSS GB |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for objective, table in results.items():
        for tool in ("labtax", "trl"):
            if tool in table:
                t = table[tool]
                print(
                    f"| {objective} | {tool} | {t['tokens']:,} | {t['steps']} | {t['tokens_per_s']} | "
                    f"{t['setup_s']} | {t['wall_s']} | {t['cpu_s']} | {t['peak_rss_gb']} |"
                )
        if "ratio_labtax_over_trl" in table:
            r = table["ratio_labtax_over_trl"]
            print(
                f"| {objective} | labtax / TRL | | | {r['tokens_per_s']} x | | "
                f"{r['wall']} x | | {r['peak_rss']} x |"
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=64)
    parser.add_argument("--objective", choices=["reward", "dpo", "both"], default="both")
    parser.add_argument("--only", choices=["labtax", "trl"])
    parser.add_argument("--trl-worker", nargs=3, metavar=("OBJECTIVE", "DATA", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.trl_worker:
        objective, data, out = args.trl_worker
        trl_worker(objective, Path(data), Path(out))
        return 0
    objectives = ["reward", "dpo"] if args.objective == "both" else [args.objective]
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        # TRL caches the reference log-probs by data set and model: a private cache, so no run
        # reuses another's.
        os.environ["HF_DATASETS_CACHE"] = str(work / "hf-datasets")
        data = bench_data(work, args.pairs)
        for n, objective in enumerate(objectives):
            # The second objective runs TRL first: a machine shared with other work drifts in load.
            tools = ("labtax", "trl") if n % 2 == 0 else ("trl", "labtax")
            runs = {}
            for tool in tools:
                if args.only in (None, tool):
                    run_dir = work / f"{objective}-{tool}"
                    run_dir.mkdir()
                    runs[tool] = (run_labtax if tool == "labtax" else run_trl)(objective, data, run_dir)
                    r = runs[tool]
                    print(
                        f"{objective} {tool}: {r['wall_s']} s ({r['cpu_s']} CPU s), "
                        f"peak {r['peak_rss_gb']} GB",
                        flush=True,
                    )
            results[objective] = compare(runs)
    print(json.dumps({"pairs": args.pairs, **results}, indent=2))
    print_table(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
