"""Publishing a set of files as a whole: write them into a new hidden folder beside the output,
then swap the folders with two renames. A reader sees the old set or the new one, never a mixture;
a kill between the two renames leaves no output folder at all (which readers refuse), and the next
run removes what killed runs left behind.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Collection
from pathlib import Path

from labtax.errors import LabtaxError
from labtax.files import file_lock


def publish_set(output: Path, owned: Collection[str], what: str, write: Callable[[Path], None]) -> None:
    """Let `write` fill a staging folder, then put it in place of `output`, holding a lock beside
    `output` throughout. `output` may hold only the names in `owned` (it is replaced whole)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(output.parent / f".{output.name}.lock", what):
        for leftover in _leftovers(output):  # under the lock: no live run owns them
            shutil.rmtree(leftover, ignore_errors=True)
        _check_owned(output, owned, what)
        staged = _sibling(output, "new")
        try:
            write(staged)
            _swap(staged, output)
        finally:
            shutil.rmtree(staged, ignore_errors=True)


def _sibling(output: Path, kind: str) -> Path:
    return output.parent / f".{output.name}.{kind}-{os.getpid()}"


def _leftovers(output: Path) -> list[Path]:
    return sorted(output.parent.glob(f".{output.name}.new-*")) + sorted(
        output.parent.glob(f".{output.name}.old-*")
    )


def _check_owned(output: Path, owned: Collection[str], what: str) -> None:
    foreign = sorted(p.name for p in output.iterdir() if p.name not in owned) if output.is_dir() else []
    if foreign:
        raise LabtaxError(
            f"{output}: holds files {what} did not write ({', '.join(foreign[:3])}); "
            f"{what} replaces the whole folder: choose an empty or new --output"
        )


def _swap(staged: Path, output: Path) -> None:
    old = _sibling(output, "old")
    if output.exists():
        os.replace(output, old)
    os.replace(staged, output)
    shutil.rmtree(old, ignore_errors=True)
