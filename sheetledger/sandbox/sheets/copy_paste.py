"""copyPaste and cutPaste: a block of cells (values, formats, validation) pasted elsewhere.

What moves is cells, not rows: ROW developer metadata and protected ranges stay
where they are, as in Sheets, where metadata belongs to the row, not to the values
pasted into it. A copied formula's relative references follow it (``=A1*2`` copied
one column right reads ``=B1*2``); a cut formula keeps its references.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from sheetledger.sandbox.a1 import Bounds
from sheetledger.sandbox.sheets.cells import Formula
from sheetledger.sandbox.sheets.core import SheetsCore
from sheetledger.sandbox.sheets.errors import InvalidRequest
from sheetledger.sandbox.sheets.formulas import FormulaError, shift_references
from sheetledger.sandbox.sheets.model import Sheet, Spreadsheet

PASTE_TYPES = (
    "PASTE_NORMAL",
    "PASTE_VALUES",
    "PASTE_FORMAT",
    "PASTE_NO_BORDERS",
    "PASTE_FORMULA",
    "PASTE_DATA_VALIDATION",
    "PASTE_CONDITIONAL_FORMATTING",
)
# The cell fields each paste type carries over (PASTE_VALUES and PASTE_FORMULA carry the value).
_FIELDS = {
    "PASTE_FORMAT": ("userEnteredFormat", "dataValidation"),
    "PASTE_DATA_VALIDATION": ("dataValidation",),
}


class Copied(NamedTuple):
    """One copied cell: its value, its other fields and where it was copied from."""

    value: Any
    fields: dict[str, Any] | None
    origin: tuple[int, int]


Clip = list[list[Copied]]


def _shown(sheet: Sheet, r: int, c: int) -> Any:
    try:
        return sheet.computed(r, c)
    except FormulaError as exc:
        return exc.code


def copy_block(sheet: Sheet, box: tuple[int, int, int, int], paste_type: str) -> Clip:
    """(value, cell fields) of every cell of ``box``; PASTE_VALUES copies what formulas show."""
    r0, r1, c0, c1 = box
    values = paste_type == "PASTE_VALUES"
    return [
        [
            Copied(_shown(sheet, r, c) if values else sheet.value(r, c), sheet.extra(r, c), (r, c))
            for c in range(c0, c1)
        ]
        for r in range(r0, r1)
    ]


def paste_cell(
    sheet: Sheet, r: int, c: int, cell: Copied, paste_type: str, *, cut: bool = False
) -> None:
    """One copied cell onto (r, c), as much of it as ``paste_type`` says."""
    value, fields, origin = cell
    if isinstance(value, Formula) and not cut:
        value = Formula(shift_references(value, r - origin[0], c - origin[1]))
    if paste_type in ("PASTE_NORMAL", "PASTE_NO_BORDERS"):
        sheet.set_value(r, c, value)
        fields = dict(fields) if fields else None
        if fields and paste_type == "PASTE_NO_BORDERS" and fields.get("userEnteredFormat"):
            fmt = {k: v for k, v in fields["userEnteredFormat"].items() if k != "borders"}
            fields["userEnteredFormat"] = fmt
        sheet.set_extra(r, c, fields)
    elif paste_type in ("PASTE_VALUES", "PASTE_FORMULA"):
        sheet.set_value(r, c, value)
    elif paste_type in _FIELDS:
        names = _FIELDS[paste_type]
        kept = {k: v for k, v in (sheet.extra(r, c) or {}).items() if k not in names}
        kept.update({k: v for k, v in (fields or {}).items() if k in names})
        sheet.set_extra(r, c, kept or None)


class CopyPasteRequests(SheetsCore):
    """copyPaste (repeating to fill a larger destination) and cutPaste."""

    @staticmethod
    def _paste_type(p: dict[str, Any]) -> str:
        kind = p.get("pasteType") or "PASTE_NORMAL"
        if kind not in PASTE_TYPES:
            raise InvalidRequest(f"Invalid pasteType: {kind}")
        return str(kind)

    def _box(self, book: Spreadsheet, grid: Any) -> tuple[Sheet, tuple[int, int, int, int]]:
        sheet = self._grid_sheet(book, grid)
        return sheet, Bounds.from_grid_range(grid).clip(sheet.row_count, sheet.column_count)

    def _paste(
        self,
        book: Spreadsheet,
        sheet: Sheet,
        at: tuple[int, int],
        clip: Clip,
        paste_type: str,
        caller: str,
        repeat: tuple[int, int] = (1, 1),
        *,
        cut: bool = False,
    ) -> None:
        height, width = len(clip), len(clip[0]) if clip else 0
        r0, c0 = at
        r1, c1 = r0 + height * repeat[0], c0 + width * repeat[1]
        if r1 > sheet.row_count or c1 > sheet.column_count:
            raise InvalidRequest(
                f"Range ('{sheet.title}') exceeds grid limits. Max rows: {sheet.row_count}, "
                f"max columns: {sheet.column_count}"
            )
        self._check_protection_invalid(book, sheet, r0, r1, c0, c1, caller)
        for r in range(r0, r1):
            for c in range(c0, c1):
                cell = clip[(r - r0) % height][(c - c0) % width]
                paste_cell(sheet, r, c, cell, paste_type, cut=cut)

    def _req_copyPaste(self, book: Spreadsheet, p: dict[str, Any], caller: str) -> None:
        """A copy of the source at the destination, repeated to fill it when it can be.

        CopyPasteRequest.destination: "If the range covers a span that's a multiple of
        the source's height or width, then the data will be repeated to fill in the
        destination range. If the range is smaller than the source range, the entire
        source data will still be copied". Relative references in copied formulas
        follow the copy; a cut keeps them as they were, as in Sheets.
        """
        paste_type = self._paste_type(p)
        orientation = p.get("pasteOrientation") or "NORMAL"
        if orientation not in ("NORMAL", "TRANSPOSE"):
            raise InvalidRequest(f"Invalid pasteOrientation: {orientation}")
        source, box = self._box(book, p.get("source"))
        target, (d0, d1, e0, e1) = self._box(book, p.get("destination"))
        clip = copy_block(source, box, paste_type)
        if not clip or not clip[0]:
            return
        if orientation == "TRANSPOSE":
            clip = [list(column) for column in zip(*clip, strict=True)]
        height, width = len(clip), len(clip[0])
        repeat = (
            (d1 - d0) // height if (d1 - d0) % height == 0 and d1 - d0 >= height else 1,
            (e1 - e0) // width if (e1 - e0) % width == 0 and e1 - e0 >= width else 1,
        )
        self._paste(book, target, (d0, e0), clip, paste_type, caller, repeat)

    def _req_cutPaste(self, book: Spreadsheet, p: dict[str, Any], caller: str) -> None:
        """The source moved to the destination, its formulas unchanged.

        CutPasteRequest.pasteType: "All the source data will be cut, regardless of what
        is pasted".
        """
        paste_type = self._paste_type(p)
        source, box = self._box(book, p.get("source"))
        where = p.get("destination")
        if not isinstance(where, dict):
            raise InvalidRequest("destination must be a GridCoordinate")
        target = self._grid_sheet(book, where)
        at = (int(where.get("rowIndex") or 0), int(where.get("columnIndex") or 0))
        r0, r1, c0, c1 = box
        self._check_protection_invalid(book, source, r0, r1, c0, c1, caller)
        clip = copy_block(source, box, paste_type)
        for r in range(r0, r1):
            for c in range(c0, c1):
                source.set_value(r, c, None)
                source.set_extra(r, c, None)
        if clip and clip[0]:
            self._paste(book, target, at, clip, paste_type, caller, cut=True)
