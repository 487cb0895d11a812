"""A payment row takes its confirmation back from amoCRM when the sheet lost or mixed it up.

A person can make the ledger forget a push without touching amoCRM: pasting over a row
clears its Sync state and Pushed amount, deleting a confirmed row makes the next pull
bring it back empty, sorting a range that leaves the daemon's columns behind puts one
payment's state on another payment's row. amoCRM keeps the truth in its marker notes
(``rebuild/notes.py``), so:

* after every write the daemon remembers each payment's state as it left it
  (``remember_states``, in ``state.db``);
* next cycle, a row whose state differs from that, or a remembered payment whose row
  is gone, is a suspect (``suspects``). Only then are notes read: the suspects' deals,
  one notes request and one leads request per 50 deals (``read_recall``); the leads
  bring a deleted row back through the ordinary pull;
* the row takes its Sync state and Pushed amount from its latest marker, or loses them
  when amoCRM has none; its people's confirmation cells too when they are all empty
  (``plan_recall``). Nothing is pushed again that amoCRM already has, and the next
  event of the payment gets the number after amoCRM's last;
* a payment with a push still in the journal is a suspect too: amoCRM may have taken
  the deal's PATCH but not its note, and a person may since have unticked the row, so
  no event would ever write the total again. Once recalled, a journaled push that this
  cycle no longer plans is forgotten (``stale_pushes``);
* a suspect deal whose confirmed-total field differs from the ledger's total gets the
  ledger's total written again (``total_patches``): a field write is absolute;
* the amount beside an ID is part of what is remembered: a sort of the first columns
  moves IDs away from their amounts, and a recalled row whose last confirmation was of
  exactly amoCRM's amount shows that amount again (``_moved_amount``) rather than
  confirming the foreign one as a correction;
* a payment with copies (``sync/duplicates.py``) keeps the state remembered before it
  was copied, so the row left once the copies are deleted is checked against it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any, Protocol

from sheetledger.config import Config
from sheetledger.crm.parse import confirmed_total, parse_payments
from sheetledger.ledger.records import PaymentRow
from sheetledger.ledger.view import LedgerChanges, LedgerView, TabRows
from sheetledger.model import ZERO, RowCode, money
from sheetledger.rebuild.notes import NoteRecord, latest_records
from sheetledger.rebuild.plan import restore_cells
from sheetledger.store import LocalState
from sheetledger.sync.push import deal_totals
from sheetledger.sync.state import RowState, SyncStatus

STATES_KEY = "ledger.states"  # payment ID -> its state as the last good write left it


@dataclass(frozen=True)
class Recall:
    """What amoCRM says of the suspect payments and their deals."""

    records: Mapping[str, NoteRecord | None] = field(default_factory=dict)  # None: no marker
    totals: Mapping[int, Decimal | None] = field(default_factory=dict)  # deal -> amoCRM's field
    amounts: Mapping[str, Decimal | None] = field(default_factory=dict)  # payment -> its amount

    def __bool__(self) -> bool:
        return bool(self.records)


class NotesAndLeads(Protocol):
    """What ``read_recall`` needs of ``AmoClient``."""

    def leads(self, *, ids: Sequence[int] = ()) -> Iterator[dict[str, Any]]: ...
    def notes(
        self, lead_ids: Sequence[int], *, note_type: str | None = None
    ) -> Iterator[dict[str, Any]]: ...


def state_key(row: PaymentRow) -> str:
    """A row's state as compared between cycles: status, event number, pushed amount, and
    the amount beside it (a sort of the first columns moves an ID away from its amount).
    The problem text after the state is left out: the pull rewrites it."""
    return _state_key(row.state, row.pushed_amount, row.amount)


@lru_cache(maxsize=1 << 16, typed=True)
def _state_key(state_cell: Any, pushed_cell: Any, amount_cell: Any) -> str:
    """``state_key`` of three cells. Memoised: 30,000 rows hold a few thousand distinct
    triples (a price list, a handful of states), and a cycle asks twice for each row.
    (Typed: a float, an int and a Decimal of one value are told apart, as ``_text`` does.
    Equal Decimals give equal results: ``money`` rounds both to two places.)"""
    state = RowState.parse(state_cell)
    pushed, amount = _text(pushed_cell), _text(amount_cell)
    if not (state.status or state.seq or pushed or amount):
        return ""
    return f"{state.status}|{state.seq}|{pushed}|{amount}"


def _text(value: Any) -> str:
    return format(money(value), "f") if isinstance(value, Decimal | int) else str(value or "")


def current_states(payments: TabRows) -> dict[str, str]:
    return {row_id: state_key(row) for row_id, row in payments.typed(PaymentRow).items()}


def remembered_states(store: LocalState) -> dict[str, str] | None:
    """The states the last good write left, or None before the first one."""
    found = store.get(STATES_KEY)
    return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else None


def remember_states(store: LocalState, view: LedgerView) -> None:
    """Keep every payment's state after a good cycle or a rebuild (written when it changed).

    A payment with copies keeps what was remembered before it was copied: nothing is pushed
    for it meanwhile, and the copies' states may be anybody's (a sort while they stood), so
    the row left once the copies are deleted is compared with the state amoCRM last had.
    """
    if "payments" not in view.tabs:
        return
    payments = view.tab("payments")
    states = current_states(payments)
    before = remembered_states(store)
    for row_id in payments.copies:
        if before is not None and row_id in before:
            states[row_id] = before[row_id]
    if states != before:
        store.set(STATES_KEY, states)


def suspects(payments: TabRows, remembered: Mapping[str, str] | None) -> set[str]:
    """Payments whose row is gone or whose state is not what the daemon left. Pure.

    Rows with copies are left to ``sync/duplicates.py``, which holds them back.
    """
    if remembered is None:
        return set()
    found = {
        row_id
        for row_id, key in current_states(payments).items()
        if remembered.get(row_id, "") != key and row_id not in payments.copies
    }
    return found | (set(remembered) - set(payments.rows))


def stale_pushes(
    journaled: Iterable[tuple[str, int]], recall: Recall, planned: Iterable[tuple[str, int]]
) -> set[tuple[str, int]]:
    """Journaled pushes of recalled payments that this cycle does not plan: the row took
    its state from amoCRM, so nothing is on its way any more. Pure."""
    keep = set(planned)
    return {key for key in journaled if key[0] in recall.records and key not in keep}


def deal_of(payment_id: str) -> int | None:
    head = payment_id.split(":", 1)[0]
    return int(head) if head.isdigit() else None


def read_recall(
    crm: NotesAndLeads, payment_ids: Iterable[str], config: Config
) -> tuple[Recall, list[dict[str, Any]]]:
    """amoCRM's record of ``payment_ids``, and their deals' leads for the pull. The shell."""
    wanted = set(payment_ids)
    deals = sorted({d for d in map(deal_of, wanted) if d is not None})
    if not deals:
        return Recall(), []
    leads = list(crm.leads(ids=deals))
    latest = latest_records(crm.notes(deals, note_type="common"))
    field_id = config.amocrm.fields.confirmed_total
    totals = {int(lead["id"]): confirmed_total(lead, field_id) for lead in leads}
    amounts = {
        str(payment.id): payment.amount
        for lead in leads
        for payment in parse_payments(lead, config.amocrm, config.tz)
        if payment.id in wanted
    }
    return Recall({p: latest.get(p) for p in sorted(wanted)}, totals, amounts), leads


def plan_recall(view: LedgerView, recall: Recall) -> LedgerChanges:
    """The cells that make each suspect row say what amoCRM's markers say. Pure."""
    changes = LedgerChanges()
    if not recall.records:
        return changes
    payments = view.tab("payments")
    for payment_id, record in recall.records.items():
        row = payments.get(payment_id)
        if row is None or payment_id in payments.copies:
            continue  # gone from amoCRM too, or held back as a copy
        cells = recall_cells(row, record)
        changes.update("payments", payment_id, cells | _moved_amount(row, record, cells, recall))
    return changes


def _moved_amount(
    row: Mapping[str, Any], record: NoteRecord | None, cells: Mapping[str, Any], recall: Recall
) -> dict[str, Any]:
    """The amount amoCRM has, when the row shows another one that a sort moved beside its ID.

    The pull keeps a confirmed row's amount and flags ``E_CHANGED`` when amoCRM's differs
    (a manager changed it after the money was confirmed). On a recalled row whose last
    confirmation was of exactly amoCRM's amount, the difference is the sheet's, not amoCRM's:
    the amount is written back and the flag goes.
    """
    amount = recall.amounts.get(str(row["id"]))
    if record is None or record.kind != "confirm" or amount is None:
        return {}
    if record.amount != amount or row.get("amount") == amount:
        return {}
    state = RowState.parse(cells.get("state", row.get("state")))
    problem = "" if state.problem.startswith(RowCode.E_CHANGED) else state.problem
    return {"amount": amount, "state": RowState(state.status, state.seq, problem).render()}


def recall_cells(row: Mapping[str, Any], record: NoteRecord | None) -> dict[str, Any]:
    """The cells of ``row`` that differ from amoCRM's ``record`` of its payment."""
    state = RowState.parse(row.get("state"))
    kept = SyncStatus.CANCELLED if state.status == SyncStatus.CANCELLED else SyncStatus.NONE
    blank = RowState(kept, 0, state.problem).render()  # the row as if it knew no event
    if record is None:
        wanted: dict[str, Any] = {"state": blank, "pushed_amount": None}
    elif not record.kind:
        return {}  # a note edited by hand in amoCRM: the row stays as it is (reconcile says so)
    else:
        wanted, _ = restore_cells({**row, "state": blank}, record)  # up to amoCRM's last event
    return {key: value for key, value in wanted.items() if row.get(key) != value}


def total_patches(view: LedgerView, recall: Recall, config: Config) -> dict[int, dict[str, Any]]:
    """A PATCH of the confirmed-total field for each suspect deal amoCRM shows another
    total for than the ledger (after the recall). Pure."""
    field_id = config.amocrm.fields.confirmed_total
    if field_id is None or not recall.totals:
        return {}
    totals = deal_totals(view)
    deals = view.tab("deals").rows
    patches = {}
    for deal_id, crm in sorted(recall.totals.items()):
        ledger = money(totals.get(deal_id, ZERO))
        if str(deal_id) in deals and (crm or ZERO) != ledger:
            patches[deal_id] = {
                "id": deal_id,
                "custom_fields_values": [
                    {"field_id": field_id, "values": [{"value": format(ledger, "f")}]}
                ],
            }
    return patches
