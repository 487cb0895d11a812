"""The ``Sync state`` cell of a payment row: where its confirmation stands.

Rendered as ``<status> #<seq> · <problem>``, e.g. ``pushed #1``, ``reversed #2``,
``cancelled``, ``E_METHOD unknown payment type 'Бартер'``,
``pushed #1 · E_CHANGED amount changed in CRM to 12000.00 after confirmation``.
``seq`` counts the events pushed to amoCRM for the payment; the marker of event
``n`` in the deal's notes is ``sheetledger:<payment id>#<n>``, which is how a retry
after a crash recognises a note it already wrote.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import StrEnum

from sheetledger.ledger.records import PaymentRow


class SyncStatus(StrEnum):
    """Where a payment's confirmation stands in amoCRM."""

    NONE = ""  # not confirmed yet (or nothing pushed)
    PUSHED = "pushed"  # the confirmation is in amoCRM
    PARTIAL = "partial"  # part of the money is, as a partial receipt
    REVERSED = "reversed"  # the confirmation was withdrawn in amoCRM
    CANCELLED = "cancelled"  # the deal was lost or the slot emptied: nothing is expected


STATUSES = tuple(s.value for s in SyncStatus if s.value)
_PATTERN = re.compile(
    r"^(?:(pushed|partial|reversed|cancelled)\b)?\s*(?:#(\d+))?\s*(?:·\s*)?(.*)$", re.S
)


@dataclass(frozen=True)
class RowState:
    status: SyncStatus = SyncStatus.NONE
    seq: int = 0
    problem: str = ""

    @classmethod
    def new(cls, problem: str = "") -> RowState:
        return cls(SyncStatus.NONE, 0, problem)

    @classmethod
    def parse(cls, text: object) -> RowState:
        if not text:
            return _EMPTY
        return _parse(str(text))

    def render(self) -> str:
        head = " ".join(part for part in (self.status, f"#{self.seq}" if self.seq else "") if part)
        if self.problem:
            return f"{head} · {self.problem}" if head else self.problem
        return head

    def with_status(self, status: SyncStatus) -> RowState:
        return replace(self, status=status)

    def with_problem(self, problem: str) -> RowState:
        return replace(self, problem=problem)

    def next_event(self, status: SyncStatus) -> RowState:
        return RowState(status, self.seq + 1, "")


def marked_pushes(rows: Iterable[PaymentRow]) -> dict[str, int]:
    """Payment ID -> the last event the ledger shows as pushed (its ``#n``), for the rows
    that show one. A journaled push at or below it has its mark: it awaits nothing."""
    marked = {}
    for row in rows:
        seq = RowState.parse(row.state).seq
        if seq and row.id is not None:
            marked[str(row.id)] = seq
    return marked


_EMPTY = RowState()


# A ledger of 30,000 payments holds a few hundred distinct states ("pushed #1", ...):
# parsed once each, not once per row and per planner.
@functools.lru_cache(maxsize=8192)
def _parse(text: str) -> RowState:
    match = _PATTERN.match(text.strip())
    if match is None:  # pragma: no cover - the pattern matches any text
        return RowState(problem=text)
    status, seq, problem = match.groups()
    return RowState(SyncStatus(status or ""), int(seq or 0), problem.strip())


def marker(payment_id: str, seq: int) -> str:
    """The text that identifies push ``seq`` of a payment in its deal's notes."""
    return f"sheetledger:{payment_id}#{seq}"


_MARKER = re.compile(r"sheetledger:([^\s#]+)#(\d+)")


def read_markers(text: str) -> list[tuple[str, int]]:
    """Every ``(payment id, seq)`` whose ``marker`` stands in ``text`` (a note), in order.

    The one way back from a note to its event: a plain substring test would take
    ``…#1`` for a match inside ``…#10``.
    """
    return [(found[1], int(found[2])) for found in _MARKER.finditer(text)]
