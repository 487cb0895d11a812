"""Local operational state (``state.db``, SQLite): never business data.

It holds what makes the daemon cheap and exactly-once — cached amoCRM lookups, the
push journal, job runs, the bot's outbox and Telegram offset. Losing the file costs
a full, idempotent resync: with no journal, every push first looks for its own
note in amoCRM before writing one (``journal_trusted`` is False).
"""

from __future__ import annotations

import builtins
import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Mapping
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

    def journaled(self, keys: Iterable[tuple[str, int]]) -> builtins.set[tuple[str, int]]:
        return self.journal_keys() & set(keys)

    def journal_keys(self) -> builtins.set[tuple[str, int]]:
        """Every push on its way: (payment id, seq)."""
        with self._lock:
            rows = self._db.execute("SELECT payment_id, seq FROM push_journal").fetchall()
        return {(str(p), int(s)) for p, s in rows}

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
            self._db.executemany(
                "DELETE FROM push_journal WHERE payment_id=? AND seq=?", list(keys)
            )
            self._db.execute("COMMIT")

    def journal_settle(self, marked: Mapping[str, int]) -> int:
        """Forget journaled pushes the ledger shows marked (``marked``: payment ID -> its
        last pushed ``#n``); returns how many.

        A process killed after the ledger's write but before ``journal_remove`` leaves such
        entries behind; no cycle plans those pushes again, so none would ever remove them.
        """
        with self._lock:
            rows = self._db.execute("SELECT payment_id, seq FROM push_journal").fetchall()
            stale = [(p, s) for p, s in rows if int(s) <= marked.get(str(p), 0)]
        if stale:
            self.journal_remove(stale)
        return len(stale)

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
                "INSERT INTO job_runs(job, started, finished, ok, detail, error) "
                "VALUES(?,?,?,?,?,?) "
                "ON CONFLICT(job) DO UPDATE SET finished=excluded.finished, ok=excluded.ok, "
                "detail=excluded.detail, "
                "error=CASE WHEN excluded.ok THEN job_runs.error ELSE excluded.error END",
                (job, time.time(), time.time(), int(ok), detail, error),
            )

    def job_runs(self) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT job, started, finished, ok, detail, error FROM job_runs ORDER BY job"
            ).fetchall()
        keys = ("job", "started", "finished", "ok", "detail", "error")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    # -- the bot's outbox and Telegram offset ---------------------------------------------
    #
    # The outbox is the bot's journal of the expense rows it accepted, by dedup key
    # (``tg:<chat>:<message>:<line>``): ``row`` is the row as the bot knows it (JSON),
    # ``op`` is what is still to write (``append`` the whole row, ``update`` the
    # columns in ``dirty``), ``pending`` says whether Google still has to see it.
    # An entry is added (durably) before the Sheets write and marked done after, so a
    # redelivered update finds its key here; ``version`` grows with every change, so a
    # flush marks done only what it actually wrote. Done entries are kept for the
    # buttons of old replies and pruned after a while.

    _BOT_SCHEMA = """
    CREATE TABLE IF NOT EXISTS bot_outbox (
        key TEXT PRIMARY KEY, row TEXT NOT NULL, op TEXT NOT NULL, dirty TEXT NOT NULL,
        pending INTEGER NOT NULL, version INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
        error TEXT NOT NULL DEFAULT '', created REAL NOT NULL, updated REAL NOT NULL);
    CREATE INDEX IF NOT EXISTS bot_outbox_pending ON bot_outbox(pending, created);
    """

    def _bot_tables(self) -> None:
        if not getattr(self, "_bot_ready", False):
            with self._lock:
                self._db.executescript(self._BOT_SCHEMA)
                self._bot_ready = True

    def _outbox_entry(self, row: tuple[Any, ...]) -> dict[str, Any]:
        key, data, op, dirty, pending, version, attempts, error, created = row
        return {
            "key": key,
            "row": json.loads(data),
            "op": op,
            "dirty": json.loads(dirty),
            "pending": bool(pending),
            "version": int(version),
            "attempts": int(attempts),
            "error": error,
            "created": float(created),
        }

    _OUTBOX_COLUMNS = "key, row, op, dirty, pending, version, attempts, error, created"

    def outbox_add(self, entries: Iterable[tuple[str, dict[str, Any]]]) -> list[str]:
        """Accept rows to append, ``(key, row)``; returns the keys that were new. Durable on return.

        A key already in the outbox (pending or done) is left as it is: a redelivered
        message never makes a second row.
        """
        self._bot_tables()
        now = time.time()
        added = []
        with self._lock:
            self._db.execute("BEGIN")
            try:
                for key, row in entries:
                    cursor = self._db.execute(
                        "INSERT OR IGNORE INTO bot_outbox(key, row, op, dirty, pending, version, "
                        "created, updated) VALUES(?,?,?,?,1,1,?,?)",
                        (key, json.dumps(row, ensure_ascii=False), "append", "[]", now, now),
                    )
                    if cursor.rowcount:
                        added.append(key)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return added

    def outbox_get(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The entries of ``keys`` that exist, by key."""
        self._bot_tables()
        wanted = list(keys)
        found: dict[str, dict[str, Any]] = {}
        with self._lock:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(
                    f"SELECT {self._OUTBOX_COLUMNS} FROM bot_outbox WHERE key IN ({marks})", chunk
                ).fetchall()
                for row in rows:
                    entry = self._outbox_entry(row)
                    found[entry["key"]] = entry
        return found

    def outbox_find(self, prefix: str) -> dict[str, dict[str, Any]]:
        """The entries whose key starts with ``prefix`` (one message's rows: ``tg:<c>:<m>:``)."""
        self._bot_tables()
        with self._lock:
            rows = self._db.execute(
                f"SELECT {self._OUTBOX_COLUMNS} FROM bot_outbox WHERE key >= ? AND key < ? "
                "ORDER BY key",
                (prefix, prefix + "\uffff"),
            ).fetchall()
        return {row[0]: self._outbox_entry(row) for row in rows}

    def outbox_change(
        self, key: str, values: dict[str, Any], row: dict[str, Any] | None = None
    ) -> bool:
        """Queue ``values`` (column -> value) for the row ``key``; False when the key is unknown
        and no ``row`` is given to start from. Durable on return.

        A pending append absorbs the change (the row is written once, already changed); a
        written row becomes a pending ``update`` of the changed columns.
        """
        self._bot_tables()
        now = time.time()
        with self._lock:
            self._db.execute("BEGIN")
            try:
                found = self._db.execute(
                    "SELECT row, op, dirty, pending FROM bot_outbox WHERE key=?", (key,)
                ).fetchone()
                if found is None:
                    if row is None:
                        self._db.execute("ROLLBACK")
                        return False
                    self._db.execute(
                        "INSERT INTO bot_outbox(key, row, op, dirty, pending, version, created, "
                        "updated) VALUES(?,?,?,?,1,1,?,?)",
                        (
                            key,
                            json.dumps({**row, **values}, ensure_ascii=False),
                            "update",
                            json.dumps(sorted(values)),
                            now,
                            now,
                        ),
                    )
                else:
                    data, op, dirty, pending = found
                    merged = {**json.loads(data), **values}
                    if pending and op == "append":
                        new_dirty: list[str] = []
                    else:
                        old = set(json.loads(dirty)) if pending else set()
                        new_dirty = sorted(old | set(values))
                        op = "update"
                    self._db.execute(
                        "UPDATE bot_outbox SET row=?, op=?, dirty=?, pending=1, version=version+1, "
                        "updated=? WHERE key=?",
                        (
                            json.dumps(merged, ensure_ascii=False),
                            op,
                            json.dumps(new_dirty),
                            now,
                            key,
                        ),
                    )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return True

    def outbox_pending(self, limit: int = 1000) -> list[dict[str, Any]]:
        """Entries still to write, oldest first."""
        self._bot_tables()
        with self._lock:
            rows = self._db.execute(
                f"SELECT {self._OUTBOX_COLUMNS} FROM bot_outbox WHERE pending=1 "
                "ORDER BY created, key LIMIT ?",
                (limit,),
            ).fetchall()
        return [self._outbox_entry(row) for row in rows]

    def outbox_done(self, written: Iterable[tuple[str, int]]) -> None:
        """Mark ``(key, version)`` written; an entry changed since (newer version) stays pending."""
        self._bot_tables()
        now = time.time()
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany(
                "UPDATE bot_outbox SET pending=0, dirty='[]', error='', updated=? "
                "WHERE key=? AND version=?",
                [(now, key, version) for key, version in written],
            )
            self._db.execute("COMMIT")

    def outbox_trying(self, keys: Iterable[str]) -> None:
        """Count a write attempt of ``keys`` before it is sent. Durable on return: an entry
        with attempts may be in the sheet already (a crash or a lost answer), one without
        cannot be."""
        self._bot_tables()
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany(
                "UPDATE bot_outbox SET attempts=attempts+1 WHERE key=?", [(k,) for k in keys]
            )
            self._db.execute("COMMIT")

    def outbox_failed(self, keys: Iterable[str], error: str) -> None:
        self._bot_tables()
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany(
                "UPDATE bot_outbox SET error=? WHERE key=?",
                [(error, key) for key in keys],
            )
            self._db.execute("COMMIT")

    def outbox_prune(self, older_than_seconds: float) -> int:
        """Forget written entries untouched for that long; returns how many."""
        self._bot_tables()
        with self._lock:
            cursor = self._db.execute(
                "DELETE FROM bot_outbox WHERE pending=0 AND updated < ?",
                (time.time() - older_than_seconds,),
            )
        return int(cursor.rowcount)

    def telegram_offset(self) -> int:
        """The first update id the bot has not handled yet (0: none stored)."""
        return int(self.get("telegram.offset", 0))

    def set_telegram_offset(self, offset: int) -> None:
        """Store the offset after the update below it was handled. Durable on return."""
        self.set("telegram.offset", int(offset))

    # -- the notifications' outbox (sheetledger/notify/outbox.py) --------------------------
    #
    # One row per message to send, keyed ``<order>:<event>:<channel>:<recipient>``, so a
    # ``tell`` repeated by every cycle queues it once. ``state``: ``queued`` → ``sending``
    # (written, durably, just before the request leaves) → ``sent``; or ``failed`` (the
    # provider refused it for good), ``unsure`` (a request whose answer was lost and that
    # cannot be checked: not sent again), ``cancelled`` (no longer worth sending: the order
    # was paid first). ``ref`` is the provider's message id; ``body`` the message as JSON.

    _NEWS_SCHEMA = """
    CREATE TABLE IF NOT EXISTS news_outbox (
        key TEXT PRIMARY KEY, order_id TEXT NOT NULL, event TEXT NOT NULL,
        channel TEXT NOT NULL, recipient TEXT NOT NULL, body TEXT NOT NULL,
        not_before REAL NOT NULL, state TEXT NOT NULL, claimed REAL,
        attempts INTEGER NOT NULL DEFAULT 0, ref TEXT NOT NULL DEFAULT '',
        error TEXT NOT NULL DEFAULT '', created REAL NOT NULL, updated REAL NOT NULL);
    CREATE INDEX IF NOT EXISTS news_outbox_state ON news_outbox(state, not_before);
    CREATE INDEX IF NOT EXISTS news_outbox_order ON news_outbox(order_id);
    """
    _NEWS_COLUMNS = (
        "key, order_id, event, channel, recipient, body, not_before, state, claimed, "
        "attempts, ref, error, created"
    )
    NEWS_OPEN = ("queued", "sending")

    def _news_tables(self) -> None:
        if not getattr(self, "_news_ready", False):
            with self._lock:
                self._db.executescript(self._NEWS_SCHEMA)
                self._news_ready = True

    def _news_entry(self, row: tuple[Any, ...]) -> dict[str, Any]:
        keys = self._NEWS_COLUMNS.split(", ")
        entry = dict(zip(keys, row, strict=True))
        entry["body"] = json.loads(entry["body"])
        return entry

    def news_add(self, entries: Iterable[dict[str, Any]]) -> list[str]:
        """Queue messages (``key``, ``order_id``, ``event``, ``channel``, ``recipient``,
        ``body``, ``not_before``); a key already known, in any state, is left as it is.
        Returns the keys that were new. Durable on return."""
        self._news_tables()
        now = time.time()
        added = []
        with self._lock:
            self._db.execute("BEGIN")
            try:
                for e in entries:
                    cursor = self._db.execute(
                        "INSERT OR IGNORE INTO news_outbox(key, order_id, event, channel, "
                        "recipient, body, not_before, state, created, updated) "
                        "VALUES(?,?,?,?,?,?,?,'queued',?,?)",
                        (
                            e["key"],
                            e["order_id"],
                            e["event"],
                            e["channel"],
                            e["recipient"],
                            json.dumps(e["body"], ensure_ascii=False),
                            float(e["not_before"]),
                            now,
                            now,
                        ),
                    )
                    if cursor.rowcount:
                        added.append(e["key"])
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return added

    def news_due(self, now: float, limit: int = 500) -> list[dict[str, Any]]:
        """Messages queued (or left ``sending`` by a process that died) due by ``now``,
        oldest first."""
        self._news_tables()
        with self._lock:
            rows = self._db.execute(
                f"SELECT {self._NEWS_COLUMNS} FROM news_outbox "
                "WHERE state IN ('queued', 'sending') AND not_before <= ? "
                "ORDER BY created, key LIMIT ?",
                (now, limit),
            ).fetchall()
        return [self._news_entry(row) for row in rows]

    def news_entries(self, order_id: str | None = None) -> list[dict[str, Any]]:
        """Every message of ``order_id`` (or of all orders), oldest first."""
        self._news_tables()
        where, args = ("WHERE order_id=?", (order_id,)) if order_id else ("", ())
        with self._lock:
            rows = self._db.execute(
                f"SELECT {self._NEWS_COLUMNS} FROM news_outbox {where} ORDER BY created, key",
                args,
            ).fetchall()
        return [self._news_entry(row) for row in rows]

    def news_claim(self, key: str, at: float) -> None:
        """Mark ``key`` as being sent now. Durable on return: the request may leave."""
        self._news_tables()
        with self._lock:
            self._db.execute(
                "UPDATE news_outbox SET state='sending', claimed=?, attempts=attempts+1, "
                "updated=? WHERE key=?",
                (at, time.time(), key),
            )

    def news_settle(self, key: str, state: str, *, ref: str = "", error: str = "") -> None:
        """Record how ``key`` ended: ``sent`` (with the provider's id), ``failed``, ``unsure``,
        or back to ``queued`` (not sent; try on a later run)."""
        self._news_tables()
        with self._lock:
            self._db.execute(
                "UPDATE news_outbox SET state=?, ref=?, error=?, updated=? WHERE key=?",
                (state, ref, error, time.time(), key),
            )

    def news_cancel(self, order_id: str, events: Iterable[str]) -> int:
        """Cancel the still queued messages of ``order_id`` whose event starts with one of
        ``events``; returns how many."""
        self._news_tables()
        count = 0
        with self._lock:
            for event in events:
                cursor = self._db.execute(
                    "UPDATE news_outbox SET state='cancelled', updated=? WHERE order_id=? "
                    "AND state='queued' AND event >= ? AND event < ?",
                    (time.time(), order_id, event, event + "\uffff"),
                )
                count += int(cursor.rowcount)
        return count

    def news_counts(self) -> dict[str, int]:
        """How many messages are in each state (for ``sheetledger status``)."""
        self._news_tables()
        with self._lock:
            rows = self._db.execute(
                "SELECT state, COUNT(*) FROM news_outbox GROUP BY state"
            ).fetchall()
        return {str(state): int(count) for state, count in rows}

    def news_oldest_queued(self) -> float | None:
        """When the oldest message still to send (queued or sending) was queued; None: none."""
        self._news_tables()
        with self._lock:
            row = self._db.execute(
                "SELECT MIN(created) FROM news_outbox WHERE state IN ('queued', 'sending')"
            ).fetchone()
        return None if row is None or row[0] is None else float(row[0])
