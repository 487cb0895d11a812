"""The pull cursor: how far amoCRM has been read. Pure.

It lives in the ledger's ``_state`` tab and is written in the same request as the
rows it covers, so it can never run ahead of them (Singer's bookmark rule). It
never passes the cycle's start: a lead saved in the second the cycle began may
not be visible yet (amoCRM timestamps are whole seconds), and the next pull
starts ``overlap`` seconds earlier anyway.
"""

from __future__ import annotations

CURSOR_KEY = "cursor.leads_updated_at"


def pull_from(cursor: int | None, overlap_seconds: int) -> int | None:
    """``filter[updated_at][from]`` for the next pull; None reads everything."""
    if cursor is None:
        return None
    return max(0, cursor - overlap_seconds)


def next_cursor(old: int | None, newest_seen: int, started_at: int) -> int | None:
    """The cursor after a cycle that saw leads up to ``newest_seen``; never decreases."""
    candidates = [c for c in (old, min(newest_seen, started_at) if newest_seen else None) if c]
    return max(candidates) if candidates else None
