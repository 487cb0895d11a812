"""Noticing a ledger tab that was deleted or emptied, before a sync fills a fraction of it.

Deals and Payments rows only ever grow: the daemon never removes one, and amoCRM
keeps every deal. So when one of these tabs holds far fewer rows than the last good
cycle left in it (remembered in ``state.db``), people deleted or emptied it. A cycle
would then bring back only the deals changed since its cursor — a few rows, without
their confirmations — and go on as if all were well. It stops instead and says to run
``sheetledger rebuild``, which restores every row and confirmation from amoCRM.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sheetledger.errors import FatalError
from sheetledger.rebuild.recall import remember_states
from sheetledger.store import LocalState
from sheetledger.sync.ledger_view import LedgerView

ROWS_KEY = "ledger.rows"  # tab key -> rows after the last good cycle
GUARDED = ("deals", "payments")


class LedgerLost(FatalError):
    """A managed tab lost most of its rows: nothing is synced until ``rebuild`` ran."""

    def __init__(self, lost: Mapping[str, tuple[int, int]], titles: Mapping[str, str]) -> None:
        self.lost = dict(lost)
        detail = "; ".join(
            f"tab '{titles.get(key, key)}' has {now} rows, the ledger had {had}"
            for key, (now, had) in sorted(lost.items())
        )
        super().__init__(
            "Google Sheets",
            f"{detail} (deleted or emptied?) — nothing synced, so no confirmation is lost",
            hint="run `sheetledger rebuild`: it restores every row and confirmation from amoCRM",
        )


def shrunk(now: int, had: int) -> bool:
    """Far fewer rows than before: more than half of them gone."""
    return had > 0 and now * 2 < had


def lost_tabs(view: LedgerView, remembered: Mapping[str, int]) -> dict[str, tuple[int, int]]:
    """The guarded tabs of ``view`` that shrank, as ``key -> (rows now, rows before)``. Pure."""
    lost = {}
    for key in GUARDED:
        if key not in view.tabs:
            continue
        now, had = len(view.tab(key)), int(remembered.get(key, 0))
        if shrunk(now, had):
            lost[key] = (now, had)
    return lost


def remembered_rows(store: LocalState) -> dict[str, int]:
    found = store.get(ROWS_KEY, {})
    return {str(k): int(v) for k, v in found.items()} if isinstance(found, dict) else {}


def check_ledger(view: LedgerView, store: LocalState, titles: Mapping[str, str]) -> None:
    """Raise ``LedgerLost`` when a guarded tab of ``view`` was deleted or emptied."""
    lost = lost_tabs(view, remembered_rows(store))
    if lost:
        raise LedgerLost(lost, titles)


def remember_ledger(store: LocalState, view: LedgerView) -> None:
    """Keep the guarded tabs' sizes, and every payment's state, after a good cycle (or a
    rebuild): the next cycle tells from them what people deleted or pasted over."""
    remember_states(store, view)
    sizes = {key: len(view.tab(key)) for key in GUARDED if key in view.tabs}
    if sizes and sizes != remembered_rows(store):
        store.set(ROWS_KEY, remembered_rows(store) | sizes)


def lost_on_init(store: LocalState, created: Iterable[str], titles: Mapping[str, str]) -> list[str]:
    """What ``init`` must say when it recreated a guarded tab that held rows."""
    remembered = remembered_rows(store)
    made = set(created)
    return [
        f"tab '{titles[key]}' was missing and is now empty; the ledger had {remembered[key]} "
        "rows — run `sheetledger rebuild` to restore them and their confirmations from amoCRM "
        "(a sync refuses until then)"
        for key in GUARDED
        if key in titles and titles[key] in made and remembered.get(key, 0) > 0
    ]
