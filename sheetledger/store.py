"""Local operational state (``state.db``, SQLite): never business data.

It holds what makes the daemon cheap and exactly-once — cached amoCRM lookups, the
push journal, job runs, the bot's outbox and Telegram offset. Losing the file costs
a full, idempotent resync: with no journal, every push first looks for its own
note in amoCRM before writing one (``journal_trusted`` is False).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated REAL NOT NULL);
CREATE TABLE IF NOT EXISTS push_journal (
    payment_id TEXT NOT NULL, seq INTEGER NOT NULL, deal_id INTEGER NOT NULL,
    marker TEXT NOT NULL, created REAL NOT NULL, PRIMARY KEY (payment_id, seq));
CREATE TABLE IF NOT EXISTS job_runs (
    job TEXT PRIMARY KEY, started REAL, finished REAL, ok INTEGER, detail TEXT, error TEXT);
"""


class LocalState:
    """A small SQLite file next to the config; safe to share between threads."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- key/value ------------------------------------------------------------------

    def get(self, key: str, default: Any = None) -> Any:
        with self._lock:
            row = self._db.execute("SELECT value FROM kv WHERE key=?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def get_with_age(self, key: str) -> tuple[Any, float] | None:
        with self._lock:
            row = self._db.execute("SELECT value, updated FROM kv WHERE key=?", (key,)).fetchone()
        return (json.loads(row[0]), time.time() - row[1]) if row else None

    def set(self, key: str, value: Any) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO kv(key, value, updated) VALUES(?,?,?) "
                "ON CONFLICT(key) DO UPDATE SET value=excluded.value, updated=excluded.updated",
                (key, json.dumps(value, ensure_ascii=False), time.time()),
            )

    def delete(self, key: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM kv WHERE key=?", (key,))

    # -- the push journal -----------------------------------------------------------

    @property
    def journal_trusted(self) -> bool:
        """False until one cycle completed with this file: then the journal says all."""
        return bool(self.get("journal.trusted", False))

    def trust_journal(self) -> None:
        self.set("journal.trusted", True)

    def journaled(self, keys: Iterable[tuple[str, int]]) -> set[tuple[str, int]]:
        wanted = set(keys)
        with self._lock:
            rows = self._db.execute("SELECT payment_id, seq FROM push_journal").fetchall()
        return {(str(p), int(s)) for p, s in rows} & wanted

    def journal_add(self, entries: Iterable[tuple[str, int, int, str]]) -> None:
        """Record pushes about to be sent: (payment id, seq, deal id, marker). Durable on return."""
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT OR IGNORE INTO push_journal(payment_id, seq, deal_id, marker, created) "
                "VALUES(?,?,?,?,?)",
                [(p, s, d, m, time.time()) for p, s, d, m in entries],
            )
            self._db.execute("COMMIT")

    def journal_remove(self, keys: Iterable[tuple[str, int]]) -> None:
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany("DELETE FROM push_journal WHERE payment_id=? AND seq=?", list(keys))
            self._db.execute("COMMIT")

    def journal_size(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM push_journal").fetchone()[0])

    # -- job runs (for `sheetledger status`) ------------------------------------------

    def job_started(self, job: str) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO job_runs(job, started) VALUES(?, ?) "
                "ON CONFLICT(job) DO UPDATE SET started=excluded.started",
                (job, time.time()),
            )

    def job_finished(self, job: str, ok: bool, detail: str = "", error: str = "") -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO job_runs(job, started, finished, ok, detail, error) VALUES(?,?,?,?,?,?) "
                "ON CONFLICT(job) DO UPDATE SET finished=excluded.finished, ok=excluded.ok, "
                "detail=excluded.detail, error=CASE WHEN excluded.ok THEN job_runs.error ELSE excluded.error END",
                (job, time.time(), time.time(), int(ok), detail, error),
            )

    def job_runs(self) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT job, started, finished, ok, detail, error FROM job_runs ORDER BY job"
            ).fetchall()
        keys = ("job", "started", "finished", "ok", "detail", "error")
        return [dict(zip(keys, row, strict=True)) for row in rows]
