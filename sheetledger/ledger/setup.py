"""``sheetledger init``: prepare a spreadsheet's managed tabs. Safe to run again.

What it does, in one metadata read and at most one atomic batchUpdate:
adds missing tabs, writes header rows where they are empty, freezes them, sets
money/date formats and checkboxes on the data rows, column widths, and a
warning-only protection over the columns the daemon owns (people get a "you are
editing a protected range" prompt, nothing is locked). A run on a prepared
spreadsheet sends nothing after the read. It never deletes a tab, a row, or a
column people added to the right of the managed ones; a header that differs from
what the daemon expects is reported, not overwritten.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sheetledger.ledger.cells import Kind
from sheetledger.ledger.sheets import (
    DATE_FORMAT,
    MONEY_FORMAT,
    LedgerSheets,
    check_header,
)
from sheetledger.ledger.tabs import Owner, TabSchema

PROTECTION_TAG = "sheetledger: filled by the daemon"


@dataclass
class SetupReport:
    created: list[str] = field(default_factory=list)
    headers_written: list[str] = field(default_factory=list)
    formatted: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    requests_sent: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.created or self.headers_written or self.formatted)


def _sheet_id_for(title: str) -> int:
    # Stable ids for the tabs we add, so one batchUpdate can add and format them.
    return 100_000 + zlib.crc32(title.encode()) % 1_000_000_000


def _protected_ranges(sheet: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [p for p in sheet.get("protectedRanges", []) if p.get("description") == PROTECTION_TAG]


def prepare(ledger: LedgerSheets, *, header_notes: bool = True) -> SetupReport:
    """Make every managed tab of ``ledger`` ready; idempotent."""
    report = SetupReport()
    meta = ledger.metadata("sheets(properties,protectedRanges,dataValidation)")
    sheets = {s["properties"]["title"]: s for s in meta.get("sheets", [])}
    headers = ledger.header_rows([title for title, _ in ledger.tabs.values() if title in sheets])
    requests: list[dict[str, Any]] = []
    for title, schema in ledger.tabs.values():
        sheet = sheets.get(title)
        if sheet is None:
            sheet_id = _sheet_id_for(title)
            requests.append(_add_sheet(sheet_id, title, schema))
            report.created.append(title)
            requests.extend(_header_cells(sheet_id, schema))
            requests.extend(_formatting(sheet_id, schema, 1000, protect=True))
            report.formatted.append(title)
            continue
        props = sheet["properties"]
        sheet_id = int(props.get("sheetId", 0))
        rows = int(props.get("gridProperties", {}).get("rowCount", 1000))
        current = headers.get(title, [])
        if not any(str(h).strip() for h in current[: schema.width]):
            requests.extend(_header_cells(sheet_id, schema))
            report.headers_written.append(title)
        else:
            problem = check_header(schema, current)
            tail = _missing_tail(schema, current)
            if problem and tail is not None:
                # A newer version declares more columns at the end: their headers are added
                # where the cells are still empty (never over a column of someone's).
                columns = int(props.get("gridProperties", {}).get("columnCount", 26))
                if columns < schema.width:
                    requests.append(_more_columns(sheet_id, schema.width - columns))
                requests.extend(_header_cells(sheet_id, schema, first=tail))
                report.headers_written.append(title)
            elif problem:
                report.problems.append(
                    f"tab '{title}': {problem} — fix the header by hand; init leaves it"
                )
                continue
        if (
            not _protected_ranges(sheet)
            or int(props.get("gridProperties", {}).get("frozenRowCount", 0)) != 1
        ):
            requests.extend(
                _formatting(sheet_id, schema, rows, protect=not _protected_ranges(sheet))
            )
            report.formatted.append(title)
    if requests:
        ledger.batch_update(requests, what="init")
        report.requests_sent = 1
    return report


def _add_sheet(sheet_id: int, title: str, schema: TabSchema) -> dict[str, Any]:
    return {
        "addSheet": {
            "properties": {
                "sheetId": sheet_id,
                "title": title,
                "hidden": schema.hidden,
                "gridProperties": {
                    "rowCount": 1000,
                    "columnCount": max(26, schema.width),
                    "frozenRowCount": 1,
                },
            }
        }
    }


def _missing_tail(schema: TabSchema, header: list[Any]) -> int | None:
    """Where the managed headers stop when they stand right but the last ones are missing
    (their cells empty); None otherwise."""
    found = [str(h).strip() if h is not None else "" for h in header]
    known = 0
    while known < len(found) and known < schema.width and found[known] == schema.headers[known]:
        known += 1
    if known == schema.width or known == 0 or any(found[known : schema.width]):
        return None
    return known


def _more_columns(sheet_id: int, count: int) -> dict[str, Any]:
    return {"appendDimension": {"sheetId": sheet_id, "dimension": "COLUMNS", "length": count}}


def _header_cells(sheet_id: int, schema: TabSchema, *, first: int = 0) -> list[dict[str, Any]]:
    cells = []
    for column in schema.columns[first:]:
        cell: dict[str, Any] = {
            "userEnteredValue": {"stringValue": column.header},
            "userEnteredFormat": {
                "textFormat": {"bold": True},
                "backgroundColor": _header_colour(column.owner),
            },
        }
        if column.note:
            cell["note"] = column.note
        cells.append(cell)
    return [
        {
            "updateCells": {
                "start": {"sheetId": sheet_id, "rowIndex": 0, "columnIndex": first},
                "rows": [{"values": cells}],
                "fields": (
                    "userEnteredValue,userEnteredFormat.textFormat,"
                    "userEnteredFormat.backgroundColor,note"
                ),
            }
        }
    ]


def _header_colour(owner: Owner) -> dict[str, float]:
    # People's columns stand out (light yellow): that is where they type and tick.
    if owner is Owner.PEOPLE:
        return {"red": 1.0, "green": 0.95, "blue": 0.7}
    return {"red": 0.85, "green": 0.89, "blue": 0.95}


def _formatting(
    sheet_id: int, schema: TabSchema, rows: int, *, protect: bool
) -> list[dict[str, Any]]:
    requests: list[dict[str, Any]] = [
        {
            "updateSheetProperties": {
                "properties": {
                    "sheetId": sheet_id,
                    "gridProperties": {"frozenRowCount": 1},
                    "hidden": schema.hidden,
                },
                "fields": "gridProperties.frozenRowCount,hidden",
            }
        }
    ]
    for index, column in enumerate(schema.columns):
        data_range = {
            "sheetId": sheet_id,
            "startRowIndex": 1,
            "endRowIndex": rows,
            "startColumnIndex": index,
            "endColumnIndex": index + 1,
        }
        if column.kind in (Kind.MONEY, Kind.DATE):
            fmt = MONEY_FORMAT if column.kind is Kind.MONEY else DATE_FORMAT
            requests.append(
                {
                    "repeatCell": {
                        "range": data_range,
                        "cell": {"userEnteredFormat": {"numberFormat": fmt}},
                        "fields": "userEnteredFormat.numberFormat",
                    }
                }
            )
        if column.kind is Kind.BOOL:
            requests.append(
                {
                    "setDataValidation": {
                        "range": data_range,
                        "rule": {"condition": {"type": "BOOLEAN"}, "strict": True},
                    }
                }
            )
        requests.append(
            {
                "updateDimensionProperties": {
                    "range": {
                        "sheetId": sheet_id,
                        "dimension": "COLUMNS",
                        "startIndex": index,
                        "endIndex": index + 1,
                    },
                    "properties": {"pixelSize": column.width, "hiddenByUser": column.hidden},
                    "fields": "pixelSize,hiddenByUser",
                }
            }
        )
    for start, end in _daemon_spans(schema) if protect else ():
        requests.append(
            {
                "addProtectedRange": {
                    "protectedRange": {
                        "range": {
                            "sheetId": sheet_id,
                            "startColumnIndex": start,
                            "endColumnIndex": end,
                        },
                        "description": PROTECTION_TAG,
                        "warningOnly": True,
                    }
                }
            }
        )
    return requests


def _daemon_spans(schema: TabSchema) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for index, column in enumerate(schema.columns):
        if column.owner is Owner.PEOPLE:
            continue
        if spans and spans[-1][1] == index:
            spans[-1] = (spans[-1][0], index + 1)
        else:
            spans.append((index, index + 1))
    return spans
