"""labtax train against TRL's SFTTrainer on the same data, side by side.

Both train the embedded student (SmolLM2-135M-Instruct, fp32 on CPU, bf16 on CUDA) for one epoch
on the same chat samples: packing into 2,048-token rows, loss on the assistant reply only, AdamW
at 2e-5 with 2 warm-up steps then constant, seed 42, about 16 samples per optimizer step, one
checkpoint at the end. labtax runs `labtax train --phases kt1` with configs/train.yaml; TRL runs
`SFTTrainer` with its defaults otherwise (a prompt-completion data set: the conversation up to
the last reply is the prompt). Each run is its own command under `/usr/bin/time -v`, so the peak
memory is the largest resident set of any process of the run, start-up and checkpoint included.

TRL is a benchmark-only dependency, in its own extra (not in `all`):
`.venv/bin/python -m pip install -e '.[bench-trl]'` (or `pip install trl`; it leaves torch at 2.13.0:
the train extra already brings transformers, accelerate and datasets). On a CUDA machine both
tools train in bf16 and the result adds each one's model FLOPs utilisation.

    .venv/bin/python bench/bench_train_trl.py [--samples 608] [--rounds 1] [--only labtax|trl]
    .venv/bin/python bench/bench_train_trl.py --three-phase [N]   # the default config, all three phases
    .venv/bin/python bench/bench_train_trl.py --same-order [PNG]  # loss curves on identical steps

The data: the starter taxonomy's seed examples through `labtax mix`, all three phases' training
samples cycled to `--samples` conversations (608 is about 72,000 tokens).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
SEED, LR, WARMUP, BUDGET = 42, 2e-5, 2, 2048
STEP_SAMPLES = 16  # configs/train.yaml: effective_batch_size


def bench_data(work: Path, samples: int) -> Path:
    """data/kt1.jsonl with `samples` chat samples (no validation split: neither tool evaluates)."""
    from bench_train import mixed_starter

    mixed = mixed_starter(work)
    rows = [
        json.loads(line)
        for p in ("kt1", "kt2", "st")
        for line in (mixed / f"{p}.jsonl").read_text().splitlines()
    ]
    out = work / "bench-data"
    out.mkdir()
    cycled = [{**r, "id": f"{i}-{r['id']}"} for i, r in zip(range(samples), itertools.cycle(rows))]
    (out / "kt1.jsonl").write_text("".join(json.dumps(r) + "\n" for r in cycled))
    return out


def timed(cmd: list[str], log: Path) -> dict:
    """Run `cmd` under /usr/bin/time -v; wall seconds and peak RSS (GB) of any of its processes."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONPATH": str(REPO / "src")}
    began = time.perf_counter()
    with log.open("w") as out:
        code = subprocess.run(
            ["/usr/bin/time", "-v", *cmd], stdout=out, stderr=subprocess.STDOUT, env=env, check=False
        ).returncode
    wall = time.perf_counter() - began
    text = log.read_text()
    if code != 0:
        raise SystemExit(f"{cmd[:4]} failed (exit {code}); see the log:\n{text[-3000:]}")
    kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1))
    # CPU seconds of all its processes: on a shared machine a steadier measure than wall time.
    cpu = sum(float(x) for x in re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", text))
    return {"wall_s": round(wall, 1), "cpu_s": round(cpu, 1), "peak_rss_gb": round(kb / 1e6, 2)}


def run_labtax(data: Path, work: Path) -> dict:
    run = work / "labtax-run"
    cmd = [
        sys.executable,
        "-c",
        "from labtax.cli import main; main()",
        "train",
        "--config",
        str(REPO / "configs/train.yaml"),
        "--phases",
        "kt1",
        "--set",
        f"data_dir={data}",
        "--set",
        f"output_dir={run}",
        "--set",
        "phases.kt1.epochs=1",
        "--set",
        "eval_at_start=false",
        "--set",
        f"seed={SEED}",
        "--set",
        f"defaults.micro_batch_tokens={BUDGET}",
        "--set",
        f"defaults.warmup_steps={WARMUP}",
        "--set",
        f"defaults.max_seq_len={BUDGET}",
    ]
    result = timed(cmd, work / "labtax.log")
    steps = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    steps = [s for s in steps if s["kind"] == "step"]
    train_s = sum(s["tokens"] / s["tokens_per_s"] for s in steps)  # the optimizer steps only
    return {**result, "train_s": round(train_s, 1), "losses": [round(s["loss"], 4) for s in steps]}


def run_trl(data: Path, work: Path, order: Path | None = None) -> dict:
    cmd = [sys.executable, __file__, "--trl-worker", str(data), str(work / "trl-run")] + (
        ["--order", str(order)] if order else []
    )
    result = timed(cmd, work / "trl.log")
    history = json.loads((work / "trl-run" / "losses.json").read_text())
    return {
        **result,
        "train_s": round(history["train_s"], 1),
        "losses": [round(x, 4) for x in history["losses"]],
    }


def labtax_order(data: Path, out: Path) -> Path:
    """labtax's own samples and step order for the bench data, written as pre-tokenized rows for TRL.

    Row i is the i-th sample labtax trains on in its one epoch (`input_ids`, and `labels` with -100
    outside the assistant replies), each optimizer step's samples together, so that TRL with
    `STEP_SAMPLES` rows per step, a sequential sampler and padding-free batches computes the same
    summed loss over the same tokens at every step.
    """
    from labtax.models.embedded import embedded_model_dir
    from labtax.models.tokenize import load_tokenizer
    from labtax.train.data import encode_file
    from labtax.train.packing import epoch_seed, epoch_steps

    samples = encode_file(data / "kt1.jsonl", load_tokenizer(str(embedded_model_dir())), BUDGET)
    steps = epoch_steps(samples, STEP_SAMPLES, BUDGET, 1, epoch_seed(SEED, "kt1", 1))
    order = [i for s in steps for micro in s.per_rank[0] for i in micro]
    with out.open("w") as f:
        for i in order:
            f.write(json.dumps({"input_ids": samples[i].input_ids, "labels": samples[i].labels}) + "\n")
    return out


def trl_worker(data: Path, out: Path, order: Path | None = None) -> None:
    """The TRL side, in its own process: SFTTrainer with packing and completion-only loss, or with
    `order`, labtax's tokenized samples in labtax's order (padding-free, `STEP_SAMPLES` per step)."""
    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    from labtax.models.embedded import embedded_model_dir

    if order is None:
        rows = [json.loads(line) for line in (data / "kt1.jsonl").read_text().splitlines()]
        dataset = [{"prompt": r["messages"][:-1], "completion": r["messages"][-1:]} for r in rows]
        shape = {
            "packing": True,
            "max_length": BUDGET,
            "completion_only_loss": True,
            "per_device_train_batch_size": 1,
        }
    else:
        dataset = [json.loads(line) for line in order.read_text().splitlines()]
        shape = {
            "padding_free": True,
            "max_length": None,
            "per_device_train_batch_size": STEP_SAMPLES,
            "train_sampling_strategy": "sequential",
        }
    cuda = torch.cuda.is_available()
    model_dir = str(embedded_model_dir())
    model = AutoModelForCausalLM.from_pretrained(
        model_dir, dtype=torch.bfloat16 if cuda else torch.float32, attn_implementation="sdpa"
    )
    args = SFTConfig(
        output_dir=str(out),
        **shape,
        learning_rate=LR,
        warmup_steps=WARMUP,
        lr_scheduler_type="constant_with_warmup",
        num_train_epochs=1,
        seed=SEED,
        bf16=cuda,
        logging_steps=1,
        save_strategy="no",
        report_to=[],
        use_cpu=not cuda,
        dataloader_num_workers=0,
    )
    trainer = SFTTrainer(
        model=model,
        args=args,
        train_dataset=Dataset.from_list(dataset),
        processing_class=AutoTokenizer.from_pretrained(model_dir),
    )
    train_s = trainer.train().metrics["train_runtime"]
    trainer.save_model(str(out / "final"))
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    (out / "losses.json").write_text(json.dumps({"losses": losses, "train_s": train_s}))


def three_phase_peak(work: Path, per_phase: int | None) -> dict:
    """Peak memory and wall time of the default config's whole KT/1 -> KT/2 -> ST schedule on the
    mixed starter data (`per_phase`: only the first N training samples of each phase)."""
    from bench_train import mixed_starter

    data = mixed_starter(work)
    if per_phase:
        for phase in ("kt1", "kt2", "st"):
            lines = (data / f"{phase}.jsonl").read_text().splitlines()[:per_phase]
            (data / f"{phase}.jsonl").write_text("".join(line + "\n" for line in lines))
    run = work / "three-phase"
    cmd = [
        sys.executable,
        "-c",
        "from labtax.cli import main; main()",
        "train",
        "--config",
        str(REPO / "configs/train.yaml"),
        "--set",
        f"data_dir={data}",
        "--set",
        f"output_dir={run}",
    ]
    result = timed(cmd, work / "three-phase.log")
    sizes = sum(f.stat().st_size for f in run.rglob("*") if f.is_file())
    steps = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return {
        **result,
        "optimizer_steps": sum(1 for m in steps if m["kind"] == "step"),
        "run_folder_gb": round(sizes / 1e9, 2),
    }


def token_count(data: Path) -> int:
    from labtax.models.embedded import embedded_model_dir
    from labtax.models.tokenize import load_tokenizer
    from labtax.train.data import encode_file

    return sum(
        len(s) for s in encode_file(data / "kt1.jsonl", load_tokenizer(str(embedded_model_dir())), BUDGET)
    )


def mfu(tokens_per_s: float) -> float | None:
    """Model FLOPs utilisation of the training steps on a known CUDA device (None on CPU)."""
    import torch
    from bench_train import PEAK_BF16_TFLOPS

    if not torch.cuda.is_available():
        return None
    from transformers import AutoConfig, AutoModelForCausalLM

    from labtax.models.embedded import embedded_model_dir

    peak = next((v for k, v in PEAK_BF16_TFLOPS.items() if k in torch.cuda.get_device_name()), None)
    cfg = AutoConfig.from_pretrained(embedded_model_dir())
    with torch.device("meta"):  # shapes only
        params = sum(p.numel() for p in AutoModelForCausalLM.from_config(cfg).parameters())
    # The usual model FLOPs, the same for both tools (labtax skips the output layer on prompt
    # tokens, which this does not credit): 6 per parameter per token, plus attention over 2,048-token rows.
    flops = 6 * params + 12 * cfg.num_hidden_layers * cfg.hidden_size * BUDGET
    return round(tokens_per_s * flops / (peak * 1e12), 4) if peak else None


def compare(runs: dict[str, list[dict]], tokens: int) -> dict:
    """Per tool the best round (least disturbed by other load), and labtax / TRL ratios."""
    best = {tool: min(rs, key=lambda r: r["wall_s"]) for tool, rs in runs.items() if rs}
    table = {
        tool: {
            "tokens_per_s": round(tokens / r["wall_s"], 1),
            "wall_s": r["wall_s"],
            "peak_rss_gb": r["peak_rss_gb"],
            "train_tokens_per_s": round(tokens / r["train_s"], 1),
            "mfu": mfu(tokens / r["train_s"]),
            "rounds_wall_s": [x["wall_s"] for x in runs[tool]],
            "rounds_cpu_s": [x["cpu_s"] for x in runs[tool]],
            "first_losses": r["losses"][:3],
            "last_losses": r["losses"][-3:],
            "steps": len(r["losses"]),
        }
        for tool, r in best.items()
    }
    if len(table) == 2:
        table["ratio_labtax_over_trl"] = {
            "tokens_per_s": round(table["labtax"]["tokens_per_s"] / table["trl"]["tokens_per_s"], 3),
            "peak_rss": round(table["labtax"]["peak_rss_gb"] / table["trl"]["peak_rss_gb"], 3),
        }
    return table


def same_order(work: Path, samples: int, plot: Path | None) -> dict:
    """Both tools on the same samples in the same steps: labtax as usual, TRL fed labtax's order."""
    data = bench_data(work, samples)
    (work / "labtax").mkdir()
    (work / "trl").mkdir()
    ours = run_labtax(data, work / "labtax")
    theirs = run_trl(data, work / "trl", labtax_order(data, work / "order.jsonl"))
    pairs = list(zip(ours["losses"], theirs["losses"], strict=False))
    diffs = [abs(a - b) for a, b in pairs]
    if plot:
        loss_plot(ours["losses"], theirs["losses"], plot)
    return {
        "samples": samples,
        "steps": [len(ours["losses"]), len(theirs["losses"])],
        "labtax_losses": ours["losses"],
        "trl_losses": theirs["losses"],
        "max_abs_diff": round(max(diffs), 4),
        "mean_abs_diff": round(sum(diffs) / len(diffs), 4),
        "max_rel_diff": round(max(d / b for d, (_, b) in zip(diffs, pairs, strict=False)), 4),
    }


def loss_plot(ours: list[float], theirs: list[float], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 3.2), dpi=110)
    ax.plot(range(1, len(theirs) + 1), theirs, "o-", ms=3, lw=2.5, alpha=0.45, label="TRL SFTTrainer")
    ax.plot(range(1, len(ours) + 1), ours, "x--", ms=4, lw=1, label="labtax train")
    ax.set(
        xlabel="optimizer step",
        ylabel="training loss (per assistant token)",
        title="Same samples, same order, same seed",
    )
    ax.legend()
    fig.tight_layout()
    fig.savefig(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=608)
    parser.add_argument("--rounds", type=int, default=1, help="alternate the two tools this many times")
    parser.add_argument("--only", choices=["labtax", "trl"])
    parser.add_argument(
        "--three-phase",
        nargs="?",
        const=0,
        type=int,
        metavar="N",
        help="instead: the default config's three phases on the starter data (N: first N samples per phase)",
    )
    parser.add_argument(
        "--same-order",
        nargs="?",
        const="",
        metavar="PNG",
        help="instead: the loss curves of both tools on labtax's steps (PNG: also plot them)",
    )
    parser.add_argument("--trl-worker", nargs=2, type=Path, metavar=("DATA", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("--order", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.trl_worker:
        trl_worker(*args.trl_worker, args.order)
        return 0
    if args.same_order is not None:
        with tempfile.TemporaryDirectory() as tmp:
            print(
                json.dumps(
                    same_order(Path(tmp), args.samples, Path(args.same_order) if args.same_order else None),
                    indent=2,
                )
            )
        return 0
    if args.three_phase is not None:
        with tempfile.TemporaryDirectory() as tmp:
            print(
                json.dumps(
                    {"three_phase_default_config": three_phase_peak(Path(tmp), args.three_phase)}, indent=2
                )
            )
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        data = bench_data(work, args.samples)
        tokens = token_count(data)
        runs: dict[str, list[dict]] = {"labtax": [], "trl": []}
        # Alternate which tool goes first: a machine shared with other work drifts in load.
        order = [
            (r, t)
            for r in range(args.rounds)
            for t in (("labtax", "trl") if r % 2 == 0 else ("trl", "labtax"))
        ]
        for r, tool in order:
            if args.only in (None, tool):
                round_dir = work / f"{tool}-{r}"
                round_dir.mkdir()
                runs[tool].append((run_labtax if tool == "labtax" else run_trl)(data, round_dir))
                last = runs[tool][-1]
                print(
                    f"round {r + 1} {tool}: {last['wall_s']} s ({last['cpu_s']} CPU s), "
                    f"peak {last['peak_rss_gb']} GB",
                    flush=True,
                )
        result = {"samples": args.samples, "tokens": tokens, **compare(runs, tokens)}
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
