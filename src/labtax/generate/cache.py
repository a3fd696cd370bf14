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

from labtax.errors import LabtaxError


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
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")  # durable against process death; WAL keeps it consistent
            self._db.execute("CREATE TABLE IF NOT EXISTS calls (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        except sqlite3.DatabaseError as exc:
            raise LabtaxError(f"{path}: the call cache cannot be opened ({exc}); delete it to start afresh") from None

    def get(self, key: str) -> Any | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM calls WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def put(self, key: str, value: Any) -> None:
        blob = json.dumps(value, sort_keys=True, ensure_ascii=False)
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO calls (key, value) VALUES (?, ?)", (key, blob))

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM calls").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()
