"""The one formatter of amounts for people: roubles as a Russian reader writes them."""

from __future__ import annotations

from decimal import Decimal

import pytest

from sheetledger.money import rub, to_kopeks


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Decimal("12000"), "12 000 ₽"),
        (Decimal("1200.5"), "1 200,50 ₽"),
        (Decimal("1000000.01"), "1 000 000,01 ₽"),
        (Decimal("0.005"), "0,01 ₽"),  # half-up, as a cashier rounds
        (Decimal("-1500"), "-1 500 ₽"),
        (Decimal("0"), "0 ₽"),
        (7, "7 ₽"),
        (None, "—"),
    ],
)
def test_rub_groups_thousands_and_drops_whole_kopeks(value: Decimal | int | None, shown: str):
    assert rub(value) == shown


def test_rub_keeps_kopeks_when_asked():
    assert rub(Decimal("30000"), kopeks=True) == "30 000,00 ₽"
    assert rub(Decimal("29500.5"), kopeks=True) == "29 500,50 ₽"


def test_a_pasted_run_of_digits_is_shortened_not_raised_on():
    huge = Decimal("1" * 40)
    assert rub(huge).endswith("E+39 ₽")
    assert to_kopeks(huge) == huge  # more than the default 28 digits: still rounds


def test_every_amount_for_people_goes_through_it():
    """The bot's replies and refusals, the notes in amoCRM and the demo share it."""
    from sheetledger.bot import app, parse
    from sheetledger.sync import push

    assert app.rub is rub and parse.rub is rub and push.rub is rub
