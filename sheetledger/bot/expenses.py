"""The bot's expenses: parsed lines → ledger rows, written through a local outbox; totals.

Planning is pure (``plan_expenses``: parsed lines + the Deals index → ``Expense``
rows); ``ExpenseBook`` is the thin, blocking I/O shell around ``LedgerSheets`` and
``LocalState`` (the bot calls it with ``asyncio.to_thread``; one lock serialises the
bot's handlers and the scheduler's ``flush``).

Nothing lost, nothing doubled:

* Every row is keyed ``tg:<chat>:<message>:<line>`` (the Expense ID column). It is
  put in the outbox (SQLite, synchronous) *before* the Sheets write and marked
  written after. A redelivered update finds its key in the outbox and writes
  nothing new; should ``state.db`` be lost, the sheet itself still dedups, because
  ``LedgerSheets.write`` turns an append whose ID is already in the sheet into an
  update of that row.
* When Google does not answer (``RetriableError``) — or refuses (``FatalError``:
  a renamed column, a lost share), which a person must fix — the row stays pending
  in the outbox and ``flush`` writes it later, once. The outage is logged once and
  its end once.
* A category change or an undo is queued the same way: merged into a pending
  append (the row is written once, already changed), or a pending update of just
  those columns. Undo is a tick in the Void column: the row is kept and excluded
  from totals.

Requests per write (one message, or one flush of everything pending): one
``values:batchGet`` of Expenses + Deals — it checks the Expenses header right
before writing (a renamed or moved column stops the write, the row waits) and
gives the Deals index that turns ``#1045`` into a deal id — then the writer's
``batchGet`` of the ID column and one ``batchUpdate``. Contract numbers are thus
resolved at write time, also for rows that waited out an outage. Totals read
afresh too (people edit the sheet). Sheets backoff is kept short for the bot (a
person waits for the reply): at most ~2 s of retries before the row waits in the
outbox.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from sheetledger.bot.parse import ExpenseLine, dedup_key
from sheetledger.errors import RetriableError, SheetledgerError
from sheetledger.ledger.tabs import DEALS
from sheetledger.model import money
from sheetledger.outage import GOOGLE, OutageWatch
from sheetledger.store import LocalState
from sheetledger.sync.ledger_view import LedgerChanges, LedgerView, RowAppend, RowUpdate

if TYPE_CHECKING:
    from sheetledger.ledger.sheets import LedgerSheets

log = logging.getLogger(__name__)
T = TypeVar("T")

__all__ = [
    "DealIndex",
    "Expense",
    "ExpenseBook",
    "FlushReport",
    "Recorded",
    "Totals",
    "plan_expenses",
]

TAB = "expenses"
SOURCE = "telegram"
_OUTBOX_KEEP_SECONDS = 60 * 24 * 3600  # the buttons of a two-month-old reply still work


# --------------------------------------------------------------------------- pure part


@dataclass(frozen=True)
class Expense:
    """One expense row as the bot records it (column keys of ``tabs.EXPENSES``)."""

    key: str  # tg:<chat>:<message>:<line>, the Expense ID
    date: date
    amount: Decimal
    category: str
    comment: str
    contract_no: str | None
    deal_id: int | None
    entered_by: str
    recorded_at: datetime
    source: str = SOURCE
    void: bool = False
    # Whether contract_no was looked up in Deals (False while Google was unreachable).
    deal_checked: bool = True
    category_guessed: bool = False

    def sheet_values(self) -> dict[str, Any]:
        """Column key -> value, for the Expenses tab."""
        return {
            "id": self.key,
            "date": self.date,
            "amount": self.amount,
            "category": self.category,
            "comment": self.comment,
            "contract_no": self.contract_no,
            "deal_id": self.deal_id,
            "entered_by": self.entered_by,
            "source": self.source,
            "recorded_at": self.recorded_at,
            "void": self.void,
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "date": self.date.isoformat(),
            "amount": str(self.amount),
            "category": self.category,
            "comment": self.comment,
            "contract_no": self.contract_no,
            "deal_id": self.deal_id,
            "entered_by": self.entered_by,
            "recorded_at": self.recorded_at.isoformat(),
            "source": self.source,
            "void": self.void,
            "deal_checked": self.deal_checked,
            "category_guessed": self.category_guessed,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Expense:
        return cls(
            key=str(data["key"]),
            date=date.fromisoformat(str(data["date"])),
            amount=money(Decimal(str(data["amount"]))),
            category=str(data["category"]),
            comment=str(data.get("comment") or ""),
            contract_no=data.get("contract_no") or None,
            deal_id=None if data.get("deal_id") is None else int(data["deal_id"]),
            entered_by=str(data.get("entered_by") or ""),
            recorded_at=datetime.fromisoformat(str(data["recorded_at"])),
            source=str(data.get("source") or SOURCE),
            void=bool(data.get("void")),
            deal_checked=bool(data.get("deal_checked", True)),
            category_guessed=bool(data.get("category_guessed", False)),
        )

    @classmethod
    def from_sheet(cls, row: Mapping[str, Any]) -> Expense | None:
        """An Expenses row read from the sheet; None when its key cells are unusable."""
        if row.get("date") is None or row.get("amount") is None:
            return None
        recorded = row.get("recorded_at")
        return cls(
            key=str(row["id"]),
            date=row["date"],
            amount=row["amount"],
            category=str(row.get("category") or ""),
            comment=str(row.get("comment") or ""),
            contract_no=row.get("contract_no") or None,
            deal_id=row.get("deal_id"),
            entered_by=str(row.get("entered_by") or ""),
            recorded_at=recorded if isinstance(recorded, datetime) else datetime.now(UTC),
            source=str(row.get("source") or ""),
            void=bool(row.get("void")),
        )


def _contract_key(text: str) -> str:
    return " ".join(str(text).split()).casefold().lstrip("№#").strip()


@dataclass(frozen=True)
class DealIndex:
    """Deal ids by contract number (normalised: case, spaces, a leading № or #)."""

    by_contract: Mapping[str, tuple[int, ...]]

    @classmethod
    def from_view(cls, view: LedgerView) -> DealIndex:
        found: dict[str, list[int]] = {}
        for row in view.tab("deals"):
            contract, deal_id = row.get("contract_no"), row.get("id")
            if contract in (None, "") or deal_id is None:
                continue
            found.setdefault(_contract_key(str(contract)), []).append(int(deal_id))
        return cls({k: tuple(v) for k, v in found.items()})

    def lookup(self, contract_no: str) -> tuple[int, ...]:
        return self.by_contract.get(_contract_key(contract_no), ())


def plan_expenses(
    lines: Sequence[ExpenseLine],
    *,
    chat_id: int,
    message_id: int,
    entered_by: str,
    recorded_at: datetime,
    deals: DealIndex | None,
) -> list[Expense]:
    """The rows for the parsed lines of one message. ``deals`` None: not checkable now."""
    planned = []
    for line in lines:
        deal_id = None
        if line.deal_ref is not None and deals is not None:
            matches = deals.lookup(line.deal_ref)
            deal_id = matches[0] if len(matches) == 1 else None
        planned.append(
            Expense(
                key=dedup_key(chat_id, message_id, line.line_no),
                date=line.date,
                amount=line.amount,
                category=line.category,
                comment=line.comment,
                contract_no=line.deal_ref,
                deal_id=deal_id,
                entered_by=entered_by,
                recorded_at=recorded_at,
                deal_checked=line.deal_ref is None or deals is not None,
                category_guessed=line.category_guessed,
            )
        )
    return planned


@dataclass
class Totals:
    """Non-void expenses of a period by category (categories by amount, largest first)."""

    start: date
    end: date
    by_category: list[tuple[str, Decimal]]
    count: int
    pending: int  # of them, still waiting in the outbox

    @property
    def total(self) -> Decimal:
        return money(sum((amount for _, amount in self.by_category), Decimal(0)))


def sum_by_category(expenses: Iterable[Expense], start: date, end: date) -> Totals:
    """Totals of ``expenses`` dated ``start``..``end`` inclusive; void rows excluded."""
    sums: dict[str, Decimal] = {}
    count = 0
    for expense in expenses:
        if expense.void or not start <= expense.date <= end:
            continue
        name = expense.category or "—"
        sums[name] = sums.get(name, Decimal(0)) + expense.amount
        count += 1
    ordered = sorted(((k, money(v)) for k, v in sums.items()), key=lambda kv: (-kv[1], kv[0]))
    return Totals(start, end, ordered, count, 0)


# --------------------------------------------------------------------------- I/O shell


@dataclass
class Recorded:
    """What became of one message's expenses."""

    expenses: list[Expense]  # current state (after earlier changes, for a redelivery)
    written: bool  # every one of them is in the sheet now
    redelivered: bool  # the message was seen before: nothing new was accepted
    problem: str = ""  # why the sheet was not written ('' when it was)
    fatal: bool = False  # the problem needs a person (not just waiting)


@dataclass
class FlushReport:
    written: int = 0
    pending: int = 0
    problem: str = ""
    keys: list[str] = field(default_factory=list)
    fatal: bool = False  # the problem needs a person (not just waiting)


class ExpenseBook:
    """The bot's expenses in the master ledger, with the outbox in ``state``. Thread-safe."""

    def __init__(
        self,
        ledger: LedgerSheets | Callable[[], LedgerSheets],
        state: LocalState,
        *,
        watch: OutageWatch | None = None,
    ) -> None:
        self._ledger_or_factory = ledger
        self._ledger: LedgerSheets | None = None
        self.state = state
        self._lock = threading.RLock()
        self._view: LedgerView | None = None
        self._deals: DealIndex | None = None
        # The daemon's watch when it runs the bot, so a Google outage is told once in all.
        self.watch = watch or OutageWatch()

    # -- reading -------------------------------------------------------------------------

    @property
    def ledger(self) -> LedgerSheets:
        if self._ledger is None:
            source = self._ledger_or_factory
            self._ledger = source() if callable(source) else source
        return self._ledger

    def _google(self, call: Callable[[], T]) -> T:
        """Run a Sheets call; an unexpected exception (google-auth's token refresh failing,
        say) is an outage too: the row waits in the outbox rather than the handler failing."""
        try:
            return call()
        except SheetledgerError:
            raise
        except Exception as exc:
            if self.watch.outage(GOOGLE) is None:
                log.warning("unexpected failure talking to Google", exc_info=True)
            raise RetriableError(GOOGLE, f"{type(exc).__name__}: {exc}") from exc

    def _read(self, *, rows: bool = True) -> LedgerView:
        """Expenses and the Deals index; ``rows=False`` reads only the Expenses header and the
        Deals columns up to the contract number (what a write needs: rows are found by ID then).
        """
        if rows:
            view = self._google(lambda: self.ledger.read([TAB, "deals"]))
        else:
            contract = DEALS.index["contract_no"] + 1
            view = self._google(
                lambda: self.ledger.read(
                    [TAB, "deals"], header_only=[TAB], leading={"deals": contract}
                )
            )
        self._view, self._deals = view, DealIndex.from_view(view)
        return view

    # -- writing -------------------------------------------------------------------------

    def record(self, expenses: Sequence[Expense]) -> Recorded:
        """Accept one message's rows (durably), then try to write everything pending."""
        with self._lock:
            keys = [e.key for e in expenses]
            added = self.state.outbox_add((e.key, e.to_json()) for e in expenses)
            report = self.flush()
            entries = self.state.outbox_get(keys)
            current = [
                Expense.from_json(entries[e.key]["row"]) if e.key in entries else e
                for e in expenses
            ]
            written = all(k in entries and not entries[k]["pending"] for k in keys)
            return Recorded(
                current,
                written=written,
                redelivered=not added,
                problem="" if written else report.problem,
                fatal=not written and report.fatal,
            )

    def change(self, key: str, values: Mapping[str, Any]) -> tuple[Expense, bool] | None:
        """Set ``values`` (``category``, ``void``) on the row ``key``, through the outbox.

        Returns the row as it is now and whether the sheet has it already; None when the
        row is known neither locally nor in the sheet.
        """
        wanted = {k: v for k, v in values.items() if k in ("category", "category_guessed", "void")}
        with self._lock:
            known = self.state.outbox_get([key]).get(key)
            if known is not None:
                self.state.outbox_change(key, wanted)
            else:
                found = self._from_sheet(key)
                if found is None:
                    return None
                self.state.outbox_change(key, wanted, row=found.to_json())
            self.flush()
            entry = self.state.outbox_get([key])[key]
            return Expense.from_json(entry["row"]), not entry["pending"]

    def _from_sheet(self, key: str) -> Expense | None:
        try:
            view = self._read()
        except SheetledgerError as exc:
            self._note_outage(exc)
            return None
        row = view.tab(TAB).get(key)
        return None if row is None else Expense.from_sheet(row)

    def sheet_rows(self, prefix: str) -> dict[str, Expense]:
        """Rows of the sheet whose ID starts with ``prefix`` (when ``state.db`` was lost)."""
        with self._lock:
            try:
                view = self._read()
            except SheetledgerError as exc:
                self._note_outage(exc)
                return {}
            found = {}
            for row_id, row in view.tab(TAB).rows.items():
                if row_id.startswith(prefix):
                    expense = Expense.from_sheet(row)
                    if expense is not None:
                        found[row_id] = expense
            return found

    def flush(self) -> FlushReport:
        """Write every pending outbox entry in one batchUpdate; safe to call any time.

        This is what the scheduler calls (from a worker thread) while the bot runs.
        """
        with self._lock:
            pending = self.state.outbox_pending()
            if not pending:
                return FlushReport()
            try:
                self._read(rows=False)  # checks the header of Expenses, refreshes the Deals index
                self._resolve_deals(pending)
                pending = self.state.outbox_pending()
                changes = LedgerChanges()
                for entry in pending:
                    row = Expense.from_json(entry["row"]).sheet_values()
                    if entry["op"] == "append":
                        changes.appends.append(RowAppend(TAB, entry["key"], row))
                    else:
                        dirty = {k: row[k] for k in entry["dirty"] if k in row}
                        changes.updates.append(RowUpdate(TAB, entry["key"], dirty))
                self._google(lambda: self.ledger.write(changes))
            except SheetledgerError as exc:
                problem = self._note_outage(exc)
                self.state.outbox_failed([e["key"] for e in pending], problem)
                fatal = not isinstance(exc, RetriableError)
                return FlushReport(0, len(pending), problem, fatal=fatal)
            self.state.outbox_done((e["key"], e["version"]) for e in pending)
            if self.watch.recovered(GOOGLE):
                log.info("wrote %d expense rows that waited in the outbox", len(pending))
            self.state.outbox_prune(_OUTBOX_KEEP_SECONDS)
            return FlushReport(len(pending), 0, "", [e["key"] for e in pending])

    def _resolve_deals(self, pending: Sequence[Mapping[str, Any]]) -> None:
        """Look up contract numbers accepted while the Deals tab could not be read."""
        unchecked = [e for e in pending if not e["row"].get("deal_checked", True)]
        if not unchecked or self._deals is None:
            return
        for entry in unchecked:
            ref = entry["row"].get("contract_no")
            matches = self._deals.lookup(ref) if ref else ()
            deal_id = matches[0] if len(matches) == 1 else None
            self.state.outbox_change(entry["key"], {"deal_id": deal_id, "deal_checked": True})

    def _note_outage(self, exc: SheetledgerError) -> str:
        """Tell the watch (which logs an outage once); the problem, for the outbox entries."""
        self.watch.failed_with(exc, service=GOOGLE)
        log.debug("expenses wait in the local outbox: %s", exc)
        return str(exc)

    # -- totals --------------------------------------------------------------------------

    def totals(self, start: date, end: date) -> Totals:
        """Expenses dated ``start``..``end`` by category, void excluded, outbox included.

        Raises ``RetriableError``/``FatalError`` when the sheet cannot be read.
        """
        with self._lock:
            view = self._read()
            rows: dict[str, Expense] = {}
            for row in view.tab(TAB):
                expense = Expense.from_sheet(row)
                if expense is not None:
                    rows[expense.key] = expense
            waiting = self.state.outbox_pending(limit=100_000)
            for entry in waiting:
                rows[entry["key"]] = Expense.from_json(entry["row"])
            totals = sum_by_category(rows.values(), start, end)
            waiting_keys = {e["key"] for e in waiting}
            totals.pending = sum(
                1
                for e in rows.values()
                if e.key in waiting_keys and not e.void and start <= e.date <= end
            )
            return totals
