"""Where one optimizer step of the embedded student goes: time per part and peak memory.

Each variant runs in its own process (so its peak resident set is its own): the student in fp32
on CPU, one optimizer step over packed 2,048-token micro-batches of the starter data, timed as
forward / loss / backward / optimizer, after one untimed warm-up step.

    .venv/bin/python bench/profile_train.py [--micro-batches 2] [--variants full-ds,label-torch,...]

Variants: `<loss>-<engine>[-ckpt]`; loss `full` (fp32 logits of every token, then
cross-entropy: the old path) or `label` (labtax.train.loss: label tokens only, chunked); engine
`ds` (DeepSpeed ZeRO-2, one gloo process) or `torch` (labtax.train.engine); `-ckpt` turns on
gradient checkpointing.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
DEFAULT = "full-ds,label-ds,full-torch,label-torch,label-torch-ckpt"


def micro_batches(data: Path, count: int) -> list[list]:
    from labtax.models.embedded import embedded_model_dir
    from labtax.models.tokenize import load_tokenizer
    from labtax.train.data import encode_file
    from labtax.train.packing import epoch_steps

    samples = encode_file(data / "kt1.jsonl", load_tokenizer(str(embedded_model_dir())), 1024)
    step = epoch_steps(samples, len(samples), 2048, 1, seed=0)[0]
    return [[samples[i] for i in micro] for micro in step.per_rank[0][:count]]


def engine_for(kind: str, model, total: int):
    import torch
    from transformers import get_scheduler

    from labtax.train.engine import TorchEngine

    opt = torch.optim.AdamW(model.parameters(), lr=2e-5, fused=True)
    sched = get_scheduler("constant_with_warmup", opt, num_warmup_steps=2, num_training_steps=total)
    if kind == "torch":
        return TorchEngine(model, opt, sched, 1.0)
    import deepspeed

    config = {
        "train_micro_batch_size_per_gpu": 1,
        "gradient_accumulation_steps": 1,
        "train_batch_size": 1,
        "gradient_clipping": 1.0,
        "zero_optimization": {"stage": 2},
        "zero_force_ds_cpu_optimizer": False,
        "zero_allow_untested_optimizer": True,
        "steps_per_print": 2**31,
    }
    deepspeed.init_distributed(dist_backend="gloo")
    return deepspeed.initialize(model=model, optimizer=opt, lr_scheduler=sched, config=config)[0]


def one_step(engine, micros: list, label_only: bool, pad: int) -> dict[str, float]:
    import torch

    from labtax.train.loss import label_positions, linear_cross_entropy, plain_cross_entropy
    from labtax.train.packing import collate

    spent = {"forward": 0.0, "loss": 0.0, "backward": 0.0, "optimizer": 0.0}
    for k, samples in enumerate(micros):
        batch = {key: torch.tensor(v) for key, v in collate(samples, 8, pad).items()}
        inputs = {"input_ids": batch["input_ids"], "position_ids": batch["position_ids"], "use_cache": False}
        t0 = time.perf_counter()
        if label_only:
            hidden = engine.module.get_decoder()(**inputs).last_hidden_state[0]
            t1 = time.perf_counter()
            where, targets = label_positions(batch["labels"][0])
            loss = linear_cross_entropy(hidden[where], engine.module.get_output_embeddings().weight, targets)
        else:
            logits = engine(**inputs).logits[0]
            t1 = time.perf_counter()
            loss = plain_cross_entropy(logits, batch["labels"][0])
        t2 = time.perf_counter()
        engine.set_gradient_accumulation_boundary(k == len(micros) - 1)
        engine.backward(loss / 1000, scale_wrt_gas=False)
        t3 = time.perf_counter()
        engine.step()
        t4 = time.perf_counter()
        for key, span in zip(spent, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
            spent[key] += span
    return spent


def variant(name: str, data: Path, count: int) -> dict:
    import torch
    from transformers import AutoModelForCausalLM

    from labtax.models.embedded import embedded_model_dir

    loss_kind, engine_kind, *rest = name.split("-")
    micros = micro_batches(data, count)
    model = AutoModelForCausalLM.from_pretrained(
        embedded_model_dir(), dtype=torch.float32, attn_implementation="sdpa"
    )
    if rest:
        model.gradient_checkpointing_enable()
    model.train()  # from_pretrained gives eval mode, where transformers skips gradient checkpointing
    model.config.use_cache = False
    engine = engine_for(engine_kind, model, 10)
    rss_loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    one_step(engine, micros, loss_kind == "label", 2)  # warm-up: optimizer state appears here
    spent = one_step(engine, micros, loss_kind == "label", 2)
    tokens = sum(len(s) for m in micros for s in m)
    return {
        "variant": name,
        "tokens": tokens,
        **{k: round(v, 2) for k, v in spent.items()},
        "tokens_per_s": round(tokens / sum(spent.values()), 1),
        "rss_after_load_gb": round(rss_loaded, 2),
        "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--micro-batches", type=int, default=2)
    parser.add_argument("--variants", default=DEFAULT)
    parser.add_argument("--one", nargs=2, metavar=("VARIANT", "DATA"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(variant(args.one[0], Path(args.one[1]), args.micro_batches)))
        return 0
    from bench_train_trl import bench_data

    env = {
        **os.environ,
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": "29533",
        "RANK": "0",
        "WORLD_SIZE": "1",
        "LOCAL_RANK": "0",
        "PYTHONPATH": str(REPO / "src"),
        "HF_HUB_OFFLINE": "1",
    }
    with tempfile.TemporaryDirectory() as tmp:
        data = bench_data(Path(tmp), 64)
        for name in args.variants.split(","):
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--one",
                    name,
                    str(data),
                    "--micro-batches",
                    str(args.micro_batches),
                ],
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
            print(lines[-1] if lines else f"{name} failed:\n{out.stderr[-2000:]}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
