"""amoCRM's notes read back as the confirmations they record. Pure.

Every push leaves a note in the deal (``sync/push.py`` ``note_text``): a line for
the managers and, on its last line, the event's marker ``sheetledger:<payment>#<n>``
(``sync/state.py``). The marker says which payment and which event; the line says
what happened, how much, who and when. Together they are the second record of
the ledger's confirmations, and what ``rebuild`` restores the ledger from.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sheetledger.model import money
from sheetledger.sync.state import read_markers

# The first words of each kind of note, as ``note_text`` writes them.
_KINDS = (
    ("✅ Оплата подтверждена", "confirm"),
    ("↩️ Подтверждение оплаты отменено", "reverse"),
    ("💵 Оплата получена частично", "partial"),
    ("✏️ Сумма подтверждённой оплаты изменена", "correct"),
)
_RUB = re.compile(r"(-?\d{1,3}(?: \d{3})*,\d{2}) ₽")
_WHO = re.compile(
    r"(?:Подтвердил\(а\)|Отметку снял\(а\)|Принял\(а\)|Изменил\(а\)): "
    r"(?P<by>.*), (?P<on>\d{2}\.\d{2}\.\d{4})\.",
    re.S,  # a name typed with a line break in it
)
# Who pushed a tick nobody signed (push.py writes this in place of an empty "Confirmed by").
NOBODY = "ledger"


@dataclass(frozen=True)
class NoteRecord:
    """One confirmation event as amoCRM keeps it."""

    payment_id: str
    seq: int
    kind: str  # confirm | partial | reverse | correct; "" when the line cannot be read
    amount: Decimal | None  # confirmed (or received, for a partial) by this event; None: reversal
    by: str  # "" when nobody signed the tick
    on: date | None


def read_note(text: str) -> NoteRecord | None:
    """The event a note of ours records, or None for any other note.

    A marker with a line that cannot be read (edited by hand in amoCRM) still counts:
    the event happened, only its amount or author are unknown.
    """
    markers = read_markers(text)
    if not markers:
        return None
    payment_id, seq = markers[-1]
    kind = next((k for head, k in _KINDS if head in text), "")
    figures = [_amount(found) for found in _RUB.findall(text)]
    amount: Decimal | None = None
    if kind in ("confirm", "partial") and figures:
        amount = figures[0]  # "… — 30 000,00 ₽ (…)": the first sum is the confirmed one
    elif kind == "correct" and figures:
        amount = figures[-1]  # "было X, стало Y"
    who = _WHO.search(text)
    by = who["by"].strip() if who else ""
    return NoteRecord(
        payment_id=payment_id,
        seq=seq,
        kind=kind,
        amount=amount,
        by="" if by == NOBODY else by,
        on=datetime.strptime(who["on"], "%d.%m.%Y").date() if who else None,
    )


def latest_records(notes: Iterable[Mapping[str, Any]]) -> dict[str, NoteRecord]:
    """Per payment, its last event in amoCRM (the highest marker number among the notes)."""
    latest: dict[str, NoteRecord] = {}
    for note in notes:
        text = str((note.get("params") or {}).get("text") or "")
        record = read_note(text)
        if record is None:
            continue
        kept = latest.get(record.payment_id)
        if kept is None or record.seq > kept.seq:
            latest[record.payment_id] = record
    return latest


def _amount(text: str) -> Decimal:
    return money(Decimal(text.replace(" ", "").replace(",", ".")))
