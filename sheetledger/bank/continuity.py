"""Consecutive statements of one account must join up. Pure.

A statement's own self-checks (opening + in − out = closing) cannot see a statement
that was never imported: every file adds up, yet the money of the days between them
is missing. So the closing balance of the last imported statement is kept per
account, and the next statement's opening must equal it. When it does not, the
days in between are named: that is the statement to download. Days without a
statement but also without a change of balance (a weekend, a quiet day) are fine —
nothing moved, nothing is missing.

A file that starts inside the period already imported (an overlapping export, the
same file again) is not compared: its first section opens before the stored
closing, and its lines are deduplicated by their natural key anyway.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sheetledger.bank import rub
from sheetledger.bank.statement import Statement

__all__ = ["STATE_KEY", "Closing", "closings", "continuity_problems", "dump", "load"]

STATE_KEY = "bank.closings"  # local state: account -> the last imported closing balance


@dataclass(frozen=True)
class Closing:
    """Where the last imported statement of an account ended."""

    account: str
    end: date
    balance: Decimal


def closings(
    statements: Iterable[Statement], known: Mapping[str, Closing] | None = None
) -> dict[str, Closing]:
    """The latest closing per account over ``known`` and the statements' balance sections."""
    latest = dict(known or {})
    for statement in statements:
        for section in statement.sections:
            seen = latest.get(section.account)
            if seen is None or section.end >= seen.end:
                latest[section.account] = Closing(section.account, section.end, section.closing)
    return latest


def continuity_problems(statement: Statement, previous: Mapping[str, Closing]) -> list[str]:
    """What does not join up with the previous statements, one line per account."""
    problems = []
    for account in sorted({s.account for s in statement.sections}):
        before = previous.get(account)
        if before is None:
            continue  # the first statement of this account: nothing to join
        later = sorted(
            (s for s in statement.sections if s.account == account and s.start > before.end),
            key=lambda s: s.start,
        )
        if not later or later[0].opening == before.balance:
            continue
        first = later[0]
        off = first.opening - before.balance
        head = (
            f"account {account}: opens {_ru(first.start)} with {rub(first.opening)}, "
            f"the previous statement closed {_ru(before.end)} with {rub(before.balance)} "
            f"(off by {rub(off)})"
        )
        gap_from, gap_to = before.end + timedelta(days=1), first.start - timedelta(days=1)
        if gap_from <= gap_to:
            span = _ru(gap_from) if gap_from == gap_to else f"{_ru(gap_from)}–{_ru(gap_to)}"
            head += f"; the statement for {span} is missing — import it first"
        problems.append(head)
    return problems


def load(raw: Any) -> dict[str, Closing]:
    """The stored closings; anything unreadable is dropped (then there is nothing to join)."""
    found = {}
    for account, item in (raw or {}).items() if isinstance(raw, dict) else ():
        try:
            found[account] = Closing(
                account, date.fromisoformat(item["end"]), Decimal(str(item["balance"]))
            )
        except (KeyError, TypeError, ValueError, ArithmeticError):
            continue
    return found


def dump(latest: Mapping[str, Closing]) -> dict[str, dict[str, str]]:
    return {
        account: {"end": c.end.isoformat(), "balance": format(c.balance, "f")}
        for account, c in sorted(latest.items())
    }


def _ru(day: date) -> str:
    return day.strftime("%d.%m.%Y")
