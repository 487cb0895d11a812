"""The spreadsheets view: the master and every cabinet, each tab as a grid.

A person clicks a cell to see it in the edit bar (formula or value) and types there, ticks
checkboxes in the grid, and sorts a tab by a column with the arrows in its letter; the
page's script (``static/app.js``) turns those into actions (``actions.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sheetledger.sandbox.runner import Sandbox
from sheetledger.sandbox.web.chart import chart_svg
from sheetledger.sandbox.web.grid import Cell, Grid, read_grid
from sheetledger.sandbox.web.html import Markup, h, link

__all__ = ["Book", "books", "sheets_fingerprint", "sheets_view"]

ROW_HEIGHT = 24  # px: every row is one line high, so frozen rows can stick at known offsets
NUMBERS_WIDTH = 46  # px: the row numbers' column


@dataclass(frozen=True)
class Book:
    id: str
    title: str
    role: str  # what the book is in the sandbox: «мастер», «кабинет …»
    tabs: tuple[tuple[str, bool], ...]  # title, hidden
    first: str | None  # the tab shown first: the first visible one holding data


def books(box: Sandbox) -> list[Book]:
    """The master first, then each cabinet, then any other spreadsheet the account holds."""
    google = box.info.get("google", {})
    order = [(google.get("spreadsheet_id"), "мастер")]
    order += [(sid, f"кабинет «{name}»") for name, sid in google.get("cabinets", {}).items()]
    out: list[Book] = []
    with box.sheets.lock:
        shelf = box.sheets.spreadsheets
        known = {sid for sid, _ in order}
        order += [(sid, "таблица") for sid in shelf if sid not in known]
        for sid, role in order:
            book = shelf.get(sid) if sid else None
            if book is None or book.trashed:
                continue
            tabs = tuple((s.title, s.hidden) for s in book.sheets)
            visible = [s for s in book.sheets if not s.hidden] or book.sheets
            first = next((s for s in visible if s.last_used_row()), visible[0] if visible else None)
            out.append(Book(book.id, book.title, role, tabs, first.title if first else None))
    return out


def sheets_fingerprint(box: Sandbox, book_id: str) -> str:
    """Changes whenever the book (or the list of books) changes."""
    with box.sheets.lock:
        book = box.sheets.spreadsheets.get(book_id)
        version = (book.version, len(book.sheets)) if book else None
        return f"{len(box.sheets.spreadsheets)}:{version}"


def _letters_row(grid: Grid) -> Markup:
    cells = [h("th", {"class": "corner"})]
    for column in grid.columns:
        if column.hidden:
            continue
        sort = [
            h(
                "button",
                {
                    "class": "sort",
                    "data-col": column.letter,
                    "data-asc": "1",
                    "title": f"Сортировать лист по столбцу {column.letter} (А→Я)",
                },
                "▲",
            ),
            h(
                "button",
                {
                    "class": "sort",
                    "data-col": column.letter,
                    "data-asc": "0",
                    "title": f"Сортировать лист по столбцу {column.letter} (Я→А)",
                },
                "▼",
            ),
        ]
        after_hidden = column.index > 0 and grid.columns[column.index - 1].hidden
        cells.append(
            h(
                "th",
                {
                    "class": "letter" + (" after-hidden" if after_hidden else ""),
                    "style": f"width:{column.width}px;min-width:{column.width}px",
                    "title": "слева скрытые столбцы" if after_hidden else None,
                },
                column.letter,
                h("span", {"class": "sorts"}, sort),
            )
        )
    return h("tr", {"class": "letters"}, cells)


def _cell_html(grid: Grid, r: int, c: int, cell: Cell) -> Markup:
    classes = [cell.align]
    if cell.protected:
        classes.append("protected")
    if cell.pivot:
        classes.append(f"pivot pivot-{cell.pivot}")
    if cell.note:
        classes.append("noted")
    style = cell.style
    if r < grid.frozen_rows:
        style = f"{style};top:{ROW_HEIGHT * (r + 1)}px".lstrip(";")
    titles = [t for t in (cell.protected, cell.note) if t]
    content: object = cell.text
    if cell.checkbox is not None:
        content = h(
            "input",
            {
                "type": "checkbox",
                "class": "tick",
                "checked": cell.checkbox,
                "data-a1": grid.a1(r, c),
                "aria-label": f"флажок {grid.a1(r, c)}",
            },
        )
    return h(
        "td",
        {
            "class": " ".join(classes),
            "style": style or None,
            "data-a1": grid.a1(r, c),
            "data-raw": cell.raw,
            "title": "\n".join(titles) or None,
        },
        content,
    )


def grid_html(grid: Grid) -> Markup:
    rows = [_letters_row(grid)]
    for r, line in enumerate(grid.rows):
        frozen = r < grid.frozen_rows
        cells = [
            h(
                "th",
                {"class": "number", "style": f"top:{ROW_HEIGHT * (r + 1)}px" if frozen else None},
                str(r + 1),
            )
        ]
        cells += [
            _cell_html(grid, r, column.index, line[column.index])
            for column in grid.columns
            if not column.hidden
        ]
        rows.append(h("tr", {"class": "frozen" if frozen else None}, cells))
    return h(
        "div",
        {"class": "grid-wrap"},
        h("table", {"class": "grid", "data-book": grid.book_id, "data-tab": grid.tab}, rows),
    )


def _tab_bar(book: Book, current: str) -> Markup:
    links = []
    for title, hidden in book.tabs:
        label = f"{title} (скрыт)" if hidden else title
        links.append(
            h(
                "a",
                {
                    "class": "tab"
                    + (" current" if title == current else "")
                    + (" hidden-tab" if hidden else ""),
                    "href": link(view="sheets", book=book.id, tab=title),
                    "data-nav": "1",
                },
                label,
            )
        )
    return h("nav", {"class": "tabs"}, links)


def sheets_view(box: Sandbox, book_id: str | None, tab: str | None) -> Markup:
    shelf = books(box)
    if not shelf:
        return h("p", {"class": "empty"}, "В песочнице ещё нет таблиц.")
    book = next((b for b in shelf if b.id == book_id), shelf[0])
    if tab not in {t for t, _ in book.tabs}:
        tab = book.first
    picker = h(
        "nav",
        {"class": "books"},
        [
            h(
                "a",
                {
                    "class": "book" + (" current" if b.id == book.id else ""),
                    "href": link(view="sheets", book=b.id),
                    "data-nav": "1",
                },
                h("b", {}, b.title),
                h("small", {}, b.role),
            )
            for b in shelf
        ],
    )
    if tab is None:
        return h("div", {}, picker, h("p", {"class": "empty"}, "В таблице нет листов."))
    with box.sheets.lock:
        model = box.sheets.spreadsheets[book.id]
        sheet = model.sheet_by_title(tab)
        grid = read_grid(model, sheet) if sheet is not None else None
    if grid is None:
        return h("div", {}, picker, h("p", {"class": "empty"}, f"Нет листа {tab}."))
    edit_bar = h(
        "form",
        {"class": "edit-bar", "id": "edit-bar", "data-book": book.id, "data-tab": tab},
        h("span", {"class": "address", "id": "edit-address"}, "—"),
        h("span", {"class": "fx"}, "fx"),
        h(
            "input",
            {
                "id": "edit-value",
                "name": "value",
                "autocomplete": "off",
                "placeholder": "Выберите ячейку и введите значение, Enter — записать",
            },
        ),
        h("button", {"type": "submit"}, "Записать"),
        h("span", {"class": "warning", "id": "edit-warning"}),
    )
    legend = h(
        "p",
        {"class": "legend"},
        h("span", {"class": "swatch people"}),
        " столбцы людей (вводят и отмечают) ",
        h("span", {"class": "swatch protected"}),
        " защищено: правит демон ",
        h("span", {"class": "swatch pivot"}),
        " сводная таблица",
    )
    charts = [
        h(
            "figure",
            {"class": "chart-box"},
            chart_svg(c),
            h("figcaption", {}, f"Диаграмма над ячейкой {c.anchor}"),
        )
        for c in grid.charts
    ]
    return h(
        "div",
        {"class": "sheets"},
        picker,
        edit_bar,
        grid_html(grid),
        _tab_bar(book, tab),
        legend,
        h("div", {"class": "charts"}, charts) if charts else None,
    )
