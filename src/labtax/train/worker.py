"""The worker entry point run in every process: `python -m labtax.train.worker RUN_DIR PHASE...`.

torchrun, the deepspeed launcher and hostfile launches all start this same module. `--scorer
MODULE:NAME` names the function that scores epoch checkpoints (the one the caller of
labtax.train.launch.train passed in), imported here by name as a process boundary requires.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import warnings
from pathlib import Path
from typing import Any

from labtax.errors import LabtaxError
from labtax.phases import TRAIN_PHASES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="labtax.train.worker")
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("phases", nargs="+", choices=TRAIN_PHASES)
    parser.add_argument("--local_rank", type=int, default=None, help="set by the deepspeed launcher")
    parser.add_argument("--scorer", default=None, help="MODULE:NAME of the checkpoint scorer")
    args = parser.parse_args(argv)
    # torch.distributed's deprecation notices repeat on every collective DeepSpeed makes; they are
    # not ours to fix.
    warnings.filterwarnings("ignore", category=FutureWarning, message=r".*torch\.distributed\.")
    quiet_libraries()
    # Deferred until the environment above is set: the recipe imports torch, transformers and DeepSpeed.
    from labtax.train.recipe import run_phases

    try:
        run_phases(args.run_dir.resolve(), args.phases, resolve(args.scorer) if args.scorer else None)
    except LabtaxError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return exc.exit_code
    return 0


def resolve(name: str) -> Any:
    """The function `module:qualname` names."""
    module, _, qualname = name.partition(":")
    target: Any = importlib.import_module(module)
    for part in qualname.split("."):
        target = getattr(target, part)
    return target


def quiet_libraries() -> None:
    """Library noise off: progress bars of weight loading and shard writing (our own progress lines
    say what happens), transformers' notices below errors, and DeepSpeed's warning that it found no
    GPU on a machine that has none (it then picks the CPU accelerator, as told here)."""
    # torch loads in seconds: imported only where a model runs
    import torch

    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    if not torch.cuda.is_available():
        os.environ.setdefault("DS_ACCELERATOR", "cpu")
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


if __name__ == "__main__":
    sys.exit(main())
