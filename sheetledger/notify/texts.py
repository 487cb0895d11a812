"""What the notifications say: the accountant's Telegram card, the SMS, the requester's news.

Pure. The texts are plain (no parse mode): a supplier's name or a reason is people's text,
and markup in it must show as typed, not format the message.

An SMS carries the order's ID, amount, supplier and due day only — never the bill's link
(a Drive link opens the file to whoever holds it) nor anything from the config — and fits
one SMS when it can, two at most: any Cyrillic letter or ``₽`` makes the whole text UCS-2,
70 characters alone, 134 in two parts (67 each).
"""

from __future__ import annotations

import re
from datetime import date

from sheetledger.money import rub
from sheetledger.orders.model import Order, OrderState

__all__ = [
    "SMS_ONE",
    "SMS_TWO",
    "accountant_text",
    "overdue_text",
    "requester_text",
    "sms_text",
    "ucs2_length",
]

SMS_ONE = 70  # UCS-2 characters in one SMS
SMS_TWO = 134  # in two concatenated parts (2 × 67)
_SPACES = re.compile(r"\s+")
_SHORTEST_SUPPLIER = 12  # shorter than this, the supplier's name says nothing: take two SMS


def ucs2_length(text: str) -> int:
    """Characters as an SMS in UCS-2 counts them (one beyond the BMP, an emoji, takes two)."""
    return len(text.encode("utf-16-le")) // 2


def _one_line(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def _day(day: date | None) -> str:
    return f"{day:%d.%m.%Y}" if day else "—"


def _shorten(text: str, length: int) -> str:
    if ucs2_length(text) <= length:
        return text
    cut = text
    while cut and ucs2_length(cut) > length - 1:
        cut = cut[:-1]
    return cut.rstrip() + "…"


def sms_text(order: Order) -> str:
    """``Оплатить 12 000 ₽: ООО «Фурнитура-Опт», до 10.12. O-261202-3fa9`` — one or two SMS.

    The supplier is shortened to keep one SMS while at least ``_SHORTEST_SUPPLIER``
    characters of it remain; past that, two SMS, and it is shortened to fit two.
    """
    draft = order.draft
    head = f"Оплатить {rub(order.amount)}"
    tail = (f", до {draft.due:%d.%m}" if draft.due else "") + f". {order.id}"
    supplier = _one_line(draft.supplier or draft.purpose)
    if not supplier:
        return head + tail
    for limit in (SMS_ONE, SMS_TWO):
        room = limit - ucs2_length(head + ": " + tail)
        if ucs2_length(supplier) <= room or (limit == SMS_ONE and room >= _SHORTEST_SUPPLIER):
            return f"{head}: {_shorten(supplier, room)}{tail}"
    return f"{head}: {_shorten(supplier, SMS_TWO - ucs2_length(head + ': ' + tail))}{tail}"


def _card(order: Order) -> list[str]:
    draft = order.draft
    lines = [f"Сумма: {rub(order.amount, kopeks=True)}"]
    if draft.supplier:
        lines.append(f"Поставщик: {draft.supplier}")
    if draft.purpose:
        lines.append(f"Назначение: {draft.purpose}")
    if draft.category:
        lines.append(f"Категория: {draft.category}")
    bill = f"Счёт № {draft.bill_no}" if draft.bill_no else "Счёт"
    lines.append(f"{bill}, оплатить до {_day(draft.due)}")
    if draft.contract_no or draft.deal_id:
        deal = f" (сделка {draft.deal_id})" if draft.deal_id else ""
        lines.append(f"Договор № {draft.contract_no or '—'}{deal}")
    lines.append(f"Запросил(а): {draft.requested_by}")
    return lines


def accountant_text(order: Order, *, with_link: bool) -> str:
    """The card the accountant gets with the Paid / Reject buttons; the link when the file
    itself is not attached."""
    lines = [f"🧾 Заявка на оплату {order.id}", *_card(order)]
    if with_link and order.draft.bill_link:
        lines.append(f"Файл счёта: {order.draft.bill_link}")
    elif with_link:
        lines.append("Файла счёта нет")
    return "\n".join(lines)


def overdue_text(order: Order, today: date) -> str:
    late = (today - order.draft.due).days if order.draft.due else 0
    lines = [f"⏰ Не оплачена в срок заявка {order.id} (просрочена на {late} дн.)"]
    lines += _card(order)
    if order.draft.bill_link:
        lines.append(f"Файл счёта: {order.draft.bill_link}")
    return "\n".join(lines)


def requester_text(order: Order) -> str:
    """The requester's news: paid (when, how much, from where) or rejected (why)."""
    draft = order.draft
    what = ", ".join(p for p in (rub(order.amount), draft.supplier or draft.purpose) if p)
    if order.state is OrderState.PAID and order.payment is not None:
        pay = order.payment
        source = f" ({pay.paid_from})" if pay.paid_from else ""
        amount = "" if pay.amount == order.amount else f", оплачено {rub(pay.amount)}"
        return f"✅ Заявка {order.id} оплачена {pay.on:%d.%m.%Y}{source}: {what}{amount}"
    if order.state is OrderState.REJECTED:
        reason = order.reason or "причина не указана"
        return f"✖ Заявка {order.id} отклонена: {reason}\n{what}"
    return f"Заявка {order.id}: {what}"
