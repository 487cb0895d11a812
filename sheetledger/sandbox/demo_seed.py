"""The demo's furniture business: two months of deals in amoCRM, as a newcomer would find it.

``seed_demo(box)`` runs after ``seed_amocrm`` (the account, the fields, three managers)
and fills the amoCRM emulator, in-process and deterministically (``random.Random``), with
about 200 deals created over the last 60 days before the emulator clock's today:

* three managers, each working in one salon: two salons in Екатеринбург, one in Челябинск;
* five products, each with its price range;
* contract deals with a prepayment (slot 1) and a remainder (slot 2), every payment
  method; recent deals often have no remainder yet (the manager fills it at delivery); a
  credit deal sometimes has one slot for the whole price;
* early deals (new request, measuring) without a contract, and a few lost ones;
* realistic ``created_at``/``updated_at``/``closed_at`` times.

**What was paid before go-live.** The business moves onto sheetledger today. Until now
the owner kept the received payments in an old spreadsheet, and the managers moved a deal
to «Платеж подтвержден», «Производство», … or «Успешно реализовано» by hand when told the
money came — so the statuses in amoCRM already agree with the money, but amoCRM has no
confirmation notes and no confirmed total (those are sheetledger's). The old records are
kept in ``box.info["demo"]["received_before_go_live"]`` (written to ``sandbox.json``):
the demo's go-live step ticks exactly those payments in the fresh ledger, and the daemon
then writes their notes and totals into amoCRM once, moving no status.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sheetledger.sandbox.amocrm import STATUS_LOST, STATUS_WON
from sheetledger.sandbox.seed import AMO_CITIES, AMO_PAYMENT_METHODS, AMO_PRODUCTS, AMO_SALONS

if TYPE_CHECKING:
    from sheetledger.sandbox.runner import Sandbox

__all__ = ["DEMO_DAYS", "DEMO_DEALS", "DEMO_TIMEZONE", "DemoDeal", "plan_demo", "seed_demo"]

DEMO_DEALS = 200
DEMO_DAYS = 60
DEMO_SEED = 20261127
DEMO_TIMEZONE = "Asia/Yekaterinburg"  # the business's zone (the sandbox config's timezone)
FIRST_CONTRACT_NO = 1001

CASH, CARD, TERMINAL, BANK, CREDIT = AMO_PAYMENT_METHODS
# The salon each manager works in, and its city.
SALON_OF_MANAGER = (0, 1, 2)
CITY_OF_SALON = {
    AMO_SALONS[0]: AMO_CITIES[0],
    AMO_SALONS[1]: AMO_CITIES[0],
    AMO_SALONS[2]: AMO_CITIES[1],
}
PRICE_RANGE = {  # roubles, rounded to 500
    AMO_PRODUCTS[0]: (140_000, 460_000),  # kitchen
    AMO_PRODUCTS[1]: (48_000, 165_000),  # wardrobe
    AMO_PRODUCTS[2]: (62_000, 190_000),  # sofa
    AMO_PRODUCTS[3]: (95_000, 310_000),  # bedroom set
    AMO_PRODUCTS[4]: (36_000, 112_000),  # dining set
}
PREPAY_METHODS = ((CASH, 34), (CARD, 20), (TERMINAL, 20), (BANK, 16), (CREDIT, 10))
REMAINDER_METHODS = ((CASH, 30), (CARD, 18), (TERMINAL, 16), (BANK, 20), (CREDIT, 16))
CUSTOMERS = (
    "Смирнова Е.",
    "Соколов А.",
    "Попова Н.",
    "Лебедев И.",
    "Козлова О.",
    "Новиков Д.",
    "Морозова Т.",
    "Волков С.",
    "Алексеева М.",
    "Федоров П.",
    "Михайлова А.",
    "Белов Р.",
    "Тарасова Ю.",
    "Зайцев В.",
    "Павлова Л.",
    "Семенов Г.",
    "Голубева К.",
    "Виноградов Е.",
    "Богданова С.",
    "Воробьев Н.",
    "Фролова И.",
    "Никитин О.",
    "Орлова В.",
    "Крылов М.",
    "ООО «Уют-Строй»",
    "ИП Гаврилов",
    "ООО «Деловой центр»",
    "Кафе «Брусника»",
)


@dataclass
class DemoSlot:
    amount: int
    method: str
    due: date
    paid_on: date | None = None  # received before go-live (the old records)


@dataclass
class DemoDeal:
    """One planned deal (before it gets its amoCRM id)."""

    name: str
    manager: int  # index into the seed's managers
    product: str
    salon: str
    city: str
    price: int
    created: datetime
    status: str  # a status name of the pipeline, or "won"/"lost"
    contract_no: str = ""
    contract_date: date | None = None
    slots: list[DemoSlot] = field(default_factory=list)
    closed: datetime | None = None
    updated: datetime | None = None


def _weighted(rng: random.Random, options: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([o for o, _ in options], weights=[w for _, w in options])[0]


def _round(amount: float, step: int = 500) -> int:
    return max(step, round(amount / step) * step)


def plan_demo(today: date, *, seed: int = DEMO_SEED, count: int = DEMO_DEALS) -> list[DemoDeal]:
    """The deals of the two months before ``today``, oldest first. Pure and deterministic."""
    rng = random.Random(seed)
    tz = ZoneInfo(DEMO_TIMEZONE)
    created = sorted(
        datetime.combine(
            today - timedelta(days=rng.randint(1, DEMO_DAYS)),
            time(rng.randint(10, 19), rng.randrange(0, 60, 5)),
            tzinfo=tz,
        )
        for _ in range(count)
    )
    deals: list[DemoDeal] = []
    contract_no = FIRST_CONTRACT_NO
    for moment in created:
        manager = rng.choices((0, 1, 2), weights=(38, 34, 28))[0]
        salon = AMO_SALONS[SALON_OF_MANAGER[manager]]
        product = rng.choice(AMO_PRODUCTS)
        low, high = PRICE_RANGE[product]
        price = _round(rng.uniform(low, high))
        deal = DemoDeal(
            name=f"{product} — {rng.choice(CUSTOMERS)}",
            manager=manager,
            product=product,
            salon=salon,
            city=CITY_OF_SALON[salon],
            price=price,
            created=moment,
            status="Договор заключен",
        )
        age = (today - moment.date()).days
        roll = rng.random()
        if age <= 6 and roll < 0.35:
            deal.status = rng.choice(("Новая заявка", "Замер"))  # no contract yet
        elif roll > 0.955:
            _plan_lost(deal, rng, today)
        else:
            deal.contract_no = str(contract_no)
            contract_no += 1
            deal.contract_date = moment.date()
            _plan_payments(deal, rng, today)
            _plan_status(deal, rng, today)
        deal.updated = _last_touch(deal, today)
        deals.append(deal)
    return deals


def _plan_lost(deal: DemoDeal, rng: random.Random, today: date) -> None:
    """A deal the customer walked away from; half of them after a prepayment was agreed."""
    deal.status = "lost"
    days = rng.randint(1, 12)
    latest = datetime.combine(today - timedelta(days=1), time(19), tzinfo=deal.created.tzinfo)
    deal.closed = min(deal.created + timedelta(days=days), latest)
    if rng.random() < 0.5:
        deal.slots.append(
            DemoSlot(
                _round(deal.price * 0.3, 1000), _weighted(rng, PREPAY_METHODS), deal.created.date()
            )
        )


def _plan_payments(deal: DemoDeal, rng: random.Random, today: date) -> None:
    assert deal.contract_date is not None
    signed = deal.contract_date
    age = (today - signed).days
    method = _weighted(rng, PREPAY_METHODS)
    if method == CREDIT and rng.random() < 0.5:
        # The bank pays the whole price at once: one slot.
        deal.slots.append(DemoSlot(deal.price, CREDIT, signed))
    else:
        share = rng.choice((0.3, 0.4, 0.5, 0.5, 0.6))
        prepay = _round(deal.price * share, 1000)
        deal.slots.append(DemoSlot(prepay, method, signed))
        # The remainder is filled at signing or, for the recent deals, often later.
        if age > 8 or rng.random() < 0.45:
            due = signed + timedelta(days=rng.randint(12, 35))
            deal.slots.append(DemoSlot(deal.price - prepay, _weighted(rng, REMAINDER_METHODS), due))
    # What the old records say arrived before today.
    first = deal.slots[0]
    if first.method == CASH:
        # Cash reaches the cashbox days later; a few managers sit on it much longer.
        if age >= 4 and rng.random() < 0.96:
            first.paid_on = min(
                today - timedelta(days=1), signed + timedelta(days=rng.randint(1, 4))
            )
    elif age >= 2 and rng.random() < 0.95:
        first.paid_on = min(today - timedelta(days=1), signed + timedelta(days=rng.randint(0, 2)))
    if len(deal.slots) > 1 and first.paid_on is not None:
        rest = deal.slots[1]
        if rest.due <= today - timedelta(days=1) and rng.random() < 0.9:
            rest.paid_on = min(
                today - timedelta(days=1), rest.due + timedelta(days=rng.randint(0, 3))
            )


def _plan_status(deal: DemoDeal, rng: random.Random, today: date) -> None:
    """The status a manager would have set by hand, agreeing with the money received."""
    paid = [s for s in deal.slots if s.paid_on is not None]
    if paid and sum(s.amount for s in paid) >= deal.price:
        deal.status = "won"
        last = max(s.paid_on for s in paid if s.paid_on is not None)
        deal.closed = datetime.combine(last, time(rng.randint(11, 19)), tzinfo=deal.created.tzinfo)
    elif paid:
        rest = deal.slots[1] if len(deal.slots) > 1 else None
        age = (today - (deal.contract_date or today)).days
        if rest is not None and rest.due <= today + timedelta(days=3):
            deal.status = "Доставка и сборка"
        elif age > 10:
            deal.status = "Производство"
        else:
            deal.status = "Платеж подтвержден"
    else:
        deal.status = "Договор заключен"


def _last_touch(deal: DemoDeal, today: date) -> datetime:
    """When the deal card was last saved: its last payment, its closing, or its creation."""
    moments = [deal.created]
    if deal.closed is not None:
        moments.append(deal.closed)
    for slot in deal.slots:
        if slot.paid_on is not None:
            moments.append(datetime.combine(slot.paid_on, time(18), tzinfo=deal.created.tzinfo))
    latest_allowed = datetime.combine(
        today - timedelta(days=1), time(20), tzinfo=deal.created.tzinfo
    )
    return min(max(moments), latest_allowed)


def _stamp(day: date) -> int:
    """A date field value: noon UTC of the day (the account stores its local midnight)."""
    return int(datetime.combine(day, time(12), tzinfo=UTC).timestamp())


def seed_demo(box: Sandbox, *, seed: int = DEMO_SEED) -> None:
    """Fill the sandbox's amoCRM with the demo business (after ``seed_amocrm``)."""
    amo = box.info["amocrm"]
    today = datetime.fromtimestamp(box.amo.clock(), ZoneInfo(DEMO_TIMEZONE)).date()
    statuses = dict(amo["statuses"])
    fields = amo["fields"]
    slots = amo["slots"]
    received: list[dict[str, Any]] = []
    for deal in plan_demo(today, seed=seed):
        values: list[dict[str, Any]] = [
            {"field_id": fields["product"], "values": [{"value": deal.product}]},
            {"field_id": fields["salon"], "values": [{"value": deal.salon}]},
            {"field_id": fields["city"], "values": [{"value": deal.city}]},
        ]
        if deal.contract_no:
            values.append(
                {"field_id": fields["contract_no"], "values": [{"value": deal.contract_no}]}
            )
        if deal.contract_date is not None:
            values.append(
                {
                    "field_id": fields["contract_date"],
                    "values": [{"value": _stamp(deal.contract_date)}],
                }
            )
        for ids, slot in zip(slots, deal.slots, strict=False):
            values.append({"field_id": ids["amount"], "values": [{"value": str(slot.amount)}]})
            values.append({"field_id": ids["method"], "values": [{"value": slot.method}]})
            values.append({"field_id": ids["date"], "values": [{"value": _stamp(slot.due)}]})
        status = {"won": STATUS_WON, "lost": STATUS_LOST}.get(deal.status) or statuses[deal.status]
        manager = amo["managers"][deal.manager]
        extra: dict[str, Any] = {
            "created_by": manager,
            "updated_by": manager,
            "updated_at": int((deal.updated or deal.created).timestamp()),
        }
        if deal.closed is not None:
            extra["closed_at"] = int(deal.closed.timestamp())
        lead = box.amo.add_lead(
            deal.name,
            price=deal.price,
            pipeline_id=amo["pipeline_id"],
            status_id=status,
            responsible_user_id=manager,
            custom_fields_values=values,
            created_at=int(deal.created.timestamp()),
            **extra,
        )
        for number, slot in enumerate(deal.slots, start=1):
            if slot.paid_on is not None:
                received.append(
                    {
                        "deal_id": int(lead["id"]),
                        "slot": number,
                        "amount": slot.amount,
                        "method": slot.method,
                        "received_on": slot.paid_on.isoformat(),
                    }
                )
    box.info["demo"] = {
        "seed": seed,
        "go_live": today.isoformat(),
        "deals": DEMO_DEALS,
        # The owner's old spreadsheet: payments received before sheetledger (see the docstring).
        "received_before_go_live": received,
    }
