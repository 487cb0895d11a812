"""The bot's expenses: parsed lines → ledger rows, written through a local outbox; totals.

Planning is pure (``plan_expenses``: parsed lines + the Deals index → ``Expense``
rows); ``ExpenseBook`` is the thin, blocking I/O shell around ``LedgerSheets`` and
``LocalState`` (the bot calls it with ``asyncio.to_thread``; one lock serialises the
bot's handlers and the scheduler's ``flush``).

Nothing lost, nothing doubled:

* Every row is keyed ``tg:<chat>:<message>:<line>`` (the Expense ID column). It is
  put in the outbox (SQLite, synchronous) *before* the Sheets write and marked
  written after. A redelivered update finds its key in the outbox and writes
  nothing new; should ``state.db`` be lost, the sheet itself still dedups: the
  book reads the sheet's IDs once (``_known_ids``), and ``LedgerSheets.write``
  turns an append whose ID is already in the sheet into an update of that row.
* When Google does not answer (``RetriableError``) — or refuses (``FatalError``:
  a renamed column, a lost share), which a person must fix — the row stays pending
  in the outbox and ``flush`` writes it later, once. The outage is logged once and
  its end once.
* A category change or an undo is queued the same way: merged into a pending
  append (the row is written once, already changed), or a pending update of just
  those columns. Undo is a tick in the Void column: the row is kept and excluded
  from totals.

Requests per write (one message, or one flush of everything pending), measured by bench/bench_bot.py
"≤ 1 Sheets read + 1 write": one ``values:batchGet`` of the Expenses header (it checks
the header right before writing: a renamed or moved column stops the write, the row
waits), with the Deals columns up to the contract number only when a ``#1045`` waits
to become a deal id; then one ``batchUpdate`` whose ``appendCells`` lands after the
last row, whatever people did to the tab meanwhile — no read of the 50,000 rows.
That blind append is only for rows never tried before whose IDs the sheet does not
hold (the IDs are read once per process, then kept); a change, or a row whose
earlier write may have landed (a crash, a lost answer), goes through
``LedgerSheets.write``, which finds rows by ID first. Totals read afresh (people
edit the sheet). Sheets backoff is kept short for the bot (a person waits for the
reply): at most ~2 s of retries before the row waits in the outbox.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from sheetledger.bot.parse import ExpenseLine, dedup_key
from sheetledger.bot.places import PlaceTag, find_place
from sheetledger.bot.rows import DealContract, ExpenseRow
from sheetledger.config import ExpensesConfig
from sheetledger.contract_ref import contract_key
from sheetledger.errors import RetriableError, SheetledgerError
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
    "DealOffers",
    "Earlier",
    "Expense",
    "ExpenseBook",
    "FlushReport",
    "OutboxEntry",
    "Question",
    "Recorded",
    "Totals",
    "deal_choice",
    "deal_offers",
    "plan_expenses",
    "text_digest",
    "unmatched",
]

TAB = "expenses"
SOURCE = "telegram"
_OUTBOX_KEEP_SECONDS = 60 * 24 * 3600  # the buttons of a two-month-old reply still work
# What a button may change on a row (``ExpenseBook.change``).
_CHANGEABLE = frozenset(
    {"category", "category_guessed", "void", "contract_no", "deal_id", "deal_checked", "comment"}
)

# A message with the text of one recorded this long before is asked about, not recorded.
RESEND_WINDOW = timedelta(minutes=10)


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
    salon: str = ""  # tagged by «салон Ленина» / «@Ленина» (bot/places.py)
    city: str = ""

    def to_row(self) -> ExpenseRow:
        """The Expenses tab's row for this expense."""
        return ExpenseRow(
            id=self.key,
            date=self.date,
            amount=self.amount,
            category=self.category,
            comment=self.comment,
            contract_no=self.contract_no,
            deal_id=self.deal_id,
            entered_by=self.entered_by,
            source=self.source,
            recorded_at=self.recorded_at,
            void=self.void,
            salon=self.salon,
            city=self.city,
        )

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
            "salon": self.salon,
            "city": self.city,
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
            salon=str(data.get("salon") or ""),
            city=str(data.get("city") or ""),
        )

    @classmethod
    def from_row(cls, row: ExpenseRow) -> Expense | None:
        """An Expenses row read from the sheet; None when its date or amount is unusable."""
        if row.date is None or row.amount is None:
            return None
        return cls(
            key=row.id,
            date=row.date,
            amount=row.amount,
            category=row.category,
            comment=row.comment,
            contract_no=row.contract_no,
            deal_id=row.deal_id,
            entered_by=row.entered_by,
            recorded_at=row.recorded_at or datetime.now(UTC),
            source=row.source,
            void=row.void,
            salon=row.salon,
            city=row.city,
        )


@dataclass(frozen=True)
class DealIndex:
    """Deal ids by contract number (``contract_ref.contract_key``: ``№01045``, ``#1045``
    and ``1045`` are one contract), and how to show each deal on a button."""

    by_contract: Mapping[str, tuple[int, ...]]
    labels: Mapping[int, str] = field(default_factory=dict)
    # Each deal's contract number as the Deals tab writes it (what a chosen deal puts in
    # the expense's Contract no).
    contracts: Mapping[int, str] = field(default_factory=dict)

    @classmethod
    def from_view(cls, view: LedgerView) -> DealIndex:
        found: dict[str, list[int]] = {}
        labels: dict[int, str] = {}
        contracts: dict[int, str] = {}
        for cells in view.tab("deals"):
            deal = DealContract.from_cells(cells)
            if deal.contract_no is None or deal.id is None:
                continue
            key = contract_key(deal.contract_no)
            if key:
                found.setdefault(key, []).append(deal.id)
                labels[deal.id] = f"№ {deal.contract_no}" + (f" · {deal.name}" if deal.name else "")
                contracts[deal.id] = deal.contract_no
        return cls({k: tuple(v) for k, v in found.items()}, labels, contracts)

    def lookup(self, contract_no: str) -> tuple[int, ...]:
        return self.by_contract.get(contract_key(contract_no), ())

    def similar(self, contract_no: str, limit: int = 5) -> tuple[int, ...]:
        """Deals whose contract number holds this one's digits (a typo, a missing letter):
        what the bot offers when a reference matches no deal."""
        digits = "".join(ch for ch in contract_no if ch.isdigit()).lstrip("0")
        if not digits:
            return ()
        near = sorted(
            (key for key in self.by_contract if digits in key or key.split("-")[0] in digits),
            key=lambda key: (abs(len(key) - len(digits)), key),
        )
        ids = [deal for key in near for deal in self.by_contract[key]]
        return tuple(ids[:limit])

    def label(self, deal_id: int) -> str:
        return self.labels.get(deal_id, f"сделка {deal_id}")


def unmatched(expense: Expense) -> bool:
    """A contract reference looked up in Deals that matched no deal (or several): the
    person is offered the similar deals and «Без сделки» (``deal_choice``)."""
    return (
        expense.contract_no is not None
        and expense.deal_checked
        and expense.deal_id is None
        and not expense.void
    )


DealOffers = Mapping[str, tuple[tuple[int, str], ...]]  # Expense ID -> (deal id, label), …


def deal_offers(expenses: Iterable[Expense], deals: DealIndex, limit: int = 4) -> DealOffers:
    """The deals offered for each unmatched expense: those matching its reference (several
    deals with one contract number), then the similar ones."""
    offers = {}
    for expense in expenses:
        if unmatched(expense) and expense.contract_no is not None:
            found = dict.fromkeys(
                [*deals.lookup(expense.contract_no), *deals.similar(expense.contract_no)]
            )
            offers[expense.key] = tuple((deal, deals.label(deal)) for deal in list(found)[:limit])
    return offers


def deal_choice(
    expense: Expense, deal_id: int | None, deals: DealIndex
) -> dict[str, str | bool | int | None] | None:
    """The cells to change when the person picks ``deal_id`` for an unmatched expense, or
    goes on without a deal (``None``); ``{}`` when it is already so (a second press), None
    when the deal is not one of the ledger's.

    A picked deal sets Deal ID and the deal's own contract number; «Без сделки» clears the
    Contract no and keeps what was typed in the comment, so nothing the person wrote is lost
    and the row no longer asks.
    """
    if deal_id is None:
        if expense.contract_no is None or expense.deal_id is not None:
            return {}
        typed = f"(указан договор № {expense.contract_no}, без сделки)"
        comment = f"{expense.comment} {typed}".strip()
        return {"contract_no": None, "deal_id": None, "deal_checked": True, "comment": comment}
    if deal_id not in deals.contracts:
        return None
    if expense.deal_id == deal_id:
        return {}
    contract = deals.contracts[deal_id]
    return {"contract_no": contract, "deal_id": deal_id, "deal_checked": True}


def plan_expenses(
    lines: Sequence[ExpenseLine],
    *,
    chat_id: int,
    message_id: int,
    entered_by: str,
    recorded_at: datetime,
    deals: DealIndex | None,
    places: ExpensesConfig | None = None,
) -> list[Expense]:
    """The rows for the parsed lines of one message. ``deals`` None: not checkable now.
    ``places``: the configured salons and cities a comment may name (``bot.places``)."""
    planned = []
    for line in lines:
        deal_id = None
        if line.deal_ref is not None and deals is not None:
            matches = deals.lookup(line.deal_ref)
            deal_id = matches[0] if len(matches) == 1 else None
        tag = (
            find_place(line.comment, places.salons, places.cities)
            if places is not None
            else PlaceTag(comment=line.comment)
        )
        planned.append(
            Expense(
                key=dedup_key(chat_id, message_id, line.line_no),
                date=line.date,
                amount=line.amount,
                category=line.category,
                comment=tag.comment,
                contract_no=line.deal_ref,
                deal_id=deal_id,
                entered_by=entered_by,
                recorded_at=recorded_at,
                deal_checked=line.deal_ref is None or deals is not None,
                category_guessed=line.category_guessed,
                salon=tag.salon,
                city=tag.city,
            )
        )
    return planned


def text_digest(text: str) -> str:
    """The identity of a message's text for "sent again?": case, spaces and empty lines aside."""
    lines = (" ".join(line.split()).casefold() for line in text.splitlines())
    normal = "\n".join(line for line in lines if line)
    return hashlib.sha256(normal.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Earlier:
    """A message recorded shortly before another with the same text."""

    message_id: int
    sent_at: datetime
    expenses: list[Expense]


@dataclass(frozen=True)
class Question:
    """A repeated message the bot asked about ("record again?"), kept until answered."""

    text: str
    sent_at: datetime


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


@dataclass(frozen=True)
class OutboxEntry:
    """One row of the bot's outbox (``LocalState``): the expense as the bot knows it and what
    is still to write (``append`` the row, or ``update`` the columns in ``dirty``)."""

    key: str
    expense: Expense
    op: str
    dirty: tuple[str, ...]
    pending: bool
    version: int
    attempts: int  # writes tried (counted before each is sent)

    @classmethod
    def from_store(cls, stored: Mapping[str, Any]) -> OutboxEntry:
        return cls(
            key=str(stored["key"]),
            expense=Expense.from_json(stored["row"]),
            op=str(stored["op"]),
            dirty=tuple(str(k) for k in stored["dirty"]),
            pending=bool(stored["pending"]),
            version=int(stored["version"]),
            attempts=int(stored["attempts"]),
        )

    def blind(self, known: set[str]) -> bool:
        """Whether it may be appended without looking for its ID in the sheet: a new row,
        never tried before (a try may have landed), not in the sheet."""
        return self.op == "append" and self.attempts == 0 and self.key not in known


def _changes(pending: Sequence[OutboxEntry]) -> LedgerChanges:
    """The ledger write of outbox entries: appends of whole rows, updates of dirty cells."""
    changes = LedgerChanges()
    for entry in pending:
        cells = entry.expense.to_row().to_cells()
        if entry.op == "append":
            changes.appends.append(RowAppend(TAB, entry.key, cells))
        else:
            dirty = {k: cells[k] for k in entry.dirty if k in cells}
            changes.updates.append(RowUpdate(TAB, entry.key, dirty))
    return changes


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
        self._ids: set[str] | None = None  # Expense IDs in the sheet (``_known_ids``)
        self._pruned_at = float("-inf")
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

    def _read(self, *, rows: bool = True, deals: bool = True) -> LedgerView:
        """Expenses and the Deals index, in one request. ``rows=False`` reads only the
        Expenses header (what a write needs: rows are found by ID, or appended) and the
        Deals columns up to the contract number; ``deals=False`` leaves Deals out.
        """
        if rows:
            view = self._google(lambda: self.ledger.read([TAB, "deals"]))
        else:
            tabs = [TAB, "deals"] if deals else [TAB]
            view = self._google(
                lambda: self.ledger.read(
                    tabs, header_only=[TAB], leading={"deals": DealContract.WIDTH}
                )
            )
        self._view = view
        if "deals" in view.tabs:
            self._deals = DealIndex.from_view(view)
        return view

    def deal_index(self) -> DealIndex:
        """The Deals index, read afresh (one narrow read: Deals up to the contract number)."""
        with self._lock:
            view = self._google(
                lambda: self.ledger.read(["deals"], leading={"deals": DealContract.WIDTH})
            )
            return DealIndex.from_view(view)

    def known_deals(self) -> DealIndex:
        """The Deals index last read (a write with a contract number reads it), else read now."""
        with self._lock:
            return self._deals if self._deals is not None else self.deal_index()

    def offers(self, expenses: Sequence[Expense]) -> DealOffers:
        """The deals to offer for the unmatched expenses among ``expenses`` (no request when
        none is; ``{}`` while Google does not answer: the buttons come with the next reply)."""
        if not any(unmatched(e) for e in expenses):
            return {}
        try:
            return deal_offers(expenses, self.known_deals())
        except SheetledgerError as exc:
            self._note_outage(exc)
            return {}

    def choose_deal(self, key: str, deal_id: int | None) -> tuple[Expense, bool] | None:
        """The person picked ``deal_id`` for the row ``key`` (None: «Без сделки»): set it
        (``deal_choice``), at most once — a second press, after a restart too, changes
        nothing. Returns the row as it is now, as ``change``; None when the row or the
        deal is unknown."""
        with self._lock:
            entry = self.entries([key]).get(key)
            current = entry.expense if entry is not None else self._from_sheet(key)
            if current is None:
                return None
            try:
                deals = self.known_deals() if deal_id is not None else DealIndex({})
            except SheetledgerError as exc:
                self._note_outage(exc)
                return None
            values = deal_choice(current, deal_id, deals)
            if values is None:
                return None
            if not values:
                return current, entry is None or not entry.pending
            return self.change(key, values)

    # -- the outbox, typed -----------------------------------------------------------------

    def pending(self, limit: int = 1000) -> list[OutboxEntry]:
        """Entries still to write, oldest first."""
        return [OutboxEntry.from_store(e) for e in self.state.outbox_pending(limit)]

    def entries(self, keys: Iterable[str]) -> dict[str, OutboxEntry]:
        """The entries of ``keys`` that exist, by key."""
        return {k: OutboxEntry.from_store(e) for k, e in self.state.outbox_get(keys).items()}

    def find(self, prefix: str) -> dict[str, OutboxEntry]:
        """The entries whose key starts with ``prefix`` (one message's rows), by key."""
        return {k: OutboxEntry.from_store(e) for k, e in self.state.outbox_find(prefix).items()}

    # -- writing -------------------------------------------------------------------------

    def record(self, expenses: Sequence[Expense]) -> Recorded:
        """Accept one message's rows (durably), then try to write everything pending."""
        with self._lock:
            keys = [e.key for e in expenses]
            added = self.state.outbox_add((e.key, e.to_json()) for e in expenses)
            report = self.flush()
            entries = self.entries(keys)
            current = [entries[e.key].expense if e.key in entries else e for e in expenses]
            written = all(k in entries and not entries[k].pending for k in keys)
            return Recorded(
                current,
                written=written,
                redelivered=not added,
                problem="" if written else report.problem,
                fatal=not written and report.fatal,
            )

    def change(
        self, key: str, values: Mapping[str, str | bool | int | None]
    ) -> tuple[Expense, bool] | None:
        """Set ``values`` (``category``, ``void``, the deal: ``deal_choice``) on the row
        ``key``, through the outbox.

        Returns the row as it is now and whether the sheet has it already; None when the
        row is known neither locally nor in the sheet.
        """
        wanted = {k: v for k, v in values.items() if k in _CHANGEABLE}
        with self._lock:
            if key in self.entries([key]):
                self.state.outbox_change(key, wanted)
            else:
                found = self._from_sheet(key)
                if found is None:
                    return None
                self.state.outbox_change(key, wanted, row=found.to_json())
            self.flush()
            entry = self.entries([key])[key]
            return entry.expense, not entry.pending

    def _from_sheet(self, key: str) -> Expense | None:
        try:
            view = self._read()
        except SheetledgerError as exc:
            self._note_outage(exc)
            return None
        cells = view.tab(TAB).get(key)
        return None if cells is None else Expense.from_row(ExpenseRow.from_cells(cells))

    def sheet_rows(self, prefix: str) -> dict[str, Expense]:
        """Rows of the sheet whose ID starts with ``prefix`` (when ``state.db`` was lost)."""
        with self._lock:
            try:
                view = self._read()
            except SheetledgerError as exc:
                self._note_outage(exc)
                return {}
            found = {}
            for row_id, cells in view.tab(TAB).rows.items():
                if row_id.startswith(prefix):
                    expense = Expense.from_row(ExpenseRow.from_cells(cells))
                    if expense is not None:
                        found[row_id] = expense
            return found

    def flush(self) -> FlushReport:
        """Write every pending outbox entry in one batchUpdate; safe to call any time.

        This is what the scheduler calls (from a worker thread) while the bot runs.
        New rows never tried before, whose IDs the sheet does not hold, are appended
        blind (``append_rows``: one request, no read of the tab); anything else — a
        change, a row whose earlier write may have landed — goes through ``write``,
        which finds the rows by ID first.
        """
        with self._lock:
            pending = self.pending()
            if not pending:
                return FlushReport()
            try:
                unresolved = any(not e.expense.deal_checked for e in pending)
                # Checks the header of Expenses right before writing; Deals only when a
                # contract number waits to be turned into a deal id.
                self._read(rows=False, deals=unresolved)
                if unresolved:
                    self._resolve_deals(pending)
                    pending = self.pending()
                known = self._known_ids()
                self.state.outbox_trying(e.key for e in pending)
                if not all(entry.blind(known) for entry in pending) or not self._append(pending):
                    self._google(lambda: self.ledger.write(_changes(pending)))
                known.update(e.key for e in pending)
            except SheetledgerError as exc:
                problem = self._note_outage(exc)
                self.state.outbox_failed([e.key for e in pending], problem)
                fatal = not isinstance(exc, RetriableError)
                return FlushReport(0, len(pending), problem, fatal=fatal)
            self.state.outbox_done((e.key, e.version) for e in pending)
            if self.watch.recovered(GOOGLE):
                log.info("wrote %d expense rows that waited in the outbox", len(pending))
            self._prune()
            return FlushReport(len(pending), 0, "", [e.key for e in pending])

    def _append(self, pending: Sequence[OutboxEntry]) -> bool:
        """Append new rows blind; False when the answer was lost or refused for a while (a
        dropped connection, a 5xx, a 429): the rows may be there, so the caller writes them
        by ID instead, at once — the reply should say written, not waiting."""
        rows = [e.expense.to_row().to_cells() for e in pending]
        try:
            self._google(lambda: self.ledger.append_rows(TAB, rows))
        except RetriableError as exc:
            log.info(
                "append of %d expense row(s) not confirmed (%s); writing by ID", len(rows), exc
            )
            return False
        return True

    def _known_ids(self) -> set[str]:
        """The Expense IDs in the sheet: read once (one read of the ID column), then kept
        up to date with what this book writes. Only the bot writes ``tg:`` IDs, so the set
        stays true; it is what keeps a message redelivered after ``state.db`` was lost
        from being appended twice."""
        if self._ids is None:
            self._ids = self._google(lambda: self.ledger.row_ids(TAB))
        return self._ids

    def _prune(self) -> None:
        """Forget long-written outbox entries, at most once an hour."""
        now = time.monotonic()
        if now - self._pruned_at >= 3600:
            self.state.outbox_prune(_OUTBOX_KEEP_SECONDS)
            self._pruned_at = now

    def _resolve_deals(self, pending: Sequence[OutboxEntry]) -> None:
        """Look up contract numbers accepted while the Deals tab could not be read."""
        if self._deals is None:
            return
        for entry in pending:
            expense = entry.expense
            if expense.deal_checked:
                continue
            ref = expense.contract_no
            matches = self._deals.lookup(ref) if ref else ()
            deal_id = matches[0] if len(matches) == 1 else None
            self.state.outbox_change(expense.key, {"deal_id": deal_id, "deal_checked": True})

    def _note_outage(self, exc: SheetledgerError) -> str:
        """Tell the watch (which logs an outage once); the problem, for the outbox entries."""
        self.watch.failed_with(exc, service=GOOGLE)
        log.debug("expenses wait in the local outbox: %s", exc)
        return str(exc)

    # -- the same text sent again ----------------------------------------------------------
    #
    # Kept in ``state.db``'s key/value table: the last recorded message per chat and text,
    # and the messages the bot asked about. Losing them only loses the question.

    def remember_text(self, chat_id: int, message_id: int, digest: str, sent_at: datetime) -> None:
        """``message_id`` was recorded with this text."""
        value = {"message_id": message_id, "sent_at": sent_at.timestamp()}
        self.state.set(f"bot.text:{chat_id}:{digest}", value)

    def same_text_before(
        self, chat_id: int, message_id: int, digest: str, sent_at: datetime
    ) -> Earlier | None:
        """Another message of this chat with the same text, recorded within
        ``RESEND_WINDOW`` before ``sent_at``, with rows still counted; else None."""
        known = self.state.get(f"bot.text:{chat_id}:{digest}")
        if not isinstance(known, dict) or known.get("message_id") == message_id:
            return None
        if self.message_rows(chat_id, message_id):
            return None  # this very message was recorded: a redelivery, not a new message
        earlier_at = datetime.fromtimestamp(float(known["sent_at"]), UTC)
        if not timedelta(0) <= sent_at - earlier_at <= RESEND_WINDOW:
            return None
        expenses = self.message_rows(chat_id, int(known["message_id"]))
        if not any(not e.void for e in expenses):
            return None  # all undone: sending it again is how a person re-records
        return Earlier(int(known["message_id"]), earlier_at, expenses)

    def message_rows(self, chat_id: int, message_id: int) -> list[Expense]:
        """The rows of one message as the outbox knows them, in line order."""
        prefix = dedup_key(chat_id, message_id, 0).rsplit(":", 1)[0] + ":"
        rows = [e.expense for e in self.find(prefix).values()]
        return sorted(rows, key=lambda e: int(e.key.rsplit(":", 1)[1]))

    def remember_question(
        self, chat_id: int, message_id: int, text: str, sent_at: datetime
    ) -> None:
        value = {"text": text, "sent_at": sent_at.timestamp()}
        self.state.set(f"bot.ask:{chat_id}:{message_id}", value)

    def question(self, chat_id: int, message_id: int) -> Question | None:
        asked = self.state.get(f"bot.ask:{chat_id}:{message_id}")
        if not isinstance(asked, dict):
            return None
        return Question(str(asked["text"]), datetime.fromtimestamp(float(asked["sent_at"]), UTC))

    def forget_question(self, chat_id: int, message_id: int) -> None:
        self.state.delete(f"bot.ask:{chat_id}:{message_id}")

    # -- totals --------------------------------------------------------------------------

    def totals(self, start: date, end: date) -> Totals:
        """Expenses dated ``start``..``end`` by category, void excluded, outbox included.

        Raises ``RetriableError``/``FatalError`` when the sheet cannot be read.
        """
        with self._lock:
            view = self._read()
            rows: dict[str, Expense] = {}
            for cells in view.tab(TAB):
                expense = Expense.from_row(ExpenseRow.from_cells(cells))
                if expense is not None:
                    rows[expense.key] = expense
            waiting = self.pending(limit=100_000)
            for entry in waiting:
                rows[entry.key] = entry.expense
            totals = sum_by_category(rows.values(), start, end)
            waiting_keys = {e.key for e in waiting}
            totals.pending = sum(
                1
                for e in rows.values()
                if e.key in waiting_keys and not e.void and start <= e.date <= end
            )
            return totals
