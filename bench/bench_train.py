"""Benchmark for mix and train.

1. Packing efficiency on the mixed starter data (the repository's taxonomy seeds plus any records
   in generated/), tokenized with the embedded student: token-budgeted packing against plain
   padding with the same number of samples per micro-batch.
2. Optimizer steps per second of the embedded student (SmolLM2-135M) on CPU at ZeRO-2, through
   the real launcher (torchrun + DeepSpeed, gloo).
3. With CUDA only: tokens/s and model FLOPs utilisation of the embedded student (135M) in bf16 on
   one GPU (skipped, with a note, without one).

    .venv/bin/python bench/bench_train.py [--steps 6] [--nproc 1] [--skip-cpu]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
os.environ.setdefault("TORCH_EXTENSIONS_DIR", str(REPO / ".torch_extensions"))
PEAK_BF16_TFLOPS = {"H100": 989.0, "H200": 989.0, "A100": 312.0, "L4": 121.0, "A10": 125.0}


def mixed_starter(out: Path) -> Path:
    from labtax.config import load_config
    from labtax.mix import mix

    generated = REPO / "generated"
    if not generated.is_dir():
        generated = out / "generated-empty"
        generated.mkdir()
    mix(load_config(REPO), input_dir=generated, output_dir=out / "data")
    return out / "data"


def packing_figures(data: Path, budget: int, max_len: int) -> list[dict]:
    from labtax.models.embedded import embedded_model_dir
    from labtax.models.tokenize import load_tokenizer
    from labtax.train.data import encode_file
    from labtax.train.packing import epoch_steps, packing_efficiency, padding_efficiency

    tok = load_tokenizer(str(embedded_model_dir()))
    rows = []
    for phase in ("kt1", "kt2", "st"):
        samples = encode_file(data / f"{phase}.jsonl", tok, max_len)
        if not samples:
            continue
        lengths = [len(s) for s in samples]
        steps = epoch_steps(samples, len(samples), budget, 1, seed=0)  # one step: pack the whole phase
        bins = [m for s in steps for r in s.per_rank for m in r if m]
        per_micro = max(1, round(len(samples) / len(bins)))
        order = [i for b in bins for i in b]  # same samples, same order; padded per micro-batch instead
        rows.append(
            {
                "phase": phase,
                "samples": len(samples),
                "tokens": sum(lengths),
                "micro_batches": len(bins),
                "samples_per_micro_batch": round(len(samples) / len(bins), 2),
                "packing_efficiency": round(packing_efficiency(lengths, bins, 8), 4),
                "budget_fill": round(sum(lengths) / (len(bins) * budget), 4),
                "padding_efficiency": round(
                    padding_efficiency(sorted_by(order, lengths, shuffled=True), per_micro), 4
                ),
            }
        )
    return rows


def sorted_by(order: list[int], lengths: list[int], shuffled: bool) -> list[int]:
    import random

    seq = [lengths[i] for i in order]
    if shuffled:  # a plain data loader sees samples in random order
        random.Random(0).shuffle(seq)
    return seq


def cpu_steps_per_second(data: Path, work: Path, steps: int, nproc: int) -> dict:
    from labtax.train import metrics
    from labtax.train.config import load_train_config
    from labtax.train.launch import train

    config = load_train_config(
        REPO / "configs" / "train.yaml",
        [
            f"data_dir={data}",
            f"output_dir={work / 'run'}",
            "schedule=[kt1]",
            "phases.kt1.epochs=1",
            "defaults.effective_batch_size=4",
            "defaults.max_seq_len=512",
            "defaults.micro_batch_tokens=1024",
            "defaults.zero_stage=2",
            "eval_at_start=false",
            f"nproc={nproc}",
        ],
    )
    began = time.perf_counter()
    train(config, echo=lambda line: None)
    wall = time.perf_counter() - began
    rows = [m for m in metrics.read(work / "run") if m["kind"] == "step"][: steps + 1]
    span = rows[-1]["time"] - rows[0]["time"]
    return {
        "processes": nproc,
        "steps_timed": len(rows) - 1,
        "steps_per_s": round((len(rows) - 1) / span, 3),
        "tokens_per_s": round(statistics.mean(r["tokens_per_s"] for r in rows[1:]), 1),
        "samples_per_step": 4,
        "wall_s_including_startup_and_checkpoint": round(wall, 1),
    }


def gpu_figures(seconds: float = 20.0) -> dict:
    import torch

    if not torch.cuda.is_available():
        return {"skipped": "no CUDA device"}
    from transformers import AutoModelForCausalLM

    from labtax.models.embedded import embedded_model_dir

    model = AutoModelForCausalLM.from_pretrained(
        embedded_model_dir(), dtype=torch.bfloat16, attn_implementation="sdpa"
    ).cuda()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5, fused=True)
    params = sum(p.numel() for p in model.parameters())
    seq, batch = 2048, 8
    ids = torch.randint(0, model.config.vocab_size, (batch, seq), device="cuda")
    done, began = 0, None
    for i in range(10_000):
        loss = model(input_ids=ids, labels=ids, use_cache=False).loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        if i == 2:  # warm-up done
            torch.cuda.synchronize()
            began, done = time.perf_counter(), 0
        elif began is not None:
            done += batch * seq
            if time.perf_counter() - began > seconds:
                break
    torch.cuda.synchronize()
    tps = done / (time.perf_counter() - began)
    name = torch.cuda.get_device_name()
    peak = next((v for k, v in PEAK_BF16_TFLOPS.items() if k in name), None)
    # 6 FLOPs per parameter per token (forward + backward), plus attention: 12 * layers * hidden * seq.
    cfg = model.config
    flops_per_token = 6 * params + 12 * cfg.num_hidden_layers * cfg.hidden_size * seq
    return {
        "device": name,
        "params": params,
        "tokens_per_s": round(tps),
        "seq_len": seq,
        "batch": batch,
        "mfu": round(tps * flops_per_token / (peak * 1e12), 4) if peak else None,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--nproc", type=int, default=1)
    parser.add_argument("--skip-cpu", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        data = mixed_starter(work)
        result = {"packing": packing_figures(data, budget=2048, max_len=2048)}
        if not args.skip_cpu:
            result["cpu_zero2"] = cpu_steps_per_second(data, work, args.steps, args.nproc)
        result["gpu_bf16"] = gpu_figures()
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
