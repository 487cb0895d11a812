"""The demo's day as data: the morning's deals, the people's names, the files and limits.

Kept apart from the steps so a change to the story (another deal, another fee) is one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sheetledger.sandbox.seed import AMO_PAYMENT_METHODS

CASH, CARD, TERMINAL, BANK, CREDIT = AMO_PAYMENT_METHODS


OPENING_BY = "Ольга — старый учёт"


CYCLE_TIMEOUT = 60.0  # seconds one sync may take before the demo calls it a failure


BOT_TIMEOUT = 20.0


# What the demo may wipe: a folder holding only what an earlier demo (or sandbox) left.
OWN_ENTRIES = frozenset(
    {
        "sandbox.json",
        "config.yaml",
        "secrets",
        "state",
        "state-daemon",
        "demo.log",
        "kl_to_1c.txt",  # the day's statement (STATEMENT_FILE)
        "marketing-vs-turnover.png",  # the owner's chart (CHART_PNG)
    }
)


STATEMENT_FILE = "kl_to_1c.txt"  # the name Sberbank's business client exports under


CHART_PNG = "marketing-vs-turnover.png"


@dataclass(frozen=True)
class NewDeal:
    """A deal a manager enters in amoCRM this morning."""

    name: str
    manager: int
    product: str
    salon: int
    price: int
    payments: tuple[tuple[int, str, int], ...]  # (amount, method, due in days from today)


MORNING_DEALS = (
    NewDeal(
        "Кухонный гарнитур — Лаптева Д.",
        0,
        "Кухонный гарнитур",
        0,
        286_000,
        ((100_000, CASH, 0), (186_000, BANK, 21)),
    ),
    NewDeal("Шкаф-купе — Гусев Т.", 1, "Шкаф-купе", 1, 94_500, ((40_000, CARD, 0),)),
    NewDeal("Диван угловой — Киселева Ж.", 2, "Диван угловой", 2, 128_000, ((128_000, CREDIT, 0),)),
    NewDeal(
        "Обеденная группа — Сорокин Е.",
        0,
        "Обеденная группа",
        0,
        56_000,
        ((25_000, CASH, 0), (31_000, CASH, 14)),
    ),
    NewDeal(
        "Спальный гарнитур — ООО «Северный ветер»",
        1,
        "Спальный гарнитур",
        1,
        214_000,
        ((90_000, TERMINAL, 0), (124_000, BANK, 18)),
    ),
)


BANK_FEE = Decimal("1500")  # the short-paid transfer: the customer's bank kept a fee


STRANGER_DAYS = 4  # the unknown payer's money came this many days ago (over reconcile's 3)
