"""The order desk over the master's Invoices tab: create, find, pay and reject orders.

``OrderBook`` implements ``OrderDesk`` (``orders/model.py``): the bot's bills, its Paid /
Reject buttons, and ``sheetledger orders`` go through it. It is a thin blocking shell
around ``LedgerSheets`` and ``LocalState`` (callers in asyncio use ``asyncio.to_thread``;
one lock serialises them).

Requests per call, with 50,000 rows in the tab (measured by bench/bench_orders.py):

* ``create``: one read and one write. The read is the Invoices header (checked before
  every append); the write is one ``appendCells`` that lands after the last row whatever
  people did to the tab meanwhile. The first call of a process (or the one after an
  unconfirmed append) reads the Order ID and Source columns with that header instead —
  two narrow columns, never the tab's rows — and the tab's sheetId once (metadata only).
* ``get``: two small reads (``LedgerSheets.read_row``): the ID column finds the row, then
  that row alone is read. ``pay`` / ``reject``: the same, then one write into that row
  (``write_row``) right after, so a person's sort can only race it in the milliseconds
  between (Sheets has no conditional write).

Nothing doubled, nothing lost: ``create`` is idempotent by ``draft.source``. Its key is
recorded in ``state.db`` (``orders.source:<source>``) *before* the append and marked
written after; a repeat finds it. A record left unwritten (a crash, a lost answer) makes
the next call look the source up in the sheet before appending, so the row is written
once. Should ``state.db`` be lost, the Source column read once per process still finds the
order. Only this book writes ``tg:`` sources, so what it read plus what it wrote stays true.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sheetledger.errors import RetriableError
from sheetledger.orders.model import (
    Order,
    OrderDraft,
    OrderId,
    OrderState,
    Payment,
    order_id,
)
from sheetledger.orders.rows import draft_cells, order_cells, order_from_cells, requester_chat
from sheetledger.store import LocalState

if TYPE_CHECKING:
    from sheetledger.ledger.sheets import LedgerSheets

log = logging.getLogger(__name__)

__all__ = ["TAB", "OrderBook", "OrderNotFound"]

TAB = "invoices"
_RECORD = "orders.source:"


class OrderNotFound(LookupError):
    """No order with this ID in the Invoices tab."""


def free_id(source: str, created: datetime, taken: set[str]) -> OrderId:
    """``order_id`` of ``source``, or of ``source'`` (and so on) when another order has it."""
    key = source
    oid = order_id(key, created.date())
    while oid in taken:
        key += "'"
        oid = order_id(key, created.date())
    return oid


class OrderBook:
    """``OrderDesk`` over the master ledger's Invoices tab."""

    def __init__(
        self,
        ledger: LedgerSheets,
        state: LocalState,
        *,
        today: Callable[[], date] | None = None,
    ) -> None:
        self.ledger = ledger
        self.state = state
        self._today = today or date.today
        self._lock = threading.Lock()
        self._sources: dict[str, str] | None = None  # source -> order id, as the sheet has it
        self._ids: set[str] = set()

    # -- create ------------------------------------------------------------------------

    def create(self, draft: OrderDraft, created: datetime) -> Order:
        """The order of ``draft.source``: appended once, found again on every repeat.

        Raises ``RetriableError`` / ``FatalError`` when Google does not take the row;
        calling again with the same draft is safe (the row is looked up before a retry).
        """
        with self._lock:
            key = _RECORD + draft.source
            record = self.state.get(key)
            if isinstance(record, dict) and record.get("written"):
                return self._order(draft, record)
            if isinstance(record, dict) or self._sources is None:
                self._load_keys()
            else:
                self.ledger.read([TAB], header_only=[TAB])
            assert self._sources is not None
            existing = self._sources.get(draft.source)
            if existing is not None:
                record = {
                    "id": existing,
                    "created": (record or {}).get("created") or created.isoformat(),
                    "written": True,
                }
                self.state.set(key, record)
                return self._order(draft, record)
            if isinstance(record, dict):
                oid, created = OrderId(str(record["id"])), datetime.fromisoformat(record["created"])
            else:
                oid = free_id(draft.source, created, self._ids)
                record = {"id": oid, "created": created.isoformat(), "written": False}
                self.state.set(key, record)  # before the append: a crash leaves a trace
            row = draft_cells(oid, draft, created)
            try:
                self.ledger.append_rows(TAB, [row])
            except RetriableError:
                # The row may or may not be there: the next call reads the sources first.
                self._sources = None
                raise
            self._sources[draft.source] = oid
            self._ids.add(oid)
            record = record | {"written": True}
            self.state.set(key, record)
            log.info("order %s created from %s", oid, draft.source)
            return self._order(draft, record)

    def _load_keys(self) -> None:
        """The Invoices header, Order IDs and Sources: one read of two columns."""
        found = self.ledger.read_columns(TAB, ["id", "source"])
        ids, sources = found["id"], found["source"]
        self._ids = {str(i) for i in ids if i not in (None, "")}
        self._sources = {
            str(s): str(i)
            for i, s in zip(ids, sources + [None] * (len(ids) - len(sources)), strict=False)
            if s not in (None, "") and i not in (None, "")
        }

    @staticmethod
    def _order(draft: OrderDraft, record: dict[str, Any]) -> Order:
        if draft.requester_chat is None:
            chat = requester_chat(draft.source)
            if chat is not None:
                draft = OrderDraft(**{**draft.__dict__, "requester_chat": chat})
        return Order(OrderId(str(record["id"])), datetime.fromisoformat(record["created"]), draft)

    # -- read, pay, reject ---------------------------------------------------------------

    def orders(self) -> list[Order]:
        """Every usable order of the Invoices tab, in sheet order (one read)."""
        view = self.ledger.read([TAB])
        today = self._today()
        found = (order_from_cells(cells, today) for cells in view.tab(TAB))
        return [order for order in found if order is not None]

    def get(self, order_id: OrderId) -> Order | None:
        with self._lock:
            return self._get(order_id)

    def _get(self, oid: OrderId) -> Order | None:
        return self._find(oid)[0]

    def _find(self, oid: OrderId) -> tuple[Order | None, int]:
        """The order and its sheet row (two small reads: the ID column, then the row)."""
        found = self.ledger.read_row(TAB, oid)
        if found is None:
            return None, 0
        cells, row = found
        return order_from_cells(cells, self._today()), row

    def pay(self, order_id: OrderId, payment: Payment) -> Order:
        """Tick Paid on the order (as the accountant's tick would). An order already paid or
        rejected is returned as it is: the first decision stands."""
        with self._lock:
            order, row = self._require(order_id)
            if order.state is not OrderState.NEW:
                return order
            paid = order.paid(payment)
            self.ledger.write_row(TAB, row, order_cells(paid))
            return paid

    def reject(self, order_id: OrderId, reason: str, by: str) -> Order:
        """Tick Reject with ``reason``. An order already paid or rejected is returned as it is."""
        with self._lock:
            order, row = self._require(order_id)
            if order.state is not OrderState.NEW:
                return order
            rejected = order.rejected(reason)
            self.ledger.write_row(TAB, row, order_cells(rejected))
            log.info("order %s rejected by %s", order_id, by)
            return rejected

    def _require(self, oid: OrderId) -> tuple[Order, int]:
        order, row = self._find(oid)
        if order is None:
            raise OrderNotFound(oid)
        return order, row
