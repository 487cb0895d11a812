"""What ``init`` paints, read back through the real client: the people's columns' yellow
headers, one money format with ₽ everywhere, and a spreadsheet an older version prepared
(money without ₽) brought up to date once."""

from __future__ import annotations

from typing import Any

from sheetledger.connect import build_google, cabinet_ledgers, master_ledger
from sheetledger.ledger.batch import MONEY_FORMAT
from sheetledger.ledger.cells import Kind
from sheetledger.ledger.setup import prepare
from sheetledger.ledger.sheets import LedgerSheets, column_letter, quote_title
from sheetledger.ledger.tabs import Owner
from sheetledger.sandbox.runner import Sandbox

YELLOW = {"red": 1.0, "green": 0.95, "blue": 0.7}


def _ledgers(box: Sandbox) -> list[LedgerSheets]:
    config = box.load_config()
    client = build_google(config)
    return [master_ledger(config, client), *cabinet_ledgers(config, client).values()]


def _row(ledger: LedgerSheets, key: str, row: int) -> list[dict[str, Any]]:
    title, schema = ledger.tabs[key]
    a1 = f"{quote_title(title)}!A{row}:{column_letter(schema.width - 1)}{row}"
    reply = ledger.metadata("sheets(data(rowData(values(note,userEnteredFormat))))", [a1])
    values: list[dict[str, Any]] = reply["sheets"][0]["data"][0]["rowData"][0]["values"]
    return values


def test_people_columns_have_yellow_headers_and_each_column_its_own_note(box: Sandbox) -> None:
    ledgers = _ledgers(box)
    for ledger in ledgers:
        prepare(ledger)
    cabinet = ledgers[1]
    checked = 0
    for key, (_, schema) in cabinet.tabs.items():
        header = _row(cabinet, key, 1)
        for column, cell in zip(schema.columns, header, strict=False):
            colour = cell["userEnteredFormat"]["backgroundColor"]
            assert (colour == YELLOW) is (column.owner is Owner.PEOPLE), (key, column.header)
            assert cell.get("note", "") == column.note, (key, column.header)
            checked += column.owner is Owner.PEOPLE
    assert checked >= 3  # Confirmed, Received amount, Comment at least


def test_money_cells_show_roubles_and_an_old_format_is_replaced_once(box: Sandbox) -> None:
    ledgers = _ledgers(box)
    for ledger in ledgers:
        prepare(ledger)
    master = ledgers[0]
    title, schema = master.tabs["payments"]
    money = [i for i, c in enumerate(schema.columns) if c.kind is Kind.MONEY]
    assert money and MONEY_FORMAT["pattern"].endswith('"₽"')
    for index in money:
        assert _row(master, "payments", 2)[index]["userEnteredFormat"]["numberFormat"] == (
            MONEY_FORMAT
        )
    # A spreadsheet an older sheetledger prepared: money shown without ₽.
    sheet_id = int(
        next(
            s["properties"]["sheetId"]
            for s in master.metadata("sheets(properties(sheetId,title))")["sheets"]
            if s["properties"]["title"] == title
        )
    )
    old = {"type": "NUMBER", "pattern": "#,##0.00"}
    master.batch_update(
        [
            {
                "repeatCell": {
                    "range": {
                        "sheetId": sheet_id,
                        "startRowIndex": 1,
                        "endRowIndex": 1000,
                        "startColumnIndex": i,
                        "endColumnIndex": i + 1,
                    },
                    "cell": {"userEnteredFormat": {"numberFormat": old}},
                    "fields": "userEnteredFormat.numberFormat",
                }
            }
            for i in money
        ],
        what="an older init",
    )
    widths_before = master.metadata("sheets(properties(title),data(columnMetadata))", [title])
    report = prepare(master)
    assert report.formatted == [title] and report.requests_sent == 1
    for row in (2, 500):
        cells = _row(master, "payments", row)
        assert all(cells[i]["userEnteredFormat"]["numberFormat"] == MONEY_FORMAT for i in money)
    assert master.metadata("sheets(properties(title),data(columnMetadata))", [title]) == (
        widths_before
    )
    again = prepare(master)
    assert again.requests_sent == 0 and not again.changed
