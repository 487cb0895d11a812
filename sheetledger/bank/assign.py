"""The accountant assigns a bank line to payments in her cabinet's Bank tab. Pure.

She types one or more payment IDs into «Assign to» (or picks the candidate) and ticks
«Assign». The sync cycle then confirms those payments with the line's money, the way
a cash handover confirms a manager's cash: the line's amount goes to the payments in
the order she typed them, each up to what is open on it; what is left after the last
one is added to the last (an overpayment is hers to see in the note, not lost). A
payment that gets less than it expects is a partial receipt.

Each payment's «Bank ref» records the line's ID, which makes the assignment happen
once: a tick still standing after a crash between the master's write and the
cabinet's is recognised by it, and only the cabinet row is settled then.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sheetledger.bank import rub
from sheetledger.bank.matching import ZERO
from sheetledger.config import Cabinet
from sheetledger.sync.ledger_view import LedgerChanges, LedgerView

__all__ = ["Assignments", "plan_assignments"]

_IDS = re.compile(r"[0-9]+:[0-9]+")


@dataclass
class Assignments:
    master: LedgerChanges = field(default_factory=LedgerChanges)  # Payments cells
    cabinet: LedgerChanges = field(default_factory=LedgerChanges)  # the cabinet's Bank rows
    confirmed: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def plan_assignments(master: LedgerView, cabinet_view: LedgerView, cabinet: Cabinet) -> Assignments:
    """The ticks in ``cabinet``'s Bank tab turned into payment confirmations."""
    result = Assignments()
    payments = master.tab("payments").rows
    by = cabinet.title or cabinet.name
    for line_id, row in cabinet_view.tab("cabinet_bank").rows.items():
        if not row.get("assign") or row.get("state") == "assigned":
            continue
        wanted = _IDS.findall(str(row.get("assign_to") or "")) or _single_candidate(row)
        problem = _problem(wanted, payments, line_id, row)
        if problem:
            result.cabinet.update("cabinet_bank", line_id, {"assign": False, "reason": problem})
            result.problems.append(f"cabinet '{cabinet.name}', bank line {line_id}: {problem}")
            continue
        if not any(line_id in str(payments[p].get("bank_ref") or "") for p in wanted):
            _confirm(result, payments, wanted, line_id, row, by)
        result.cabinet.update(
            "cabinet_bank",
            line_id,
            {
                "state": "assigned",
                "matched_to": ", ".join(wanted),
                "rule": "assigned",
                "reason": f"assigned by {by}",
            },
        )
    return result


def _single_candidate(row: Mapping[str, Any]) -> list[str]:
    """A tick with «Assign to» empty takes the only candidate, if there is one."""
    candidates = _IDS.findall(str(row.get("candidates") or ""))
    return candidates if len(candidates) == 1 else []


def _problem(
    wanted: list[str], payments: Mapping[str, Mapping[str, Any]], line_id: str, row: Any
) -> str:
    if not wanted:
        return "E_ASSIGN type the payment ID(s) into «Assign to», then tick"
    unknown = [p for p in wanted if p not in payments]
    if unknown:
        return f"E_ASSIGN no such payment: {', '.join(unknown)}"
    done = [
        p
        for p in wanted
        if payments[p].get("confirmed") and line_id not in str(payments[p].get("bank_ref") or "")
    ]
    if done:
        return f"E_ASSIGN already confirmed: {', '.join(done)}"
    if not isinstance(row.get("amount"), Decimal) or row["amount"] <= 0:
        return "E_ASSIGN the line has no amount"
    return ""


def _confirm(
    result: Assignments,
    payments: Mapping[str, Mapping[str, Any]],
    wanted: list[str],
    line_id: str,
    row: Mapping[str, Any],
    by: str,
) -> None:
    left: Decimal = row["amount"]
    day = row.get("date")
    for position, payment_id in enumerate(wanted):
        payment = payments[payment_id]
        before = payment.get("received") or ZERO
        expected = payment.get("amount") or ZERO
        share = left if position == len(wanted) - 1 else min(left, max(expected - before, ZERO))
        left -= share
        total = before + share
        ref = str(payment.get("bank_ref") or "")
        values: dict[str, Any] = {
            "received": total,
            "confirmed_by": f"выписка{f' {day:%d.%m.%Y}' if day else ''}, "
            f"разнесено в кабинете «{by}» ({rub(share)})",
            "bank_ref": f"{ref}; {line_id}" if ref else line_id,
        }
        if day is not None:
            values["confirmed_at"] = day
        if total >= expected:
            values["confirmed"] = True
            result.confirmed.append(payment_id)
        result.master.update("payments", payment_id, values)
