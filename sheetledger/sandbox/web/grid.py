"""A tab of the Sheets emulator as Google Sheets would draw it: a grid of display cells.

``read_grid(book, sheet)`` runs under the emulator's lock and turns the model (values,
formats, validations, protected ranges, pivot tables, charts) into plain frozen data;
``sheets_view`` draws it. Pure: nothing here touches the emulator's state.

What it shows like Google does: each value through its number format and the book's
locale (``sandbox/sheets/formats.py``), background colours, bold/italic/colour, checkboxes
where a BOOLEAN rule sits, protected ranges, hidden columns, frozen rows, pivot tables as
the values they compute (SUM, COUNT, AVERAGE, MIN, MAX over their source) and the data
behind each basic chart.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sheetledger.sandbox.a1 import column_letters, quote_title
from sheetledger.sandbox.sheets.cells import Formula
from sheetledger.sandbox.sheets.formats import render_formatted
from sheetledger.sandbox.sheets.formulas import FormulaError
from sheetledger.sandbox.sheets.model import Sheet, Spreadsheet

__all__ = ["Cell", "ChartData", "Column", "Grid", "Series", "read_grid"]

MIN_ROWS, MIN_COLS, SPARE_ROWS = 20, 8, 3
DEFAULT_WIDTH = 100  # px, Google's default column width


@dataclass(frozen=True)
class Cell:
    text: str = ""
    raw: str = ""  # what the edit bar shows: the formula, or the value as typed
    align: str = "left"
    style: str = ""  # inline CSS: background, bold, colour
    checkbox: bool | None = None  # None: not a checkbox; else whether it is ticked
    protected: str | None = None  # the protected range's description, when in one
    note: str = ""
    pivot: str = ""  # "", "head", "body" or "total": part of a pivot table


@dataclass(frozen=True)
class Column:
    index: int
    letter: str
    width: int
    hidden: bool


@dataclass(frozen=True)
class Series:
    name: str
    kind: str  # COLUMN, LINE, AREA, BAR...
    values: tuple[float, ...]


@dataclass(frozen=True)
class ChartData:
    title: str
    anchor: str  # the cell it floats over, e.g. "A31"
    kind: str
    labels: tuple[str, ...]
    series: tuple[Series, ...]


@dataclass(frozen=True)
class Grid:
    book_id: str
    tab: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Cell, ...], ...]
    frozen_rows: int
    frozen_cols: int
    charts: tuple[ChartData, ...]

    def a1(self, r: int, c: int) -> str:
        return f"{quote_title(self.tab)}!{column_letters(c)}{r + 1}"


# --------------------------------------------------------------------------- values


def _computed(sheet: Sheet, r: int, c: int) -> Any:
    try:
        return sheet.computed(r, c)
    except FormulaError as exc:
        return exc.code


def _display(sheet: Sheet, r: int, c: int, locale: str) -> str:
    value = _computed(sheet, r, c)
    return render_formatted(value, sheet.number_format(r, c), locale)


def _raw(sheet: Sheet, r: int, c: int, text: str) -> str:
    value = sheet.value(r, c)
    if isinstance(value, Formula):
        return str(value)
    return text


def _colour(spec: Any) -> str | None:
    if not isinstance(spec, dict):
        return None
    rgb = spec.get("rgbColor", spec)
    if not isinstance(rgb, dict) or not rgb:
        return None
    parts = [int(255 * float(rgb.get(k, 0) or 0) + 0.5) for k in ("red", "green", "blue")]
    return "#{:02x}{:02x}{:02x}".format(*parts)


def _style(fmt: dict[str, Any]) -> str:
    css = []
    background = _colour(fmt.get("backgroundColorStyle")) or _colour(fmt.get("backgroundColor"))
    if background and background != "#ffffff":
        css.append(f"background:{background}")
    text = fmt.get("textFormat") or {}
    if text.get("bold"):
        css.append("font-weight:bold")
    if text.get("italic"):
        css.append("font-style:italic")
    if text.get("strikethrough"):
        css.append("text-decoration:line-through")
    colour = _colour(text.get("foregroundColorStyle")) or _colour(text.get("foregroundColor"))
    if colour and colour != "#000000":
        css.append(f"color:{colour}")
    return ";".join(css)


def _checked(rule: dict[str, Any], value: Any) -> bool:
    condition = rule.get("condition") or {}
    custom = [v.get("userEnteredValue") for v in condition.get("values") or []]
    if custom:
        return value is not None and str(value).upper() == str(custom[0]).upper()
    return value is True


# --------------------------------------------------------------------------- protection


_Box = tuple[int, int, int, int]  # r0, r1, c0, c1 (half-open)


def _box(grid: dict[str, Any], rows: int, cols: int) -> _Box:
    return (
        int(grid.get("startRowIndex") or 0),
        int(grid.get("endRowIndex") or rows),
        int(grid.get("startColumnIndex") or 0),
        int(grid.get("endColumnIndex") or cols),
    )


def _inside(box: _Box, r: int, c: int) -> bool:
    return box[0] <= r < box[1] and box[2] <= c < box[3]


def _protections(sheet: Sheet) -> list[tuple[_Box, list[_Box], str]]:
    rows, cols = sheet.row_count, sheet.column_count
    out = []
    for stored in sheet.protected_ranges:
        box = _box(stored.get("range") or {}, rows, cols)
        holes = [_box(g, rows, cols) for g in stored.get("unprotectedRanges") or []]
        kind = "предупреждение" if stored.get("warningOnly") else "только редакторы"
        label = f"Защищённый диапазон ({kind})"
        if stored.get("description"):
            label += f": {stored['description']}"
        out.append((box, holes, label))
    return out


# --------------------------------------------------------------------------- pivot tables


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _summarize(function: str, numbers: list[Decimal], count: int) -> Decimal | int | None:
    if function == "COUNTA":
        return count
    if function == "COUNT":
        return len(numbers)
    if not numbers:
        return None if function != "SUM" else Decimal(0)
    if function == "AVERAGE":
        return sum(numbers, Decimal(0)) / len(numbers)
    if function == "MIN":
        return min(numbers)
    if function == "MAX":
        return max(numbers)
    return sum(numbers, Decimal(0))


def _sort_key(label: Any) -> tuple[int, Any]:
    if isinstance(label, int | float) and not isinstance(label, bool):
        return (0, label)
    return (1, str(label).lower())


def pivot_block(book: Spreadsheet, spec: dict[str, Any]) -> list[list[tuple[str, str, str]]]:
    """A pivot table's cells as ``(text, align, part)`` rows: header, groups, grand total."""
    source = spec.get("source") or {}
    sheet = book.sheet_by_id(int(source.get("sheetId") or 0))
    if sheet is None:
        return [[("#REF!", "left", "head")]]
    r0, r1, c0, _ = _box(source, len(sheet.cells), sheet.column_count)
    r1 = min(r1, len(sheet.cells))
    groups = [g for g in spec.get("rows") or [] if "sourceColumnOffset" in g][:1]
    values = [v for v in spec.get("values") or [] if "sourceColumnOffset" in v]
    locale = book.locale

    def header(offset: int) -> str:
        return _display(sheet, r0, c0 + offset, locale) if r0 < r1 else ""

    buckets: dict[Any, list[int]] = {}
    for r in range(r0 + 1, r1):
        if not any(v is not None for v in sheet.cells[r]):
            continue
        key = _computed(sheet, r, c0 + groups[0]["sourceColumnOffset"]) if groups else ""
        buckets.setdefault("" if key is None else key, []).append(r)
    descending = bool(groups) and groups[0].get("sortOrder") == "DESCENDING"
    keys = sorted(buckets, key=_sort_key, reverse=descending)

    def cells_for(rows: list[int]) -> list[tuple[str, str, str]]:
        out = []
        for value in values:
            column = c0 + int(value["sourceColumnOffset"])
            numbers = [
                n for n in (_number(_computed(sheet, r, column)) for r in rows) if n is not None
            ]
            filled = sum(1 for r in rows if sheet.value(r, column) is not None)
            result = _summarize(str(value.get("summarizeFunction", "SUM")), numbers, filled)
            fmt = sheet.number_format(rows[0], column) if rows else None
            text = "" if result is None else render_formatted(float(result), fmt, locale)
            out.append((text, "right", "body"))
        return out

    names = [
        str(
            v.get("name")
            or f"{v.get('summarizeFunction', 'SUM')} of {header(v['sourceColumnOffset'])}"
        )
        for v in values
    ]
    first = header(groups[0]["sourceColumnOffset"]) if groups else ""
    block = [[(first, "left", "head")] + [(n, "right", "head") for n in names]]
    for key in keys:
        label = render_formatted(key, None, locale) if key != "" else ""
        block.append([(label, "left", "body"), *cells_for(buckets[key])])
    if not groups or groups[0].get("showTotals", True):
        total = "Итого" if locale.lower().startswith("ru") else "Grand Total"
        every = [r for rows in buckets.values() for r in rows]
        block.append([(total, "left", "total")] + [(t, a, "total") for t, a, _ in cells_for(every)])
    return block


def _pivots(book: Spreadsheet, sheet: Sheet) -> dict[tuple[int, int], Cell]:
    """The cells every pivot table of the tab covers, by (row, column)."""
    out: dict[tuple[int, int], Cell] = {}
    for r, row_extras in enumerate(sheet.extras):
        for c, fields in (row_extras or {}).items():
            spec = fields.get("pivotTable")
            if not spec:
                continue
            for dr, line in enumerate(pivot_block(book, spec)):
                for dc, (text, align, part) in enumerate(line):
                    out[(r + dr, c + dc)] = Cell(text=text, raw=text, align=align, pivot=part)
    return out


# --------------------------------------------------------------------------- charts


def _source_cells(book: Spreadsheet, holder: Any) -> tuple[Sheet | None, int, int, int]:
    sources = ((holder or {}).get("sourceRange") or {}).get("sources") or []
    if not sources:
        return None, 0, 0, 0
    grid = sources[0]
    sheet = book.sheet_by_id(int(grid.get("sheetId") or 0))
    if sheet is None:
        return None, 0, 0, 0
    r0, r1, c0, _ = _box(grid, len(sheet.cells), sheet.column_count)
    return sheet, r0, min(r1, len(sheet.cells)), c0


def _chart(book: Spreadsheet, chart: dict[str, Any]) -> ChartData:
    spec = chart.get("spec") or {}
    basic = spec.get("basicChart") or {}
    anchor = ((chart.get("position") or {}).get("overlayPosition") or {}).get("anchorCell") or {}
    column, row = int(anchor.get("columnIndex") or 0), int(anchor.get("rowIndex") or 0)
    where = f"{column_letters(column)}{row + 1}"
    headers = int(basic.get("headerCount") or 0)
    domains = basic.get("domains") or []
    sheet, r0, r1, c0 = _source_cells(book, (domains[0] if domains else {}).get("domain"))
    rows = list(range(r0 + headers, r1)) if sheet else []
    if sheet is not None:
        rows = [r for r in rows if sheet.value(r, c0) is not None]
    labels = tuple(_display(sheet, r, c0, book.locale) for r in rows) if sheet else ()
    series = []
    for entry in basic.get("series") or []:
        source, s0, _, sc = _source_cells(book, entry.get("series"))
        if source is None:
            continue
        name = _display(source, s0, sc, book.locale) if headers else ""
        offset = s0 + headers - (r0 + headers)
        numbers = []
        for r in rows:
            value = _number(_computed(source, r + offset, sc))
            numbers.append(float(value) if value is not None else 0.0)
        kind = str(entry.get("type") or basic.get("chartType") or "COLUMN")
        series.append(Series(name, kind, tuple(numbers)))
    kind = "PIE" if "pieChart" in spec else str(basic.get("chartType") or "COLUMN")
    return ChartData(str(spec.get("title") or ""), where, kind, labels, tuple(series))


# --------------------------------------------------------------------------- the grid


def _extent(sheet: Sheet, pivots: Iterable[tuple[int, int]]) -> tuple[int, int]:
    used_cols = max((len(row) for row in sheet.cells if any(v is not None for v in row)), default=0)
    used_rows = sheet.last_used_row()
    for r, c in pivots:
        used_rows, used_cols = max(used_rows, r + 1), max(used_cols, c + 1)
    rows = min(sheet.row_count, max(MIN_ROWS, used_rows + SPARE_ROWS, sheet.frozen_rows))
    cols = min(sheet.column_count, max(MIN_COLS, used_cols + 1, sheet.frozen_cols))
    return rows, cols


def read_grid(book: Spreadsheet, sheet: Sheet) -> Grid:
    """The tab as display cells (call it holding the emulator's lock)."""
    pivots = _pivots(book, sheet)
    rows, cols = _extent(sheet, pivots)
    protections = _protections(sheet)
    columns = tuple(
        Column(
            c,
            column_letters(c),
            int(sheet.col_props.get(c, {}).get("pixelSize") or DEFAULT_WIDTH),
            bool(sheet.col_props.get(c, {}).get("hiddenByUser")),
        )
        for c in range(cols)
    )
    grid_rows = []
    for r in range(rows):
        line = []
        for c in range(cols):
            pivot = pivots.get((r, c))
            if pivot is not None:
                line.append(pivot)
                continue
            line.append(_cell(book, sheet, r, c, protections))
        grid_rows.append(tuple(line))
    charts = tuple(_chart(book, chart) for chart in sheet.charts)
    return Grid(
        book.id,
        sheet.title,
        columns,
        tuple(grid_rows),
        sheet.frozen_rows,
        sheet.frozen_cols,
        charts,
    )


def _cell(
    book: Spreadsheet, sheet: Sheet, r: int, c: int, protections: list[tuple[_Box, list[_Box], str]]
) -> Cell:
    extra = sheet.extra(r, c) or {}
    value = _computed(sheet, r, c)
    rule = extra.get("dataValidation") or {}
    checkbox = None
    if (rule.get("condition") or {}).get("type") == "BOOLEAN":
        checkbox = _checked(rule, value)
    text = render_formatted(value, sheet.number_format(r, c), book.locale)
    number = isinstance(value, int | float) and not isinstance(value, bool)
    fmt = extra.get("userEnteredFormat") or {}
    align = {"CENTER": "center", "RIGHT": "right", "LEFT": "left"}.get(
        str(fmt.get("horizontalAlignment")), "right" if number else "left"
    )
    protected = next(
        (
            label
            for box, holes, label in protections
            if _inside(box, r, c) and not any(_inside(h, r, c) for h in holes)
        ),
        None,
    )
    return Cell(
        text=text,
        raw=_raw(sheet, r, c, text),
        align="center" if checkbox is not None else align,
        style=_style(fmt),
        checkbox=checkbox,
        protected=protected,
        note=str(extra.get("note") or ""),
    )
