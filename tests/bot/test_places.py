"""Salon and city tags in expenses: «аренда 45к салон Ленина», «@Ленина» (bot/places.py).

The pure matcher, the bot writing the Salon and City cells through the emulators, the
Dimensions figures putting the cost on that salon, and ``init`` adding the two columns to
an Expenses tab made by an older version.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest

from sheetledger.bot.places import PlaceTag, find_place
from sheetledger.config import CityAlias, Config, SalonAlias
from sheetledger.connect import build_google, master_ledger
from sheetledger.ledger.setup import prepare
from sheetledger.ledger.tabs import EXPENSES
from sheetledger.reports.figures import Period
from sheetledger.reports.terminal import period_report
from sheetledger.sandbox.runner import OWNER_ID, Sandbox
from sheetledger.store import LocalState
from tests.bot.botkit import RunningBot, make_bot, wait_for_rows

os.environ.setdefault("PTB_TIMEDELTA", "true")

SALONS = (
    SalonAlias(name="Салон на Ленина", city="Екатеринбург", aliases=("ленина",)),
    SalonAlias(name="Салон на Кирова", city="Екатеринбург", aliases=("кирова", "киров")),
    SalonAlias(name="Гринвич", city="Пермь"),
)
CITIES = (CityAlias(name="Екатеринбург", aliases=("екб",)), CityAlias(name="Пермь"))
LENINA = ("Салон на Ленина", "Екатеринбург")


@pytest.mark.parametrize(
    ("comment", "tag"),
    [
        ("аренда салон Ленина", PlaceTag(*LENINA, "аренда")),
        ("аренда салона ЛЕНИНА", PlaceTag(*LENINA, "аренда")),
        ("аренда @Ленина за декабрь", PlaceTag(*LENINA, "аренда за декабрь")),
        ("реклама @гринвич", PlaceTag("Гринвич", "Пермь", "реклама")),  # the name as a word
        ("бензин город Пермь", PlaceTag("", "Пермь", "бензин")),
        ("бензин г. екб", PlaceTag("", "Екатеринбург", "бензин")),
        ("бензин @екб", PlaceTag("", "Екатеринбург", "бензин")),
        ("@кирова @ленина", PlaceTag("Салон на Кирова", "Екатеринбург", "@ленина")),  # first wins
        ("чай @неизвестно", PlaceTag("", "", "чай @неизвестно")),  # nothing configured: kept
        ("почта me@ленина.рф", PlaceTag("", "", "почта me@ленина.рф")),  # an e-mail is no tag
        ("город салон", PlaceTag("", "", "город салон")),
    ],
)
def test_tags_are_found_and_taken_out_of_the_comment(comment: str, tag: PlaceTag) -> None:
    assert find_place(comment, SALONS, CITIES) == tag


def test_without_configured_places_the_comment_is_left_as_typed() -> None:
    assert find_place("аренда @Ленина", (), ()) == PlaceTag("", "", "аренда @Ленина")


@pytest.fixture
def running(sandbox: tuple[Sandbox, Config], state: LocalState) -> Iterator[tuple[Sandbox, Config]]:
    box, config = sandbox
    expenses = config.expenses.model_copy(update={"salons": SALONS, "cities": CITIES})
    config = config.model_copy(update={"expenses": expenses})
    with RunningBot(make_bot(config, state, flush_every=0.1)):
        box.telegram.wait_for_poll()
        yield box, config


def test_the_bot_writes_the_salon_and_city_and_dimensions_count_them(
    running: tuple[Sandbox, Config],
) -> None:
    box, config = running
    box.telegram.send_text(OWNER_ID, "аренда 45к салон Ленина\n3500 реклама @екб\n100 кофе")
    rows = wait_for_rows(box, config, lambda rows: len(rows) == 3)
    got = [(r["Comment"], r["Salon"] or "", r["City"] or "") for r in rows]
    assert got == [
        ("аренда", *LENINA),
        ("реклама", "", "Екатеринбург"),
        ("кофе", "", ""),
    ]
    assert rows[0]["Category"] == "Аренда"
    # The management table reads the tab back: the rent is the Lenina salon's own cost.
    ledger = master_ledger(config, build_google(config))
    view = ledger.read(["deals", "payments", "expenses"])
    sources = {key: list(view.tab(key)) for key in ("deals", "payments", "expenses")}
    day = rows[0]["Date"]
    assert isinstance(day, int)
    today = date.fromordinal(date(1899, 12, 30).toordinal() + day)
    period = Period("m", today.replace(day=1), today)
    report = period_report(config, sources, period, ("salon", "city"))
    own = {(r["dimension"], r["value"]): r["tagged_costs"] for r in report.dimensions}
    assert own[("salon", "Салон на Ленина")] == Decimal("45000.00")
    assert own[("city", "Екатеринбург")] == Decimal("48500.00")


def test_init_adds_the_new_columns_to_an_old_expenses_tab(
    sandbox: tuple[Sandbox, Config],
) -> None:
    box, config = sandbox
    title = config.google.tabs.expenses
    sheet = config.google.spreadsheet_id
    for cell in ("L1", "M1"):  # as an older version made the tab: no Salon, no City
        box.sheets.type_cell(sheet, f"'{title}'!{cell}", "")
    ledger = master_ledger(config, build_google(config))
    ledger.read(["expenses"])
    assert "Salon" in ledger.header_problems()["expenses"]  # the daemon would stop here

    report = prepare(ledger)

    assert title in report.headers_written and not report.problems
    assert box.sheets.values(sheet, title)[0][: EXPENSES.width] == EXPENSES.headers
    assert not prepare(master_ledger(config, build_google(config))).changed  # once


def test_init_never_writes_over_a_persons_column_where_the_new_ones_go(
    sandbox: tuple[Sandbox, Config],
) -> None:
    box, config = sandbox
    title = config.google.tabs.expenses
    sheet = config.google.spreadsheet_id
    box.sheets.type_cell(sheet, f"'{title}'!L1", "Мои заметки")  # her column, right of Void
    box.sheets.type_cell(sheet, f"'{title}'!M1", "")
    report = prepare(master_ledger(config, build_google(config)))
    assert any("Salon" in p and "by hand" in p for p in report.problems)
    assert box.sheets.values(sheet, title)[0][EXPENSES.index["salon"]] == "Мои заметки"
