"""A content-addressed cache of teacher calls, in SQLite.

The key is a hash of everything that decides a reply: teacher model, kind of call,
rendered messages, reply prefix, sampling parameters (seed included), options and sample
index. Each reply is committed as soon as it arrives (WAL journal), so after a crash,
Ctrl-C or kill -9 a rerun finds every finished call here and asks the teacher only for
the rest. A changed template changes the rendered prompt, hence the key, of exactly the
calls that used it.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

from labtax.errors import EXIT_FINDINGS, LabtaxError

CACHE_DIR = ".cache"  # each stage keeps its calls in its output folder, here ...
CACHE_NAME = f"{CACHE_DIR}/calls.sqlite"  # ... in this file
BUSY_TIMEOUT_S = 5.0  # how long a call waits for another process's write to the cache

# Advice by what SQLite says. The cache holds paid teacher calls: deleting it is advised only when
# the file is truly damaged, and even then as moving it aside.
_ADVICE = (
    (
        "locked",
        "another process is using it (another labtax generate on this output?); "
        "wait for it to finish and run again",
    ),
    (
        "busy",
        "another process is using it (another labtax generate on this output?); "
        "wait for it to finish and run again",
    ),
    ("full", "the disk is full; free some space and run again (finished calls are kept)"),
    (
        "disk i/o",
        "the disk failed a read or write (full, removed or read-only?); "
        "check it and run again (finished calls are kept)",
    ),
    ("readonly", "it or its folder is read-only; make it writable or choose another output folder"),
    ("read-only", "it or its folder is read-only; make it writable or choose another output folder"),
    ("unable to open", "its folder cannot be written; check the permissions of the output folder"),
    (
        "not a database",
        "the file is damaged; move it aside to start a new cache (its calls will be asked again)",
    ),
    ("malformed", "the file is damaged; move it aside to start a new cache (its calls will be asked again)"),
)


class CacheError(LabtaxError):
    """The call cache cannot be used: the whole run stops (no leaf is to blame)."""

    exit_code = EXIT_FINDINGS


def cache_error(path: Path, what: str, exc: sqlite3.DatabaseError) -> CacheError:
    """One line naming the cache file, what SQLite said, and what to do about it."""
    said = str(exc)
    advice = next(
        (text for marker, text in _ADVICE if marker in said.lower()),
        "check the disk and the file, then run again",
    )
    return CacheError(f"{path}: the call cache cannot be {what} ({said}): {advice}")


def call_key(**parts: Any) -> str:
    """sha256 of the call's parts as canonical JSON."""
    blob = json.dumps(parts, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class CallCache:
    """get/put of JSON values by key; safe to use from several threads of one process."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(
                path, check_same_thread=False, isolation_level=None, timeout=BUSY_TIMEOUT_S
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            # durable against process death; WAL keeps it consistent
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("CREATE TABLE IF NOT EXISTS calls (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        except sqlite3.DatabaseError as exc:
            raise cache_error(path, "opened", exc) from None

    def get(self, key: str) -> Any | None:
        try:
            with self._lock:
                row = self._db.execute("SELECT value FROM calls WHERE key = ?", (key,)).fetchone()
        except sqlite3.DatabaseError as exc:
            raise cache_error(self.path, "read", exc) from None
        return json.loads(row[0]) if row else None

    def put(self, key: str, value: Any) -> None:
        blob = json.dumps(value, sort_keys=True, ensure_ascii=False)
        try:
            with self._lock:
                self._db.execute("INSERT OR REPLACE INTO calls (key, value) VALUES (?, ?)", (key, blob))
        except sqlite3.DatabaseError as exc:
            raise cache_error(self.path, "written", exc) from None

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM calls").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()
