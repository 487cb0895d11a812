"""Rows that repeat an ID: flagged on every copy, held back until one is left. Pure.

A person who pastes a copy of a payment row makes two rows that each claim to be the
payment. Whichever of them the daemon read, ticking or unticking it could push a
confirmation or a reversal the other row contradicts (and the sheet and amoCRM would
disagree for as long as both stand). So while an ID has copies:

* every copy's ``Sync state`` (Payments) or ``Flag`` (Deals) says ``E_DUPLICATE``, with
  the latest event any copy knows (the truth about amoCRM), and the row's own problem
  kept after it;
* planning sees the payment as amoCRM has it (``as_recorded``): no confirmation,
  reversal or correction is pushed, and the deal's totals stay what was pushed;
* cabinets neither take a tick from it nor mirror it (``sync/cabinets.py`` checks
  ``TabRows.copies``).

Once a person deletes the copies, the flag goes and the row that is left counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sheetledger.ledger.records import DealRow, PaymentRow
from sheetledger.ledger.tabs import Owner, TabSchema
from sheetledger.sync.ledger_view import LedgerChanges, LedgerView, TabRows
from sheetledger.sync.state import RowState

CODE = "E_DUPLICATE"
_SEPARATOR = "; "  # between this flag and the problem the row had before


def flagged(problem: str, count: int) -> str:
    """``problem`` with the duplicate flag in front (the text holds no ``_SEPARATOR``)."""
    flag = f"{CODE} {count} rows have this ID: keep one, delete the copies"
    own = unflagged(problem)
    return f"{flag}{_SEPARATOR}{own}" if own else flag


def unflagged(problem: str) -> str:
    """``problem`` without the duplicate flag (what the row had before it was copied)."""
    if not problem.startswith(CODE):
        return problem
    return problem.partition(_SEPARATOR)[2]


@dataclass
class CopiesPlan:
    changes: LedgerChanges = field(default_factory=LedgerChanges)
    problems: list[str] = field(default_factory=list)


def plan_copies(view: LedgerView, titles: Mapping[str, str] | None = None) -> CopiesPlan:
    """Flag every copy of a repeated ID in Payments and Deals; clear the flag once one is left."""
    plan = CopiesPlan()
    titles = titles or {}
    if "payments" in view.tabs:
        _flag_payments(view.tab("payments"), plan)
    if "deals" in view.tabs:
        _flag_deals(view.tab("deals"), plan)
    for key, tab in view.tabs.items():
        if not computed(tab.schema):  # those are rewritten whole, copies and all
            plan.problems.extend(copies_problems(tab, f"tab '{titles.get(key, key)}'"))
    return plan


def computed(schema: TabSchema) -> bool:
    """A tab the daemon rewrites whole every time it changes (Cash on hand)."""
    return all(column.owner is Owner.CALC for column in schema.columns[1:])


def copies_problems(tab: TabRows, where: str) -> list[str]:
    """One line per repeated ID of ``tab`` (cabinets too: they have no state column)."""
    return [
        f"{where}: {1 + len(extra)} rows have the ID {row_id} — keep one, delete the copies; "
        "nothing is pushed or mirrored from it until then"
        for row_id, extra in tab.copies.items()
    ]


def _flag_payments(tab: TabRows, plan: CopiesPlan) -> None:
    rows = tab.typed(PaymentRow)
    for row_id, extra in tab.typed_copies(PaymentRow).items():
        copies = [rows[row_id], *extra]
        # The copy that knows the latest event speaks for amoCRM (a copy pasted from an
        # older row must not make a pushed payment look unpushed).
        best = max(copies, key=lambda row: RowState.parse(row.state).seq)
        state = RowState.parse(best.state)
        flag = RowState(state.status, state.seq, flagged(state.problem, len(copies))).render()
        if any(row.state != flag or row.pushed_amount != best.pushed_amount for row in copies):
            plan.changes.update(
                "payments", row_id, {"state": flag, "pushed_amount": best.pushed_amount}
            )
    for row_id, row in rows.items():
        text = row.state or ""
        if CODE in text and row_id not in tab.copies:
            state = RowState.parse(text)
            if state.problem.startswith(CODE):
                cleared = state.with_problem(unflagged(state.problem)).render()
                plan.changes.update("payments", row_id, {"state": cleared})


def _flag_deals(tab: TabRows, plan: CopiesPlan) -> None:
    rows = tab.typed(DealRow)
    for row_id, extra in tab.typed_copies(DealRow).items():
        copies = [rows[row_id], *extra]
        wanted = flagged(str(rows[row_id].flag or ""), len(copies))
        if any(row.flag != wanted for row in copies):
            plan.changes.update("deals", row_id, {"flag": wanted})
    for row_id, row in rows.items():
        text = str(row.flag or "")
        if text.startswith(CODE) and row_id not in tab.copies:
            plan.changes.update("deals", row_id, {"flag": unflagged(text)})


def as_recorded(row: PaymentRow) -> PaymentRow:
    """A payment row as amoCRM has it: the people's cells say what its state says.

    Planned from, such a row makes no event (its tick agrees with its last push) and
    counts in its deal's total for exactly what was pushed.
    """
    state = RowState.parse(row.state)
    pushed = row.pushed_amount
    if state.status == "pushed":
        amount = pushed if pushed is not None else row.amount
        return row | {"confirmed": True, "received": amount, "pushed_amount": amount}
    if state.status == "partial" and pushed is not None:
        return row | {"confirmed": False, "received": pushed}
    return row | {"confirmed": False, "received": None}


def hold_copies(view: LedgerView) -> LedgerView:
    """``view`` with every repeated payment ``as_recorded`` (the rest shared, not copied)."""
    if "payments" not in view.tabs or not view.tab("payments").copies:
        return view
    tab = view.tab("payments")
    rows = dict(tab.typed(PaymentRow))
    for row_id in tab.copies:
        rows[row_id] = as_recorded(rows[row_id])
    held = TabRows(tab.schema, rows, tab.problems, tab.copies)
    return LedgerView({**view.tabs, "payments": held}, view.state)
