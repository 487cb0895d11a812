"""The nightly backup: every tab of the master and the cabinets, values as they are.

A backup is a folder ``state_dir/backups/<UTC stamp>/`` holding, per spreadsheet,
``<name>.xlsx`` (a sheet per tab, for a person to open) and ``<name>.jsonl`` (one
line per row, ``{"tab", "row", "values"}``, what ``restore`` reads). Cells are read
unformatted (numbers as numbers, dates as serial numbers), exactly what the API
gives back, so a restored cell is the cell that was there. Each spreadsheet costs
two Sheets requests: its tab titles, then every tab in one ``values:batchGet``.
The folder is written under a temporary name and renamed when complete, so a
crash never leaves a half backup that looks whole.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from openpyxl import Workbook

from sheetledger.ledger.sheets import quote_title

READ_PARAMS = {
    "valueRenderOption": "UNFORMATTED_VALUE",
    "dateTimeRenderOption": "SERIAL_NUMBER",
    "majorDimension": "ROWS",
}
STAMP = "%Y-%m-%dT%H%M%SZ"
_STAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{6}Z$")


class SheetsHttp(Protocol):  # gspread's HTTPClient, the two calls a backup makes
    def fetch_sheet_metadata(self, id: str, params: Any = ...) -> Any: ...
    def values_batch_get(self, id: str, ranges: list[str], params: Any = ...) -> Any: ...


@dataclass(frozen=True)
class Book:
    """One spreadsheet's tabs as they were: title -> rows (the header row first)."""

    name: str
    spreadsheet_id: str
    tabs: dict[str, list[list[Any]]]


def read_book(http: SheetsHttp, name: str, spreadsheet_id: str) -> Book:
    """Every tab of the spreadsheet, in two requests."""
    meta = http.fetch_sheet_metadata(spreadsheet_id, {"fields": "sheets.properties(title)"})
    titles = [str(sheet["properties"]["title"]) for sheet in meta.get("sheets", [])]
    if not titles:
        return Book(name, spreadsheet_id, {})
    reply = http.values_batch_get(
        spreadsheet_id, [quote_title(title) for title in titles], dict(READ_PARAMS)
    )
    ranges = reply.get("valueRanges", [])
    return Book(
        name,
        spreadsheet_id,
        {
            title: [list(row) for row in found.get("values", [])]
            for title, found in zip(titles, ranges, strict=True)
        },
    )


def save_backup(books: Iterable[Book], folder: Path, now: datetime) -> Path:
    """Write the books as a new backup under ``folder``; returns its path."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / now.strftime(STAMP)
    partial = folder / f".{target.name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    manifest = []
    for book in books:
        _write_jsonl(book, partial / f"{book.name}.jsonl")
        _write_xlsx(book, partial / f"{book.name}.xlsx")
        manifest.append(
            {
                "name": book.name,
                "spreadsheet_id": book.spreadsheet_id,
                "tabs": {title: len(rows) for title, rows in book.tabs.items()},
            }
        )
    (partial / "manifest.json").write_text(
        json.dumps({"taken": now.isoformat(), "books": manifest}, ensure_ascii=False, indent=1),
        encoding="utf-8",
    )
    if target.exists():  # two backups in the same second: the later one wins
        shutil.rmtree(target)
    partial.rename(target)
    return target


def prune(folder: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` backups; returns what was deleted."""
    if not folder.is_dir():
        return []
    backups = sorted(p for p in folder.iterdir() if p.is_dir() and _STAMP_RE.match(p.name))
    doomed = backups[: max(0, len(backups) - keep)]
    for path in doomed:
        shutil.rmtree(path)
    return doomed


def read_rows(backup: Path, book: str, title: str) -> list[list[Any]]:
    """One tab of a backup, as its rows (the header row first); [] when it had no such tab."""
    path = backup / f"{book}.jsonl"
    if not path.exists():
        raise FileNotFoundError(f"{path} is not in the backup")
    rows: dict[int, list[Any]] = {}
    for line in _lines(path):
        if line.get("tab") == title:
            rows[int(line["row"])] = list(line.get("values") or [])
    return [rows.get(n, []) for n in range(1, max(rows, default=0) + 1)]


def tab_titles(backup: Path, book: str) -> list[str]:
    titles: list[str] = []
    for line in _lines(backup / f"{book}.jsonl"):
        if line.get("tab") not in titles:
            titles.append(str(line["tab"]))
    return titles


def _lines(path: Path) -> Iterator[Mapping[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        for text in handle:
            if text.strip():
                yield json.loads(text)


def _write_jsonl(book: Book, path: Path) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for title, rows in book.tabs.items():
            for number, row in enumerate(rows, start=1):
                if row:
                    line = {"tab": title, "row": number, "values": row}
                    handle.write(json.dumps(line, ensure_ascii=False) + "\n")


_XLSX_BAD = re.compile(r"[\[\]:*?/\\]")


def _write_xlsx(book: Book, path: Path) -> None:
    workbook = Workbook()
    workbook.remove(workbook.active)  # type: ignore[arg-type]
    used: set[str] = set()
    for title, rows in book.tabs.items():
        name = _sheet_name(title, used)
        sheet = workbook.create_sheet(name)
        for row in rows:
            sheet.append([None if value == "" else value for value in row])
        for line in sheet.iter_rows():
            for cell in line:
                if isinstance(cell.value, str) and cell.value.startswith("="):
                    cell.data_type = "s"  # people's text, never a formula (openpyxl guesses one)
    workbook.save(path)


def _sheet_name(title: str, used: set[str]) -> str:
    """Excel's rules: 31 characters at most, none of []:*?/\\, unique."""
    base = _XLSX_BAD.sub("_", title)[:31] or "Sheet"
    name, n = base, 1
    while name.casefold() in used:
        n += 1
        name = f"{base[: 31 - len(str(n)) - 1]}~{n}"
    used.add(name.casefold())
    return name


def take_backup(
    books: Mapping[str, tuple[SheetsHttp, str]], folder: Path, now: datetime, keep: int
) -> tuple[Path, list[Path]]:
    """Read every spreadsheet (``name -> (http, spreadsheet id)``), save them, prune old ones."""
    read = [read_book(http, name, sid) for name, (http, sid) in books.items()]
    path = save_backup(read, folder, now)
    return path, prune(folder, keep)
