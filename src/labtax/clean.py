"""`labtax clean`: remove what labtax can rebuild (caches) and, when asked, training runs.

Caches: the teacher call caches of `generate` (<generate.output>/.cache) and `rank`
(<rank.output>/.cache), DeepSpeed's compiled ops
(<labtax cache>/torch_extensions and a checkout's .torch_extensions). Runs: the folders under runs/.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from labtax.config import Config
from labtax.files import torch_extensions_dir
from labtax.models.cache import CACHE_DIR

RUNS = "runs"


@dataclass(frozen=True)
class Target:
    path: Path
    what: str
    size: int  # bytes


def targets(config: Config, runs: bool) -> list[Target]:
    """What `clean` would remove (existing paths only)."""
    found = [
        (config.root / config.section("generate")["output"] / CACHE_DIR, "teacher call cache"),
        (config.root / config.section("rank")["output"] / CACHE_DIR, "teacher call cache of labtax rank"),
        (torch_extensions_dir(), "compiled DeepSpeed ops"),
        (config.root / ".torch_extensions", "compiled DeepSpeed ops (this checkout)"),
    ]
    if runs and (config.root / RUNS).is_dir():
        found += [(run, "training run") for run in sorted((config.root / RUNS).iterdir()) if run.is_dir()]
    return [Target(path, what, size_of(path)) for path, what in found if path.exists()]


def remove(found: list[Target]) -> None:
    for target in found:
        shutil.rmtree(target.path) if target.path.is_dir() else target.path.unlink()


def size_of(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())
