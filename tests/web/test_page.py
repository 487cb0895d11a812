"""The web page over HTTP (no browser): its guard, its views, its actions, pivots and charts."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest
import requests

from sheetledger.sandbox.runner import OWNER_ID, Sandbox
from sheetledger.sandbox.web import WebPage
from sheetledger.sandbox.web.chart import chart_svg
from sheetledger.sandbox.web.chat_view import STRANGER_ID
from sheetledger.sandbox.web.grid import read_grid
from tests.web.conftest import call

PNG_1X1 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"
)


def batch_update(box: Sandbox, spreadsheet_id: str, requests_: list[dict[str, Any]]) -> None:
    """Change a spreadsheet through the real API route, as the daemon's account."""
    reply = requests.post(
        f"{box.urls['google']}/v4/spreadsheets/{spreadsheet_id}:batchUpdate",
        headers={"Authorization": f"Bearer {box.sheets.access_token()}"},
        json={"requests": requests_},
        timeout=10,
    )
    assert reply.status_code == 200, reply.text


def small_book(box: Sandbox) -> tuple[str, int]:
    """A book with a header, money and dates, a checkbox column and a protected column."""
    email = box.info["google"]["service_account_email"]
    sid = box.sheets.create_spreadsheet(
        "Проба",
        sheets=[
            {
                "title": "Payments",
                "values": [
                    ["Payment ID", "Amount", "Date", "Confirmed", "Secret"],
                    ["p1", 3500, 46000, False, "x"],
                    ["p2", 120000.5, 46001, True, "y"],
                ],
            }
        ],
        shared_with=[email],
    )
    with box.sheets.lock:
        sheet_id = box.sheets.spreadsheets[sid].sheets[0].sheet_id

    def cells(c0: int, c1: int) -> dict[str, Any]:
        return {
            "sheetId": sheet_id,
            "startRowIndex": 1,
            "endRowIndex": 3,
            "startColumnIndex": c0,
            "endColumnIndex": c1,
        }

    batch_update(
        box,
        sid,
        [
            {
                "updateSheetProperties": {
                    "properties": {"sheetId": sheet_id, "gridProperties": {"frozenRowCount": 1}},
                    "fields": "gridProperties.frozenRowCount",
                }
            },
            {
                "repeatCell": {
                    "range": cells(1, 2),
                    "cell": {
                        "userEnteredFormat": {
                            "numberFormat": {"type": "NUMBER", "pattern": "#,##0.00 ₽"}
                        }
                    },
                    "fields": "userEnteredFormat",
                }
            },
            {
                "repeatCell": {
                    "range": cells(2, 3),
                    "cell": {
                        "userEnteredFormat": {
                            "numberFormat": {"type": "DATE", "pattern": "dd.mm.yyyy"}
                        }
                    },
                    "fields": "userEnteredFormat",
                }
            },
            {
                "setDataValidation": {
                    "range": cells(3, 4),
                    "rule": {"condition": {"type": "BOOLEAN"}},
                }
            },
            {
                "repeatCell": {
                    "range": {
                        "sheetId": sheet_id,
                        "startRowIndex": 0,
                        "endRowIndex": 1,
                        "startColumnIndex": 3,
                        "endColumnIndex": 4,
                    },
                    "cell": {
                        "userEnteredFormat": {
                            "textFormat": {"bold": True},
                            "backgroundColor": {"red": 1, "green": 0.95, "blue": 0.7},
                        }
                    },
                    "fields": "userEnteredFormat",
                }
            },
            {
                "addProtectedRange": {
                    "protectedRange": {
                        "range": {"sheetId": sheet_id, "startColumnIndex": 1, "endColumnIndex": 2},
                        "warningOnly": True,
                        "description": "sheetledger",
                    }
                }
            },
            {
                "updateDimensionProperties": {
                    "range": {
                        "sheetId": sheet_id,
                        "dimension": "COLUMNS",
                        "startIndex": 4,
                        "endIndex": 5,
                    },
                    "properties": {"hiddenByUser": True},
                    "fields": "hiddenByUser",
                }
            },
        ],
    )
    return sid, sheet_id


# --------------------------------------------------------------------------- the guard


def test_without_the_token_nothing_is_shown_or_done(page: WebPage) -> None:
    assert call(page, "/", token=None).status == 403
    assert call(page, "/", token="guess").status == 403
    assert call(page, "/view?view=telegram", token=None).status == 403
    refused = call(
        page,
        "/act",
        token="guess",
        body={"action": "tg_text", "user": OWNER_ID, "text": "1000 такси"},
    )
    assert refused.status == 403
    assert page.box.telegram.chat_history(OWNER_ID) == []
    opened = call(page, "/")
    assert opened.status == 200 and "Песочница sheetledger" in opened.text


def test_it_answers_on_loopback_names_only(page: WebPage) -> None:
    assert call(page, "/", host="evil.example:80").status == 403
    assert call(page, "/", host=f"localhost:{page.port}").status == 200
    assert page.url.startswith("http://127.0.0.1:") and page.token in page.url


def test_its_assets_come_from_the_package(page: WebPage) -> None:
    html = call(page, "/").text
    assert re.findall(r'(?:src|href)="(https?:)?//', html) == []  # nothing from the internet
    script = call(page, "/static/app.js", token=None)
    assert script.status == 200 and "javascript" in script.headers["Content-Type"]
    assert call(page, "/static/app.css", token=None).status == 200
    assert call(page, "/static/../server.py", token=None).status == 404


# --------------------------------------------------------------------------- the views


def test_a_tab_is_drawn_the_way_google_sheets_shows_it(box: Sandbox) -> None:
    sid, _ = small_book(box)
    with box.sheets.lock:
        book = box.sheets.spreadsheets[sid]
        grid = read_grid(book, book.sheets[0])
    header, first, second = grid.rows[0], grid.rows[1], grid.rows[2]
    assert [c.text for c in header[:4]] == ["Payment ID", "Amount", "Date", "Confirmed"]
    assert grid.frozen_rows == 1
    assert first[1].text == "3,500.00 ₽" and first[1].align == "right"
    assert second[1].text == "120,000.50 ₽"
    assert first[2].text == "09.12.2025"  # serial 46000
    assert (first[3].checkbox, second[3].checkbox) == (False, True)
    assert "background:#fff2b3" in header[3].style and "font-weight:bold" in header[3].style
    assert first[1].protected and "предупреждение" in first[1].protected
    assert first[0].protected is None
    assert [c.letter for c in grid.columns if c.hidden] == ["E"]


def test_the_sheets_view_hides_hidden_columns_and_marks_protection(
    box: Sandbox, page: WebPage
) -> None:
    sid, _ = small_book(box)
    html = call(page, f"/view?view=sheets&book={sid}").text
    assert 'data-a1="Payments!D3"' in html and "checked" in html
    assert "Payments!E2" not in html  # the hidden column is not drawn
    assert html.count('class="right protected"') == 2
    assert "3,500.00 ₽" in html


def test_a_pivot_table_shows_its_values_and_a_chart_is_a_picture(box: Sandbox) -> None:
    email = box.info["google"]["service_account_email"]
    sid = box.sheets.create_spreadsheet(
        "Отчёты",
        sheets=[
            {
                "title": "Profit",
                "values": [["Manager", "Revenue"], ["Иван", 100], ["Пётр", 50], ["Иван", 25]],
            },
            "Pivots",
        ],
        shared_with=[email],
    )
    with box.sheets.lock:
        profit, pivots = (s.sheet_id for s in box.sheets.spreadsheets[sid].sheets)
    column = {"sheetId": profit, "startRowIndex": 0, "startColumnIndex": 1, "endColumnIndex": 2}
    batch_update(
        box,
        sid,
        [
            {
                "updateCells": {
                    "start": {"sheetId": pivots, "rowIndex": 0, "columnIndex": 0},
                    "rows": [
                        {
                            "values": [
                                {
                                    "pivotTable": {
                                        "source": {
                                            "sheetId": profit,
                                            "startRowIndex": 0,
                                            "startColumnIndex": 0,
                                            "endColumnIndex": 2,
                                        },
                                        "rows": [
                                            {
                                                "sourceColumnOffset": 0,
                                                "showTotals": True,
                                                "sortOrder": "ASCENDING",
                                            }
                                        ],
                                        "values": [
                                            {
                                                "summarizeFunction": "SUM",
                                                "sourceColumnOffset": 1,
                                                "name": "Выручка",
                                            }
                                        ],
                                    }
                                }
                            ]
                        }
                    ],
                    "fields": "pivotTable",
                }
            },
            {
                "addChart": {
                    "chart": {
                        "spec": {
                            "title": "Выручка по сделкам",
                            "basicChart": {
                                "chartType": "COLUMN",
                                "headerCount": 1,
                                "domains": [
                                    {
                                        "domain": {
                                            "sourceRange": {
                                                "sources": [
                                                    {
                                                        **column,
                                                        "startColumnIndex": 0,
                                                        "endColumnIndex": 1,
                                                    }
                                                ]
                                            }
                                        }
                                    }
                                ],
                                "series": [
                                    {
                                        "series": {"sourceRange": {"sources": [column]}},
                                        "type": "COLUMN",
                                    }
                                ],
                            },
                        },
                        "position": {
                            "overlayPosition": {
                                "anchorCell": {"sheetId": pivots, "rowIndex": 10, "columnIndex": 0}
                            }
                        },
                    }
                }
            },
        ],
    )
    with box.sheets.lock:
        book = box.sheets.spreadsheets[sid]
        grid = read_grid(book, book.sheets[1])
    block = [[c.text for c in row[:2]] for row in grid.rows[:4]]
    assert block == [
        ["Manager", "Выручка"],
        ["Иван", "125"],
        ["Пётр", "50"],
        ["Grand Total", "175"],
    ]
    assert [c.pivot for c in grid.rows[3][:2]] == ["total", "total"]
    (chart,) = grid.charts
    assert chart.labels == ("Иван", "Пётр", "Иван") and chart.series[0].values == (100, 50, 25)
    assert chart.anchor == "A11"
    svg = chart_svg(chart)
    assert svg.startswith("<svg") and svg.count("<rect") == 3 + 1  # three bars, one legend


def test_the_board_lists_the_synced_pipeline_by_status(box: Sandbox, page: WebPage) -> None:
    html = call(page, "/view?view=amocrm").text
    for status in ("Новая заявка", "Договор заключен", "Успешно реализовано"):
        assert status in html
    lead = box.amo.leads()[-1]
    assert f'data-deal="{lead["id"]}"' in html


def test_a_deal_card_shows_fields_and_notes_newest_first(box: Sandbox, page: WebPage) -> None:
    lead = box.amo.leads()[-1]
    box.amo.add_note(lead["id"], "common", {"text": "первое примечание"})
    box.amo.add_note(lead["id"], "common", {"text": "второе примечание"})
    html = call(page, f"/view?view=amocrm&deal={lead['id']}").text
    assert html.index("второе примечание") < html.index("первое примечание")
    assert "Сумма предоплаты" in html and "Подтверждено оплат" in html


def test_people_text_is_escaped(box: Sandbox, page: WebPage) -> None:
    box.telegram.send_text(STRANGER_ID, "<script>alert(1)</script> & «ёлка»")
    html = call(page, f"/view?view=telegram&user={STRANGER_ID}").text
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; «ёлка»" in html


def test_the_services_view_counts_requests_per_service(box: Sandbox, page: WebPage) -> None:
    before = call(page, "/changes?view=services").json()["fingerprint"]
    read = requests.get(
        f"{box.urls['google']}/v4/spreadsheets/{box.info['google']['spreadsheet_id']}",
        headers={"Authorization": f"Bearer {box.sheets.access_token()}"},
        timeout=10,
    )
    assert read.status_code == 200
    after = call(page, "/changes?view=services").json()["fingerprint"]
    assert before != after
    html = call(page, "/view?view=services").text
    assert "Google Sheets и Drive" in html and "SMS ещё не отправлялись" in html


# --------------------------------------------------------------------------- actions


def act(page: WebPage, **body: Any) -> dict[str, Any]:
    answer = call(page, "/act", body=body)
    reply: dict[str, Any] = answer.json()
    assert (answer.status == 200) == reply["ok"], reply
    return reply


def test_ticking_typing_and_sorting_go_through_the_sheets_emulator(
    box: Sandbox, page: WebPage
) -> None:
    sid, _ = small_book(box)
    before = call(page, f"/changes?view=sheets&book={sid}").json()["fingerprint"]
    assert act(page, action="sheet_tick", book=sid, a1="Payments!D2", checked=True)["ok"]
    assert box.sheets.values(sid, "Payments")[1][3] is True
    assert call(page, f"/changes?view=sheets&book={sid}").json()["fingerprint"] != before
    assert act(page, action="sheet_type", book=sid, a1="Payments!A3", value="p0")["ok"]
    assert act(page, action="sheet_sort", book=sid, tab="Payments", column="A", ascending=True)[
        "ok"
    ]
    rows = box.sheets.values(sid, "Payments")
    assert [r[0] for r in rows] == ["Payment ID", "p0", "p1"]  # the header stays on top


def test_typing_into_a_protected_cell_follows_the_sheet(box: Sandbox, page: WebPage) -> None:
    sid, _ = small_book(box)
    # A warning-only range lets a person type (Google asks "are you sure?" and writes).
    assert act(page, action="sheet_type", book=sid, a1="Payments!B2", value="4000")["ok"]
    assert box.sheets.values(sid, "Payments")[1][1] == 4000


def test_a_message_a_button_and_a_file_reach_the_bot_as_updates(
    box: Sandbox, page: WebPage
) -> None:
    assert act(page, action="tg_text", user=OWNER_ID, text="3500 реклама", first_name="Ольга")
    box.telegram.open_chat(OWNER_ID)
    photo = base64.b64encode(PNG_1X1).decode()
    assert act(
        page,
        action="tg_file",
        user=OWNER_ID,
        filename="чек.png",
        mime_type="image/png",
        content_base64=photo,
        caption="чек",
    )["ok"]
    assert act(
        page,
        action="tg_file",
        user=OWNER_ID,
        filename="счёт.pdf",
        mime_type="application/pdf",
        content_base64=base64.b64encode(b"%PDF-1.4").decode(),
    )["ok"]
    updates = box.telegram.pending_updates()
    messages = [u["message"] for u in updates]
    assert messages[0]["text"] == "3500 реклама" and messages[0]["from"]["first_name"] == "Ольга"
    assert "photo" in messages[1] and messages[1]["caption"] == "чек"
    assert messages[2]["document"]["file_name"] == "счёт.pdf"
    file_id = messages[2]["document"]["file_id"]
    assert call(page, f"/?file={file_id}").body == b"%PDF-1.4"
    assert call(page, f"/?file={file_id}", token=None).status == 403
    refused = act(page, action="tg_press", user=OWNER_ID, message=1, callback="nothing")
    assert not refused["ok"] and "не найдено" in refused["message"]


def test_a_deal_is_created_and_a_payment_field_changed_with_the_api_rules(
    box: Sandbox, page: WebPage
) -> None:
    amo = box.info["amocrm"]
    manager = amo["managers"][0]
    reply = act(
        page,
        action="amo_create",
        name="Шкаф-купе — Тестов Т.",
        price="150 000",
        status_id=amo["statuses"]["Договор заключен"],
        responsible_user_id=manager,
        contract_no="9001",
        product="Шкаф-купе",
        amount="50 000",
        method="Наличными в кассу",
        date="2026-11-20",
    )
    lead_id = int(re.search(r"#(\d+)", reply["message"]).group(1))  # type: ignore[union-attr]
    lead = box.amo.lead(lead_id)
    assert lead is not None and lead["price"] == 150000
    values = {cf["field_id"]: cf["values"][0]["value"] for cf in lead["custom_fields_values"]}
    slot = amo["slots"][0]
    assert values[slot["amount"]] == "50000" and values[slot["method"]] == "Наличными в кассу"
    assert act(
        page,
        action="amo_payment",
        lead=lead_id,
        slot=0,
        amount="55 000,50",
        method="Перевод на карту",
        date="2026-11-21",
    )["ok"]
    lead = box.amo.lead(lead_id)
    assert lead is not None
    values = {cf["field_id"]: cf["values"][0]["value"] for cf in lead["custom_fields_values"]}
    assert values[slot["amount"]] == "55000.5" and values[slot["method"]] == "Перевод на карту"
    refused = act(page, action="amo_payment", lead=lead_id, slot=0, amount="много")
    assert not refused["ok"] and "не сумма" in refused["message"]
    refused = act(page, action="amo_payment", lead=lead_id, slot=0, method="Бартер")
    assert not refused["ok"] and "amoCRM не принял" in refused["message"]


@pytest.mark.parametrize(
    "body",
    [{"action": "launch"}, {"action": "sheet_tick"}, {"action": "tg_text", "user": "x"}],
)
def test_a_bad_action_is_refused_with_a_reason(page: WebPage, body: dict[str, Any]) -> None:
    reply = act(page, **body)
    assert not reply["ok"] and reply["message"]
