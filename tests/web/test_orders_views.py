"""The payment orders as the page shows them, on the demo business's sandbox.

The supply manager submits a request in his cabinet, the real daemon (its sync job and its
notify job, called in turn) makes it an order and tells the accountant by SMS, the
accountant pays it in her cabinet. The page then shows the Invoices tab of the master, the
Orders tab of the accountant's cabinet and the Requests tab of the requester's, the deal's
«costs paid» field and the order's note on its card, and the SMS in the services view.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from sheetledger.connect import build_google, cabinet_ledgers, master_ledger
from sheetledger.daemon import Daemon
from sheetledger.ledger.setup import prepare
from sheetledger.ledger.sheets import column_letter
from sheetledger.sandbox.runner import Sandbox
from sheetledger.sandbox.web import WebPage
from tests.web.conftest import call


@pytest.fixture
def daemon(box: Sandbox) -> Iterator[Daemon]:
    config = box.load_config()
    client = build_google(config)
    for sheets in [master_ledger(config, client), *cabinet_ledgers(config, client).values()]:
        prepare(sheets)
    made = Daemon(config)
    yield made
    made.close()


def _sync(daemon: Daemon) -> None:
    report = daemon.sync_job()
    assert report is not None and report.problems == [], report and report.problems


def _type_row(box: Sandbox, book: str, tab: str, where: tuple[str, str], cells: dict[str, str]):
    """A person types ``cells`` (by header) into the row whose ``where`` column holds a value."""
    values = box.sheets.values(book, tab)
    header = [str(h) for h in values[0]]
    key, wanted = where
    row = next(i for i, r in enumerate(values) if i and r and str(r[header.index(key)]) == wanted)
    for name, text in cells.items():
        a1 = f"'{tab}'!{column_letter(header.index(name))}{row + 1}"
        if text in ("TRUE", "FALSE"):
            box.sheets.tick(book, a1, text == "TRUE")
        else:
            box.sheets.type_cell(book, a1, text)


def _a_deal_with_contract(box: Sandbox) -> tuple[int, str]:
    field = int(box.info["amocrm"]["fields"]["contract_no"])
    pipeline = int(box.info["amocrm"]["pipeline_id"])
    for lead in box.amo.leads():
        for entry in lead.get("custom_fields_values") or ():
            if entry["field_id"] == field and lead["pipeline_id"] == pipeline:
                return int(lead["id"]), str(entry["values"][0]["value"])
    raise AssertionError("the demo business has deals with contract numbers")


def test_an_order_is_seen_in_the_three_tabs_the_deal_card_and_the_sms(
    box: Sandbox, page: WebPage, daemon: Daemon
) -> None:
    google: dict[str, Any] = box.info["google"]
    master, accountant, supply = (
        google["spreadsheet_id"],
        google["cabinets"]["accountant"],
        google["cabinets"]["supply"],
    )
    deal, contract = _a_deal_with_contract(box)
    _sync(daemon)  # the first cycle gives the Requests tab its blank rows
    requests = box.sheets.values(supply, "Requests")
    oid = str(requests[1][0])
    assert oid, "a blank request row carries its order ID"
    _type_row(
        box,
        supply,
        "Requests",
        ("Order ID", oid),
        {
            "Amount": "12000",
            "Supplier": "ООО «Фурнитура-Опт»",
            "Purpose": "фурнитура для кухни",
            "Contract no": contract,
            "Submit": "TRUE",
        },
    )
    _sync(daemon)
    daemon.notify_job()  # the accountant is told, by SMS too (orders.sms: always)
    _type_row(box, accountant, "Orders", ("Order ID", oid), {"Paid": "TRUE"})
    _sync(daemon)

    for book, tab in ((master, "Invoices"), (accountant, "Orders"), (supply, "Requests")):
        html = call(page, f"/view?view=sheets&book={book}&tab={tab}").text
        assert f'data-tab="{tab}"' in html or f">{tab}<" in html, tab
        assert oid in html and "ООО «Фурнитура-Опт»" in html, tab
        assert re.search(r">12\W000\W00\W₽<", html), tab  # money in ₽, the book's locale

    # The people's columns of a cabinet under yellow headers, the daemon's under blue.
    orders = call(page, f"/view?view=sheets&book={accountant}&tab=Orders").text
    assert re.search(r'background:#fff2b3;[^>]*data-raw="Paid"', orders)
    assert re.search(r'background:#d9e3f2;[^>]*data-raw="Order ID"', orders)

    card = call(page, f"/view?view=amocrm&deal={deal}").text
    field = card.index("Оплачено поставщикам")
    assert "12\u00a0000" in card[field : field + 400]
    assert "Оплачен счёт поставщику" in card and f"sheetledger:{oid}#1" in card

    services = call(page, "/view?view=services").text
    assert "SMS ещё не отправлялись" not in services
    assert oid in services and box.sms.messages(include_tests=True)
