"""A1 notation the way the Sheets API v4 reads and writes it.

Parsing (requests) and formatting (responses) of ranges such as
``'My Tab'!A2:C``, ``Sheet1!A:A``, ``2:5``, ``A2:2`` and ``R1C1:R2C3``, and the
``GridRange`` arithmetic the emulator needs: clipping to a grid, shifting when
rows or columns are inserted or deleted.

Quirks imitated here (sources: docs/api-notes.md, "Google: A1 ranges", and the
cassettes in tests/fixtures/gsheets/):

* a quoted title doubles its apostrophes (``'O''Neil'!A1``); unquoted titles may
  contain spaces (Google's own quickstart sends ``Class Data!A2:E``);
* reversed corners are normalised (``D4:A1`` -> ``A1:D4``);
* a missing side is unbounded (``A2:Z`` runs to the last row, ``A2:2`` to the
  last column), and response ranges are clipped to the grid (``Sheet1!A2:Z2``);
* response titles are unquoted when they need no quotes (``Sheet1!A1:D2``); a
  single cell is written ``Sheet1!A1``, never ``A1:A1``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "Bounds",
    "RangeRef",
    "column_index",
    "column_letters",
    "format_range",
    "parse_cells",
    "quote_title",
    "split_range",
]

_A1_SIDE = re.compile(r"\$?([A-Za-z]{1,3})?\$?([0-9]+)?")
_R1C1 = re.compile(r"R([0-9]+)C([0-9]+)(?::R([0-9]+)C([0-9]+))?", re.IGNORECASE)
_PLAIN_TITLE = re.compile(r"[^\W\d]\w*")
_CELL_LIKE = re.compile(r"[A-Za-z]{1,3}[0-9]+|R[0-9]*C[0-9]*", re.IGNORECASE)


def column_index(letters: str) -> int:
    """``A`` -> 0, ``Z`` -> 25, ``AA`` -> 26."""
    value = 0
    for char in letters.upper():
        value = value * 26 + (ord(char) - 64)
    return value - 1


def column_letters(index: int) -> str:
    """0 -> ``A``, 26 -> ``AA``."""
    letters = ""
    index += 1
    while index > 0:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


@dataclass(frozen=True)
class Bounds:
    """A zero-based, half-open block; ``None`` is unbounded on that side (like GridRange)."""

    start_row: int | None = None
    end_row: int | None = None
    start_col: int | None = None
    end_col: int | None = None

    def clip(self, rows: int, cols: int) -> tuple[int, int, int, int]:
        """Concrete ``(r0, r1, c0, c1)`` within a ``rows`` x ``cols`` grid."""
        r0 = self.start_row or 0
        c0 = self.start_col or 0
        r1 = rows if self.end_row is None else min(self.end_row, rows)
        c1 = cols if self.end_col is None else min(self.end_col, cols)
        return r0, max(r1, r0), c0, max(c1, c0)

    @property
    def is_single_cell(self) -> bool:
        return (
            self.start_row is not None
            and self.end_row == self.start_row + 1
            and self.start_col is not None
            and self.end_col == self.start_col + 1
        )

    def as_grid_range(self, sheet_id: int) -> dict[str, int]:
        """The GridRange JSON (proto3 style: unset sides are omitted)."""
        out = {"sheetId": sheet_id}
        for key, value in (
            ("startRowIndex", self.start_row),
            ("endRowIndex", self.end_row),
            ("startColumnIndex", self.start_col),
            ("endColumnIndex", self.end_col),
        ):
            if value is not None:
                out[key] = value
        return out

    @classmethod
    def from_grid_range(cls, grid: dict[str, object]) -> Bounds:
        def get(key: str) -> int | None:
            value = grid.get(key)
            return None if value is None else int(value)  # type: ignore[call-overload]

        return cls(
            get("startRowIndex"), get("endRowIndex"), get("startColumnIndex"), get("endColumnIndex")
        )


@dataclass(frozen=True)
class RangeRef:
    """A range as sent: an optional sheet title and an optional cell part."""

    title: str | None
    cells: str | None
    quoted: bool = False


def split_range(text: str) -> RangeRef:
    """Split ``'My Tab'!A1:B2`` into title and cell part; raise ``ValueError`` if malformed."""
    text = text.strip()
    if not text:
        raise ValueError("empty range")
    if text.startswith("'"):
        title_chars: list[str] = []
        i = 1
        while True:
            if i >= len(text):
                raise ValueError("unterminated quote")
            if text[i] == "'":
                if i + 1 < len(text) and text[i + 1] == "'":
                    title_chars.append("'")
                    i += 2
                    continue
                break
            title_chars.append(text[i])
            i += 1
        rest = text[i + 1 :]
        if not rest:
            return RangeRef("".join(title_chars), None, quoted=True)
        if not rest.startswith("!") or len(rest) == 1:
            raise ValueError("expected ! after a quoted title")
        return RangeRef("".join(title_chars), rest[1:], quoted=True)
    if "!" in text:
        title, _, cells = text.rpartition("!")
        if not title or not cells:
            raise ValueError("empty title or cells")
        return RangeRef(title, cells)
    return RangeRef(None, text)


def parse_cells(part: str) -> Bounds:
    """Parse the cell part of a range (A1 or R1C1); raise ``ValueError`` if it is not one."""
    part = part.strip()
    r1c1 = _R1C1.fullmatch(part)
    if r1c1:
        top, left = int(r1c1.group(1)), int(r1c1.group(2))
        bottom = int(r1c1.group(3) or top)
        right = int(r1c1.group(4) or left)
        if min(top, left, bottom, right) < 1:
            raise ValueError("R1C1 indexes start at 1")
        return Bounds(
            min(top, bottom) - 1, max(top, bottom), min(left, right) - 1, max(left, right)
        )
    first, colon, second = part.partition(":")
    a = _A1_SIDE.fullmatch(first)
    if a is None or not (a.group(1) or a.group(2)):
        raise ValueError(f"not an A1 reference: {part!r}")
    col_a, row_a = a.group(1), a.group(2)
    if row_a is not None and int(row_a) < 1:
        raise ValueError("rows start at 1")
    if not colon:
        if col_a is None or row_a is None:
            raise ValueError("a single reference needs a column and a row")
        r, c = int(row_a) - 1, column_index(col_a)
        return Bounds(r, r + 1, c, c + 1)
    b = _A1_SIDE.fullmatch(second)
    if b is None or not (b.group(1) or b.group(2)):
        raise ValueError(f"not an A1 reference: {part!r}")
    col_b, row_b = b.group(1), b.group(2)
    if row_b is not None and int(row_b) < 1:
        raise ValueError("rows start at 1")
    if col_a is None and col_b is not None and row_a is not None and row_b is None:
        raise ValueError(f"not an A1 reference: {part!r}")
    rows = [int(text) for text in (row_a, row_b) if text is not None]
    cols = [column_index(text) for text in (col_a, col_b) if text is not None]
    # One-sided ranges (A2:Z, A2:2): the side given on both ends is bounded, the
    # other runs to the edge of the grid; with both given, normalise the corners.
    start_row = end_row = start_col = end_col = None
    if len(rows) == 2:
        start_row, end_row = min(rows) - 1, max(rows)
    elif len(rows) == 1:
        start_row = rows[0] - 1 if row_a is not None else None
        end_row = rows[0] if row_b is not None else None
        if row_a is None:  # A:B2 -> rows from the top to row 2
            start_row = None
    if len(cols) == 2:
        start_col, end_col = min(cols), max(cols) + 1
    elif len(cols) == 1:
        start_col = cols[0] if col_a is not None else None
        end_col = cols[0] + 1 if col_b is not None else None
        if col_a is None:  # 2:B5 (rare) -> columns from A to B
            start_col = None
    return Bounds(start_row, end_row, start_col, end_col)


def is_cell_reference(text: str) -> bool:
    """True when ``text`` (no ``!``) parses as a cell part (Google prefers that over a title)."""
    try:
        parse_cells(text)
    except ValueError:
        return False
    return True


def quote_title(title: str) -> str:
    """The title as Google writes it in a response range: bare when it can be."""
    if _PLAIN_TITLE.fullmatch(title) and not _CELL_LIKE.fullmatch(title):
        return title
    return "'" + title.replace("'", "''") + "'"


def format_range(title: str, r0: int, r1: int, c0: int, c1: int) -> str:
    """``Sheet1!A1:D2`` for concrete half-open bounds (``Sheet1!A1`` for one cell)."""
    start = f"{column_letters(c0)}{r0 + 1}"
    if r1 - r0 <= 1 and c1 - c0 <= 1:
        return f"{quote_title(title)}!{start}"
    return f"{quote_title(title)}!{start}:{column_letters(max(c1 - 1, c0))}{max(r1, r0 + 1)}"


def shift_on_insert(index: int | None, at: int, count: int, *, is_end: bool) -> int | None:
    """Where a range edge moves when ``count`` rows/cols are inserted before ``at``.

    Edges at or after ``at`` move down, so a range with ``start < at < end``
    grows (Google expands a range when rows are inserted inside it); an end equal
    to ``at`` stays (rows added right below a range are not part of it).
    """
    if index is None:
        return None
    if is_end:
        return index + count if index > at else index
    return index + count if index >= at else index


def shift_on_delete(index: int | None, start: int, end: int) -> int | None:
    """Where a range edge moves when rows/cols ``[start, end)`` are deleted."""
    if index is None:
        return None
    if index <= start:
        return index
    if index <= end:
        return start
    return index - (end - start)
