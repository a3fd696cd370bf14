"""One training phase in one process: setup, the loop, evaluation, checkpoints.

Every process of a launch runs this same code (torchrun, the deepspeed launcher, or a
hostfile). All processes build the same packed steps from the same seed; rank r runs its share
of micro-batches, and every rank runs the same number of forward/backward passes.
"""

from __future__ import annotations

import gc
import io
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import deepspeed
import torch
import torch.distributed as dist

from labtax.files import write_bytes_atomic
from labtax.models.tokenize import Encoded, load_tokenizer
from labtax.train import journal, schedule
from labtax.train.config import PhaseConfig, TrainConfig
from labtax.train.data import read_phase
from labtax.train.engine import TorchEngine, use_torch
from labtax.train.metrics import MetricsLog, prefixed
from labtax.train.objectives import OBJECTIVES, Objective, Pair, encode_row, reference_logps
from labtax.train.packing import Step, epoch_seed, epoch_steps, eval_batches

REFERENCE_FILE = "reference.pt"  # dpo: the starting checkpoint's log-probabilities, kept for --resume


@dataclass
class Context:
    """What every function of the recipe needs; built once by `setup`."""

    config: TrainConfig
    phase: PhaseConfig
    run_dir: Path
    rank: int
    world: int
    device: torch.device
    dtype: torch.dtype
    tokenizer: Any
    train: list[Encoded | Pair]
    val: list[Encoded | Pair]
    plain: bool  # plain torch instead of DeepSpeed (one process, no offload)
    objective: Objective
    reference: dict[str, torch.Tensor] | None = None  # dpo: (pairs, 2) reference log-probabilities per split

    def split(self, name: str) -> list[Encoded | Pair]:
        return self.train if name == "train" else self.val


# ---- setup -----------------------------------------------------------------------------------------


def precision(name: str) -> torch.dtype:
    """auto -> bf16 on CUDA, fp32 on CPU (CPU bf16 kernels are slow and not what we test)."""
    if name == "auto":
        return torch.bfloat16 if torch.cuda.is_available() else torch.float32
    return {"bf16": torch.bfloat16, "fp32": torch.float32}[name]


def setup_distributed() -> tuple[int, int, torch.device]:
    cuda = torch.cuda.is_available()
    deepspeed.init_distributed(dist_backend="nccl" if cuda else "gloo")
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if cuda:
        torch.cuda.set_device(local)
    return (
        dist.get_rank(),
        dist.get_world_size(),
        torch.device("cuda", local) if cuda else torch.device("cpu"),
    )


def ds_config(ctx: Context) -> dict[str, Any]:
    """The DeepSpeed config. Gradient accumulation is driven by the loop (steps hold a variable
    number of packed micro-batches), so DeepSpeed sees micro-batch 1 and marks boundaries itself."""
    p = ctx.phase
    zero: dict[str, Any] = {"stage": p.zero_stage, "stage3_gather_16bit_weights_on_model_save": True}
    if p.offload in ("optimizer", "optimizer_and_params"):
        zero["offload_optimizer"] = {"device": "cpu"}
    if p.offload == "optimizer_and_params":
        zero["offload_param"] = {"device": "cpu"}
    return {
        "train_micro_batch_size_per_gpu": 1,
        "gradient_accumulation_steps": 1,
        "train_batch_size": ctx.world,
        "gradient_clipping": p.max_grad_norm,
        "bf16": {"enabled": ctx.dtype == torch.bfloat16},
        "zero_optimization": zero,
        # torch's AdamW is the optimizer: no JIT-compiled DeepSpeed op is needed on CPU.
        "zero_force_ds_cpu_optimizer": False,
        "zero_allow_untested_optimizer": True,
        "steps_per_print": 2**31,
    }


def setup_model(ctx: Context, init_from: str, config: dict[str, Any]) -> tuple[torch.nn.Module, Any]:
    """The model to train, and the HfDeepSpeedConfig (ZeRO-3) that must stay alive as long as it does."""
    # transformers loads in seconds: imported only where a model runs
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification

    keep = None
    if ctx.phase.zero_stage == 3 and not ctx.plain:
        # Alive during from_pretrained, this makes transformers load straight into ZeRO-3 partitions.
        from transformers.integrations import HfDeepSpeedConfig

        keep = HfDeepSpeedConfig(config)
    kwargs = {
        "dtype": ctx.dtype,
        "attn_implementation": ctx.config.attn_implementation,
        "local_files_only": True,
    }
    if ctx.objective.name == "reward":
        # A one-output score head on the backbone; seeded, so every process starts from the same head.
        torch.manual_seed(ctx.config.seed)
        model = AutoModelForSequenceClassification.from_pretrained(init_from, num_labels=1, **kwargs)
        model.config.pad_token_id = ctx.tokenizer.pad_token_id
    else:
        model = AutoModelForCausalLM.from_pretrained(init_from, **kwargs)
    model.config.use_cache = False
    if ctx.config.gradient_checkpointing:
        model.gradient_checkpointing_enable()
    return model, keep


def setup_engine(ctx: Context, model: torch.nn.Module, config: dict[str, Any], total_steps: int) -> Any:
    # transformers loads in seconds: imported only where a model runs
    from transformers import get_scheduler

    p = ctx.phase
    # The fused kernel (CPU and CUDA) takes a sixth of the CPU time of the default multi-tensor one.
    optimizer = torch.optim.AdamW(
        [q for q in model.parameters() if q.requires_grad], lr=p.lr, weight_decay=p.weight_decay, fused=True
    )
    scheduler = get_scheduler(
        p.scheduler, optimizer, num_warmup_steps=p.warmup_steps, num_training_steps=total_steps
    )
    if ctx.plain:
        return TorchEngine(model, optimizer, scheduler, p.max_grad_norm)
    engine, _, _, _ = deepspeed.initialize(
        model=model, optimizer=optimizer, lr_scheduler=scheduler, config=config
    )
    return engine


def setup(
    run_dir: Path, phase: str, config: TrainConfig, init_from: str, dist_info: tuple[int, int, torch.device]
) -> Context:
    rank, world, device = dist_info
    p = config.phases[phase]
    tokenizer = load_tokenizer(init_from)
    train, val = (
        [encode_row(p.objective, tokenizer, row, p.max_seq_len) for row in read_phase(config, phase, split)]
        for split in (0, 1)
    )
    plain = use_torch(config.engine, world, p.offload)
    return Context(
        config,
        p,
        run_dir,
        rank,
        world,
        device,
        precision(config.precision),
        tokenizer,
        train,
        val,
        plain,
        OBJECTIVES[p.objective],
    )


# ---- forward, train step, evaluation --------------------------------------------------------------


def micro_batch(
    ctx: Context, engine: Any, micro: tuple[int, ...], split: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """The objective's summed loss and statistics on one micro-batch of sample indices."""
    units = list(micro) if ctx.objective.by_index else [ctx.split(split)[i] for i in micro]
    return ctx.objective.micro(ctx, engine, units, split)


def train_step(ctx: Context, engine: Any, step: Step) -> dict[str, float]:
    """One optimizer step over this rank's micro-batches; returns the step's mean statistics over
    all ranks (loss first), per label token (sft) or per pair (reward, dpo)."""
    local = torch.zeros(len(ctx.objective.stats), dtype=torch.float64)
    mine = step.per_rank[ctx.rank]
    for k, micro in enumerate(mine):
        engine.set_gradient_accumulation_boundary(k == len(mine) - 1)
        total, stats = micro_batch(ctx, engine, micro, "train")
        # Normalise by the whole step's units; DeepSpeed averages gradients over ranks, hence * world.
        engine.backward(total * ctx.world / max(step.targets, 1), scale_wrt_gas=False)
        engine.step()
        local += stats
    dist.all_reduce(local)
    return dict(zip(ctx.objective.stats, (local / max(step.targets, 1)).tolist(), strict=True))


@torch.no_grad()
def validate(ctx: Context, engine: Any) -> dict[str, float] | None:
    """Mean statistics on the validation split, loss first (None when the phase has none)."""
    if not ctx.val:
        return None
    engine.eval()
    totals = torch.zeros(len(ctx.objective.stats) + 1, dtype=torch.float64)
    for micro in eval_batches(ctx.val, ctx.phase.budget, ctx.world)[ctx.rank]:
        totals[:-1] += micro_batch(ctx, engine, micro, "val")[1]
        totals[-1] += sum(ctx.val[i].n_targets for i in micro)
    dist.all_reduce(totals)
    engine.train()
    return dict(zip(ctx.objective.stats, (totals[:-1] / totals[-1].clamp(min=1)).tolist(), strict=True))


def reference(ctx: Context, engine: Any, fresh: bool) -> dict[str, torch.Tensor]:
    """dpo: the starting checkpoint's log-probabilities of every pair's answers, computed once (each
    rank a share, summed over ranks) and saved; a resumed phase reads them back."""
    saved = ctx.run_dir / ctx.phase.name / REFERENCE_FILE
    if not fresh and saved.is_file():
        return torch.load(saved, weights_only=True)
    engine.eval()
    out = {}
    for name in ("train", "val"):
        units = ctx.split(name)
        logps = (
            reference_logps(ctx, engine, units, eval_batches(units, ctx.phase.budget, ctx.world)[ctx.rank])
            if units
            else torch.zeros(0, 2)
        )
        dist.all_reduce(logps)
        out[name] = logps
    engine.train()
    if ctx.rank == 0:
        buffer = io.BytesIO()
        torch.save(out, buffer)
        write_bytes_atomic(saved, buffer.getvalue())
    return out


# ---- checkpoints -------------------------------------------------------------------------------------


def save_epoch(ctx: Context, engine: Any, epoch: int, step: int) -> tuple[str, str | None]:
    """HF checkpoint (consolidated weights in the training dtype + tokenizer) and, unless this is
    the phase's last epoch, the full optimizer state for --resume (a finished phase needs none)."""
    phase_dir = ctx.run_dir / ctx.phase.name
    target = phase_dir / f"epoch-{epoch}"
    if ctx.phase.zero_stage == 3 and not ctx.plain:
        state = engine._zero3_consolidated_16bit_state_dict()  # noqa: SLF001 - collective; gathers layer by layer
    else:
        state = engine.module.state_dict()
    if ctx.rank == 0:
        tmp = phase_dir / f".epoch-{epoch}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        engine.module.save_pretrained(tmp, state_dict=state)
        ctx.tokenizer.save_pretrained(tmp)
        shutil.rmtree(target, ignore_errors=True)
        os.replace(tmp, target)
    del state
    tag = f"epoch-{epoch}" if epoch < ctx.phase.epochs else None
    if tag:
        engine.save_checkpoint(str(phase_dir / "state"), tag=tag, client_state={"epoch": epoch, "step": step})
    dist.barrier()
    return str(target), tag


def prune_states(phase_dir: Path, keep: list[str]) -> None:
    """Delete full optimizer states except the tags in `keep` (they are large; HF checkpoints stay)."""
    state = phase_dir / "state"
    if not state.is_dir():
        return
    for child in state.iterdir():
        if child.is_dir() and child.name not in keep:
            shutil.rmtree(child, ignore_errors=True)


# ---- the phase ------------------------------------------------------------------------------------------


def run_phases(run_dir: Path, phases: list[str], scorer: schedule.Scorer | None = None) -> None:
    """The remaining phases back to back in one process group; rank 0 chains them in the journal
    (scoring epoch checkpoints with `scorer` where the phase's selector compares scores)."""
    config = TrainConfig.from_json(journal.read_config(run_dir))
    dist_info = setup_distributed()
    for phase in phases:
        if dist_info[0] == 0:
            entry = schedule.begin_phase(run_dir, phase)
            if entry["plan"]["samples"] == 0:
                schedule.skip_phase(run_dir, phase)
        dist.barrier()
        if journal.read(run_dir)["phases"][phase]["status"] == "running":
            run_phase(run_dir, phase, config, dist_info)
            if dist_info[0] == 0:
                gc.collect()  # the phase's engine goes before its checkpoints are loaded for scoring
                # Scoring loads models in this process alone: not into ZeRO-3 partitions (a collective).
                from transformers.integrations.deepspeed import unset_hf_deepspeed_config

                unset_hf_deepspeed_config()
                chosen = schedule.end_phase(run_dir, phase, config, scorer)["chosen"]
                print(
                    f"[{phase}] chose epoch {chosen['epoch']}: {chosen['checkpoint']} ({chosen['why']})",
                    flush=True,
                )
        dist.barrier()
        gc.collect()  # the previous phase's engine, model and optimizer go before the next loads


def run_phase(
    run_dir: Path, phase: str, config: TrainConfig, dist_info: tuple[int, int, torch.device]
) -> None:
    """Train one phase from the journal's `init_from`, resuming after its last saved epoch."""
    entry = journal.read(run_dir)["phases"][phase]
    done = entry.get("epochs", [])
    if done and done[-1]["epoch"] >= config.phases[phase].epochs:
        return  # every epoch is saved (the launch died before the phase was closed): nothing to train
    ctx = setup(run_dir, phase, config, entry["init_from"], dist_info)
    p, seed = ctx.phase, config.seed
    steps_per_epoch = len(epoch_steps(ctx.train, p.effective_batch_size, p.budget, ctx.world, seed))
    ds = ds_config(ctx)
    model, _ds_config = setup_model(ctx, entry["init_from"], ds)  # the config lives while this phase does
    engine = setup_engine(ctx, model, ds, steps_per_epoch * p.epochs)
    # from_pretrained leaves the model in eval mode, where transformers skips gradient checkpointing.
    engine.train()
    start, step = 1, 0
    if ctx.objective.name == "dpo":  # before any step: the model is still the reference
        ctx.reference = reference(ctx, engine, fresh=not done)
    if done:  # resume: weights, optimizer and scheduler exactly as saved after the last finished epoch
        engine.load_checkpoint(str(run_dir / phase / "state"), tag=done[-1]["state"])
        start, step = done[-1]["epoch"] + 1, done[-1]["step"]
    # Lines of unfinished epochs go; at a fresh start so does the epoch-0 line, written again below.
    log = MetricsLog(run_dir, phase, ctx.rank, resume_after=(start - 1) if start > 1 else -1)
    if start == 1 and config.eval_at_start:
        start_val = validate(ctx, engine)
        if ctx.rank == 0:
            journal.update_phase(run_dir, phase, **prefixed("start_val", start_val))
            log.epoch(0, 0, start_val)
    for epoch in range(start, p.epochs + 1):
        losses = []
        for s in epoch_steps(
            ctx.train, p.effective_batch_size, p.budget, ctx.world, epoch_seed(seed, phase, epoch)
        ):
            began = time.perf_counter()
            lr = engine.get_lr()[0]  # the rate this step trains at (after it, the scheduler has moved on)
            stats = train_step(ctx, engine, s)
            losses.append(stats["loss"])
            step += 1
            log.step(epoch, step, steps_per_epoch * p.epochs, stats, lr, s, ctx, time.perf_counter() - began)
        val = validate(ctx, engine)
        checkpoint, tag = save_epoch(ctx, engine, epoch, step)
        if ctx.rank == 0:
            record = {
                "epoch": epoch,
                "step": step,
                "train_loss": sum(losses) / len(losses),
                **prefixed("val", val),
                "checkpoint": checkpoint,
                "state": tag,
            }
            # Journal first, prune second: a crash in between leaves an extra state, never a missing one.
            done = journal.add_epoch(run_dir, phase, record)
            prune_states(run_dir / phase, [e["state"] for e in done][-config.keep_optimizer_states :])
            log.epoch(epoch, step, val)
        dist.barrier()
