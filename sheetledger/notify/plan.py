"""Who is told what of an order, on which channel and from when: pure, no I/O.

``plan_news(order, event, config, now)`` turns one ``OrderEvent`` into ``Notice``s, each
keyed ``<order>:<event>:<channel>:<recipient>`` — the outbox's natural key, so a ``tell``
that every cycle repeats queues each message once:

* ``created``: a Telegram card with the Paid / Reject buttons to every user with the
  accountant role, and an SMS to each of ``orders.sms.phones`` when a rule says so
  (``always``, the amount at or over ``threshold``, due within ``due_within_days``);
* ``paid`` / ``rejected``: the requester's Telegram chat, when the order came with one;
* ``overdue``: a reminder to the accountants, keyed by the business's day
  (``overdue@2026-12-11``), so it goes once a day, not before ``orders.remind_at``.

Quiet hours (``quiet_until``) are applied when the outbox sends, not here: an SMS held by an
outage that ends at night waits for the morning as well.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sheetledger.config import Config, Role, SmsConfig, SmsWhen
from sheetledger.notify.texts import accountant_text, overdue_text, requester_text, sms_text
from sheetledger.orders.model import Order, OrderEvent

__all__ = ["Channel", "Notice", "plan_news", "quiet_until", "sms_wanted", "stale_events"]


class Channel(StrEnum):
    TELEGRAM = "telegram"
    SMS = "sms"


@dataclass(frozen=True)
class Notice:
    """One message to one recipient (a Telegram chat id or a phone), as the outbox keeps it."""

    order_id: str
    event: str  # an OrderEvent, or ``overdue@YYYY-MM-DD``
    channel: Channel
    recipient: str
    text: str
    not_before: datetime
    buttons: bool = False  # the Paid / Reject buttons (op:<id> / oj:<id>)
    bill_link: str = ""  # the bill in Drive: attached when it can be fetched, else linked

    @property
    def key(self) -> str:
        return f"{self.order_id}:{self.event}:{self.channel}:{self.recipient}"

    def as_entry(self) -> dict[str, Any]:
        """The outbox row (``LocalState.news_add``)."""
        return {
            "key": self.key,
            "order_id": self.order_id,
            "event": self.event,
            "channel": str(self.channel),
            "recipient": self.recipient,
            "not_before": self.not_before.timestamp(),
            "body": {"text": self.text, "buttons": self.buttons, "bill_link": self.bill_link},
        }


def sms_wanted(order: Order, sms: SmsConfig, today: date) -> bool:
    """Whether one of the rules of ``orders.sms.when`` asks for an SMS of this order."""
    for rule in sms.when:
        if rule is SmsWhen.ALWAYS:
            return True
        if rule is SmsWhen.THRESHOLD and order.amount >= sms.threshold:
            return True
        due = order.draft.due
        if (
            rule is SmsWhen.DUE_SOON
            and due is not None
            and (due - today).days <= sms.due_within_days
        ):
            return True
    return False


def _clock(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def quiet_until(now: datetime, quiet_hours: str | None, tz: ZoneInfo) -> datetime | None:
    """The end of the quiet hours ``now`` falls in (aware, in ``tz``), or None.

    ``"21:00-09:00"`` wraps midnight; ``"13:00-14:00"`` does not; equal ends mean none.
    """
    if not quiet_hours:
        return None
    start_text, end_text = quiet_hours.split("-")
    start, end = _clock(start_text), _clock(end_text)
    local = now.astimezone(tz)
    moment = local.time().replace(second=0, microsecond=0, tzinfo=None)
    if start == end:
        return None
    inside = start <= moment < end if start < end else (moment >= start or moment < end)
    if not inside:
        return None
    day = local.date() if moment < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=tz)


def accountants(config: Config) -> list[int]:
    return [u.id for u in config.telegram.users if Role.ACCOUNTANT in u.roles]


def plan_news(order: Order, event: OrderEvent, config: Config, now: datetime) -> list[Notice]:
    """The messages ``event`` of ``order`` calls for (possibly none)."""
    tz = config.tz
    today = now.astimezone(tz).date()
    draft = order.draft
    oid = str(order.id)
    if event is OrderEvent.CREATED:
        text = accountant_text(order, with_link=True)
        found = [
            Notice(oid, str(event), Channel.TELEGRAM, str(chat), text, now, True, draft.bill_link)
            for chat in accountants(config)
        ]
        sms = config.orders.sms
        if sms is not None and sms_wanted(order, sms, today):
            found += [
                Notice(oid, str(event), Channel.SMS, phone, sms_text(order), now)
                for phone in sms.phones
            ]
        return found
    if event in (OrderEvent.PAID, OrderEvent.REJECTED):
        if draft.requester_chat is None:
            return []
        chat = str(draft.requester_chat)
        return [Notice(oid, str(event), Channel.TELEGRAM, chat, requester_text(order), now)]
    if event is OrderEvent.OVERDUE:
        if not order.overdue(today):
            return []
        remind = datetime.combine(today, _clock(config.orders.remind_at), tzinfo=tz)
        when = max(now, remind)
        text = overdue_text(order, today)
        return [
            Notice(
                oid, f"overdue@{today.isoformat()}", Channel.TELEGRAM, str(chat), text, when, True
            )
            for chat in accountants(config)
        ]
    return []


def stale_events(event: OrderEvent) -> tuple[str, ...]:
    """What is no longer worth sending once ``event`` happened: a paid or rejected order's
    SMS still held by quiet hours and its reminders."""
    if event in (OrderEvent.PAID, OrderEvent.REJECTED):
        return (str(OrderEvent.CREATED), "overdue@")
    return ()
