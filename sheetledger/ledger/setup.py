"""``sheetledger init``: prepare a spreadsheet's managed tabs. Safe to run again.

What it does, after three reads (the tabs, their header rows, the number formats of their
first data row) and in at most one atomic batchUpdate:
adds missing tabs, writes header rows where they are empty, freezes them, sets
money (₽) and date formats and checkboxes on the data rows, column widths, and a
warning-only protection over the columns the daemon owns (people get a "you are
editing a protected range" prompt, nothing is locked). A tab an older version prepared
with money shown without ₽ gets the new money format. A run on a prepared
spreadsheet sends nothing after the reads. It never deletes a tab, a row, or a
column people added to the right of the managed ones; a header that differs from
what the daemon expects is reported, not overwritten.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sheetledger.ledger.batch import DATE_FORMAT, MONEY_FORMAT
from sheetledger.ledger.cells import Kind
from sheetledger.ledger.sheets import LedgerSheets, check_header, column_letter, quote_title
from sheetledger.ledger.tabs import Owner, TabSchema

PROTECTION_TAG = "sheetledger: filled by the daemon"
# Money formats earlier versions set on the data rows: a tab still showing one is given
# ``MONEY_FORMAT`` (a pattern of a person's own is left alone).
OLD_MONEY_PATTERNS = frozenset({"#,##0.00"})


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
    stale = _stale_money_formats(ledger, sheets)
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
        elif title in stale:
            # Prepared by an older version (money without ₽): only the money formats change,
            # a person's widths and the protections stay.
            requests.extend(_number_formats(sheet_id, schema, rows, kinds=(Kind.MONEY,)))
            report.formatted.append(title)
    if requests:
        ledger.batch_update(requests, what="init")
        report.requests_sent = 1
    return report


def drop_blank_first_tab(ledger: LedgerSheets) -> bool:
    """Remove the blank tab a spreadsheet is born with (``Sheet1``, «Лист1», sheetId 0) once
    the managed tabs are there. Only for a spreadsheet init has just created (``commands``):
    the tab is then known to be empty. Nothing is done unless it is the one other tab."""
    meta = ledger.metadata("sheets.properties(sheetId,title)")
    managed = {title for title, _ in ledger.tabs.values()}
    tabs = [s["properties"] for s in meta.get("sheets", [])]
    others = [p for p in tabs if p.get("title") not in managed]
    if len(others) != 1 or len(tabs) < 2 or int(others[0].get("sheetId", 0)) != 0:
        return False
    ledger.batch_update([{"deleteSheet": {"sheetId": 0}}], what="remove the blank first tab")
    return True


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
    requests.extend(_number_formats(sheet_id, schema, rows, kinds=(Kind.MONEY, Kind.DATE)))
    for index, column in enumerate(schema.columns):
        if column.kind is Kind.BOOL:
            requests.append(
                {
                    "setDataValidation": {
                        "range": _data_range(sheet_id, index, rows),
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


def _data_range(sheet_id: int, column: int, rows: int) -> dict[str, int]:
    return {
        "sheetId": sheet_id,
        "startRowIndex": 1,
        "endRowIndex": rows,
        "startColumnIndex": column,
        "endColumnIndex": column + 1,
    }


def _number_formats(
    sheet_id: int, schema: TabSchema, rows: int, *, kinds: tuple[Kind, ...]
) -> list[dict[str, Any]]:
    """The money and date formats of the data rows of the columns of ``kinds``."""
    formats = {Kind.MONEY: MONEY_FORMAT, Kind.DATE: DATE_FORMAT}
    return [
        {
            "repeatCell": {
                "range": _data_range(sheet_id, index, rows),
                "cell": {"userEnteredFormat": {"numberFormat": formats[column.kind]}},
                "fields": "userEnteredFormat.numberFormat",
            }
        }
        for index, column in enumerate(schema.columns)
        if column.kind in kinds
    ]


def _stale_money_formats(ledger: LedgerSheets, sheets: Mapping[str, Any]) -> set[str]:
    """The tabs whose first data row still carries an old money format (prepared by a
    version that showed money without ₽): one read of row 2 of the tabs with money."""
    ranges: dict[str, str] = {}
    for title, schema in ledger.tabs.values():
        props = (sheets.get(title) or {}).get("properties") or {}
        if not any(c.kind is Kind.MONEY for c in schema.columns):
            continue
        if int(props.get("gridProperties", {}).get("rowCount", 0)) < 2:
            continue
        ranges[title] = f"{quote_title(title)}!A2:{column_letter(schema.width - 1)}2"
    if not ranges:
        return set()
    fields = "sheets(properties(title),data(startColumn,rowData(values(userEnteredFormat))))"
    reply = ledger.metadata(fields, ranges=list(ranges.values()))
    schemas = {title: schema for title, schema in ledger.tabs.values() if title in ranges}
    stale = set()
    for sheet in reply.get("sheets", []):
        title = sheet.get("properties", {}).get("title")
        if title not in schemas:
            continue
        schema = schemas[title]
        for block in sheet.get("data", []):
            first = int(block.get("startColumn", 0))
            cells = (block.get("rowData") or [{}])[0].get("values") or []
            for offset, cell in enumerate(cells):
                index = first + offset
                if index >= schema.width or schema.columns[index].kind is not Kind.MONEY:
                    continue
                fmt = (cell.get("userEnteredFormat") or {}).get("numberFormat") or {}
                if fmt.get("pattern") in OLD_MONEY_PATTERNS:
                    stale.add(title)
    return stale


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
