"""A payment order: a bill someone asked the accountant to pay. Pure: no I/O.

The three doors an order comes through (the bot, a requester's Requests tab, a person's
row typed into Invoices) and the three places it is paid or rejected (the master's
Invoices tab, the accountant's Orders tab, the Paid / Reject buttons in Telegram) all
speak these types:

* ``OrderDraft`` — what the requester said: amount, supplier, purpose, category, due day,
  bill number, contract reference, the bill file. Its ``source`` key (``tg:<chat>:<message>``
  for the bot, ``rq:<cabinet>:<row>`` for a Requests row) makes every door idempotent: a
  redelivered update or a Submit ticked twice finds the order already there.
* ``Order`` — a draft with its ID and where it stands (``OrderState``), its payment
  (``Payment``) or its rejection reason.

The ID is derived from the source key (``order_id``), never from a counter, so two doors
working at once, or one door retried after a crash, cannot give one bill two IDs.

Two seams join the parts (``OrderDesk`` and ``OrderNews`` below): the doors and the
buttons create, pay and reject through an ``OrderDesk`` (the shell over the Invoices tab);
whoever sees an order created, paid, rejected or overdue tells an ``OrderNews``, which
queues the Telegram and SMS messages exactly once per order, event and channel and sends
them when it can (quiet hours, outages).

The accountant's Telegram buttons carry ``callback_data`` ``op:<order id>`` (paid) and
``oj:<order id>`` (reject; the bot then asks for the reason); both are short ASCII well
under Telegram's 64 bytes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import NewType, Protocol

OrderId = NewType("OrderId", str)

PAID_BUTTON = "op"
REJECT_BUTTON = "oj"


class OrderState(StrEnum):
    NEW = "new"  # waiting for the accountant
    PAID = "paid"
    REJECTED = "rejected"


class OrderSource(StrEnum):
    BOT = "tg"  # tg:<chat>:<message>
    REQUESTS = "rq"  # rq:<cabinet>:<row key>
    SHEET = "sheet"  # a row a person typed into the Invoices tab


def order_id(source: str, created: date) -> OrderId:
    """``ЗО-YYMMDD-XXXX``-like but ASCII: ``O-261202-3fa9``, stable for one source key.

    Four hex digits of the source's hash after the day: a collision needs two orders of
    one day among 65,536 codes; the planner that hands out IDs checks the ledger and
    takes ``order_id(source + "'", …)`` in the rare case it is taken.
    """
    digest = hashlib.sha1(source.encode()).hexdigest()[:4]
    return OrderId(f"O-{created:%y%m%d}-{digest}")


@dataclass(frozen=True)
class OrderDraft:
    """An order as its requester gave it, before it has an ID."""

    source: str
    requested_by: str  # the person's name from telegram.users (or the cabinet's)
    amount: Decimal
    supplier: str = ""
    purpose: str = ""
    category: str = ""
    due: date | None = None
    bill_no: str = ""
    contract_no: str = ""  # as written; the deal is found by contract_ref.contract_key
    deal_id: int | None = None
    salon: str = ""
    city: str = ""
    bill_link: str = ""  # the bill file in Google Drive (webViewLink)
    requester_chat: int | None = None  # told when the order is paid or rejected


@dataclass(frozen=True)
class Payment:
    """How an order was paid: from the Paid tick or the Paid button."""

    on: date
    amount: Decimal
    paid_from: str = ""
    ref: str = ""
    by: str = ""


@dataclass(frozen=True)
class Order:
    id: OrderId
    created: datetime
    draft: OrderDraft
    state: OrderState = OrderState.NEW
    payment: Payment | None = None
    reason: str = ""  # why it was rejected

    @property
    def amount(self) -> Decimal:
        return self.draft.amount

    @property
    def deal_id(self) -> int | None:
        return self.draft.deal_id

    def overdue(self, today: date) -> bool:
        """Unpaid after its due day (``E_OVERDUE``)."""
        due = self.draft.due
        return self.state is OrderState.NEW and due is not None and today > due

    def paid(self, payment: Payment) -> Order:
        return replace(self, state=OrderState.PAID, payment=payment, reason="")

    def rejected(self, reason: str) -> Order:
        return replace(self, state=OrderState.REJECTED, payment=None, reason=reason)


def state_text(order: Order) -> str:
    """What a requester's Requests row and the bot say of an order."""
    if order.state is OrderState.PAID and order.payment is not None:
        return f"paid on {order.payment.on:%d.%m.%Y}"
    if order.state is OrderState.REJECTED:
        return f"rejected: {order.reason}" if order.reason else "rejected"
    return "new"


class OrderEvent(StrEnum):
    CREATED = "created"  # the accountant is told (Telegram with the file and buttons; SMS by rule)
    PAID = "paid"  # the requester is told
    REJECTED = "rejected"  # the requester is told, with the reason
    OVERDUE = "overdue"  # the accountant is reminded (once a day, not every cycle)


class OrderDesk(Protocol):
    """Creates, pays and rejects orders in the ledger; every call is idempotent."""

    def create(self, draft: OrderDraft, created: datetime) -> Order:
        """The order of ``draft.source``: made once, found again on a repeat."""
        ...

    def get(self, order_id: OrderId) -> Order | None: ...

    def pay(self, order_id: OrderId, payment: Payment) -> Order: ...

    def reject(self, order_id: OrderId, reason: str, by: str) -> Order: ...


class OrderNews(Protocol):
    """Queues what people must be told of an order; sending happens later, exactly once."""

    def tell(self, order: Order, event: OrderEvent) -> None: ...
