"""``sheetledger status``: what the daemon did last, read from the local state only.

It opens ``state.db`` read-mostly (SQLite in WAL mode lets it read while the daemon
writes), so it works while the daemon runs and needs no secrets and no network.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from rich.console import Console
from rich.table import Table

from sheetledger.config import Config
from sheetledger.connect import open_state
from sheetledger.sync.cursor import CURSOR_KEY


def _when(stamp: float | None, tz: object) -> str:
    if not stamp:
        return "—"
    return datetime.fromtimestamp(stamp, UTC).astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")  # type: ignore[arg-type]


def news_line(counts: Mapping[str, int], oldest: str | None) -> str:
    """The notifications' outbox in one line: queued (``sending`` counts as queued: its
    request is under way), sent, unsure, failed, cancelled when any, and the oldest queued."""
    queued = counts.get("queued", 0) + counts.get("sending", 0)
    parts = [f"queued {queued}"]
    if queued and oldest:
        parts[0] += f" (oldest since {oldest})"
    parts += [f"{name} {counts.get(name, 0)}" for name in ("sent", "unsure", "failed")]
    if counts.get("cancelled"):
        parts.append(f"cancelled {counts['cancelled']}")
    return "notifications outbox: " + ", ".join(parts)


def print_status(config: Config, console: Console) -> int:
    path = config.state_dir / "state.db"
    if not path.exists():
        console.print(f"no local state at {path}: the daemon has not run with this config yet")
        return 1
    store = open_state(config)
    try:
        runs = store.job_runs()
        cursor = store.get(CURSOR_KEY)
        outbox = len(store.outbox_pending(100_000))
        journal = store.journal_size()
        news = store.news_counts()
        oldest = store.news_oldest_queued()
    finally:
        store.close()
    table = Table(title=f"sheetledger status ({path})")
    for column in ("job", "last start", "last end", "result", "took / detail", "last error"):
        table.add_column(column, overflow="fold")
    for run in runs:
        ok = run["ok"]
        result = "—" if ok is None else ("ok" if ok else "[red]failed[/red]")
        table.add_row(
            run["job"],
            _when(run["started"], config.tz),
            _when(run["finished"], config.tz),
            result,
            run["detail"] or "",
            run["error"] or "",
        )
    console.print(table)
    cursor_text = _when(float(cursor), config.tz) if cursor else "— (next sync reads everything)"
    console.print(f"cursor (amoCRM leads updated up to): {cursor_text}")
    console.print(f"bot outbox: {outbox} expense(s) waiting for Google")
    console.print(f"pushes awaiting their mark in the ledger: {journal}")
    console.print(news_line(news, _when(oldest, config.tz) if oldest else None))
    failed = [r for r in runs if r["ok"] == 0]
    return 1 if failed else 0
