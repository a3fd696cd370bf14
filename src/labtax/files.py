"""File helpers every stage shares: atomic writes, content hashes and a lock per output folder."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from labtax.errors import LabtaxError

LOCK_NAME = ".lock"
TMP_SUFFIX = ".tmp"  # write_text_atomic's temporary files: .<name>.<random>.tmp beside the target


def write_text_atomic(path: Path, text: str) -> None:
    """Write `text` (UTF-8, \\n line ends) atomically; see `write_bytes_atomic`."""
    write_bytes_atomic(path, text.encode("utf-8"))


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write `data` to a temporary file beside `path`, flush it to disk and rename it into place,
    so a reader, a crash or a kill -9 never leaves half a file. Keeps the mode of a file it replaces."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TMP_SUFFIX)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else 0o644)
        os.replace(tmp, path)
    except OSError as exc:  # name the file: a failed write() or fsync() carries no file name
        Path(tmp).unlink(missing_ok=True)
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def remove_stale_temps(folder: Path) -> list[Path]:
    """Delete the temporary files that killed runs left under `folder` (call it holding the folder's
    lock: no live writer can own one then)."""
    stale = sorted(p for p in folder.rglob(f".*{TMP_SUFFIX}") if p.is_file())
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def folder_lock(folder: Path, what: str) -> AbstractContextManager[None]:
    """Hold `folder`'s lock (folder/.lock) while a run writes into it; see `file_lock`."""
    folder.mkdir(parents=True, exist_ok=True)
    return file_lock(folder / LOCK_NAME, what, folder)


@contextmanager
def file_lock(path: Path, what: str, folder: Path | None = None) -> Iterator[None]:
    """Hold an exclusive flock on `path` (which names the owner and its pid) while the block runs.

    A second run on the same output fails at once, naming the process that holds it, rather than
    interleaving writes. The operating system drops the lock when its process dies (even by
    kill -9), so a crash never leaves a stale lock behind.
    """
    folder = folder or path.parent
    with open(path, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise LabtaxError(
                f"{folder}: in use by {holder}; wait for it to finish, or use another output folder"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{what} (pid {os.getpid()})\n")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()  # released: the lock file no longer names anyone


def jsonl_rows(text: str, where: str, rule: str = "jsonl") -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line of a JSONL text; a line that is not a JSON
    object raises one located error, `where:line:col: error[rule] ...`."""
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise LabtaxError(
                f"{where}:{lineno}:{exc.colno}: error[{rule}] not valid JSON: {exc.msg}"
            ) from None
        if not isinstance(row, dict):
            raise LabtaxError(f"{where}:{lineno}:1: error[{rule}] expected a JSON object per line")
        yield lineno, row


def cache_root() -> Path:
    """Where labtax keeps caches shared between projects ($LABTAX_CACHE, else ~/.cache/labtax)."""
    return Path(os.environ.get("LABTAX_CACHE") or Path.home() / ".cache" / "labtax")


def torch_extensions_dir() -> Path:
    """Where `labtax train` lets DeepSpeed compile its ops when TORCH_EXTENSIONS_DIR is not set:
    the labtax cache, not torch's default (~/.cache/torch_extensions)."""
    return cache_root() / "torch_extensions"
