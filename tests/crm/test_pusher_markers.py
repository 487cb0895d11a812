"""Markers in amoCRM notes: a note is recognised by its whole marker, never by a prefix."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sheetledger.crm.pusher import markers_in
from sheetledger.sync.push import PushEvent, note_text


def _event(seq: int) -> PushEvent:
    return PushEvent(
        payment_id="31:2",
        deal_id=31,
        kind="confirm",
        seq=seq,
        amount=Decimal("1000.00"),
        previous=None,
        expected=Decimal("1000.00"),
        method="Наличными",
        by="Светлана",
        on=date(2026, 11, 27),
        payment_kind="Остаток",
        contract_no="1045",
    )


def test_a_note_carries_its_own_marker_and_no_other() -> None:
    text = note_text(_event(12))
    assert markers_in(text) == {"sheetledger:31:2#12"}
    assert "sheetledger:31:2#1" in text  # as a substring it is there ...
    assert "sheetledger:31:2#1" not in markers_in(text)  # ... as a marker it is not


def test_text_a_person_wrote_around_a_marker_does_not_hide_it() -> None:
    text = "перенесено из старой сделки: sheetledger:7:1#3, sheetledger:7:2#1."
    assert markers_in(text) == {"sheetledger:7:1#3", "sheetledger:7:2#1"}
    assert markers_in("нет отметок") == set()
