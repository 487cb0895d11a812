"""Cell requests: repeatCell, updateCells, appendCells and data validation."""

from __future__ import annotations

import copy
from typing import Any

from sheetledger.sandbox.a1 import Bounds, column_letters
from sheetledger.sandbox.sheets.cells import Formula, json_number
from sheetledger.sandbox.sheets.core import SheetsCore
from sheetledger.sandbox.sheets.errors import InvalidRequest
from sheetledger.sandbox.sheets.formats import parse_user_entered
from sheetledger.sandbox.sheets.json_shape import with_colors_mirrored, without_stale_twins
from sheetledger.sandbox.sheets.masks import apply_mask
from sheetledger.sandbox.sheets.model import Sheet, Spreadsheet

VALIDATION_TYPES = frozenset(
    {
        "NUMBER_GREATER",
        "NUMBER_GREATER_THAN_EQ",
        "NUMBER_LESS",
        "NUMBER_LESS_THAN_EQ",
        "NUMBER_EQ",
        "NUMBER_NOT_EQ",
        "NUMBER_BETWEEN",
        "NUMBER_NOT_BETWEEN",
        "TEXT_CONTAINS",
        "TEXT_NOT_CONTAINS",
        "TEXT_STARTS_WITH",
        "TEXT_ENDS_WITH",
        "TEXT_EQ",
        "TEXT_IS_EMAIL",
        "TEXT_IS_URL",
        "DATE_EQ",
        "DATE_BEFORE",
        "DATE_AFTER",
        "DATE_ON_OR_BEFORE",
        "DATE_ON_OR_AFTER",
        "DATE_BETWEEN",
        "DATE_NOT_BETWEEN",
        "DATE_IS_VALID",
        "ONE_OF_RANGE",
        "ONE_OF_LIST",
        "BLANK",
        "NOT_BLANK",
        "CUSTOM_FORMULA",
        "BOOLEAN",
    }
)


class CellRequests(SheetsCore):
    """Cell fields (values, formats, validation, notes, pivot tables) set by batchUpdate."""

    _DERIVED = ("userEnteredValue", "effectiveValue", "formattedValue", "effectiveFormat")

    def _from_extended(self, value: Any, locale: str) -> Any:
        if value is None:
            return None
        if not isinstance(value, dict):
            raise InvalidRequest("userEnteredValue must be an ExtendedValue object")
        if "numberValue" in value:
            return json_number(value["numberValue"])
        if "boolValue" in value:
            return bool(value["boolValue"])
        if "stringValue" in value:
            return value["stringValue"] or None
        if "formulaValue" in value:
            text = str(value["formulaValue"])
            return Formula(text) if text.startswith("=") else parse_user_entered(text, locale)[0]
        if "errorValue" in value:
            raise InvalidRequest("errorValue cannot be set")
        return None

    def _apply_cell(
        self,
        book: Spreadsheet,
        sheet: Sheet,
        r: int,
        c: int,
        cell: dict[str, Any],
        tree: dict[str, Any],
        cache: dict[tuple[int, int], tuple[Any, Any, Any]],
    ) -> None:
        everything = "*" in tree
        if everything or "userEnteredValue" in tree:
            sheet.set_value(r, c, self._from_extended(cell.get("userEnteredValue"), book.locale))
        old = sheet.extra(r, c)
        # The same request cell over the same stored extras gives the same result (repeatCell
        # over a formatted column); an updateCells row has a different cell in each column, so
        # the cell is part of the key, and kept in the entry so its id is not reused.
        key = (id(cell), id(old) if old is not None else 0)
        hit = cache.get(key)
        if hit is not None and hit[0] is old and hit[2] is cell:
            sheet.set_extra(r, c, hit[1])
            return
        if everything:
            new = {
                k: copy.deepcopy(v)
                for k, v in cell.items()
                if k not in self._DERIVED and v is not None
            }
        else:
            sub = {k: v for k, v in tree.items() if k not in self._DERIVED}
            new = (
                apply_mask(without_stale_twins(old or {}, sub), cell, sub)
                if sub
                else dict(old or {})
            )
        if new.get("userEnteredFormat"):
            new["userEnteredFormat"] = with_colors_mirrored(new["userEnteredFormat"])
        kept = {k: v for k, v in new.items() if v not in (None, {})} or None
        cache[key] = (old, kept, cell)
        sheet.set_extra(r, c, kept)

    def _req_repeatCell(self, book: Spreadsheet, p: dict[str, Any], caller: str) -> None:
        tree = self._mask(p)
        grid = p.get("range") or {}
        sheet = self._grid_sheet(book, grid)
        r0, r1, c0, c1 = Bounds.from_grid_range(grid).clip(sheet.row_count, sheet.column_count)
        cell = p.get("cell") or {}
        if "userEnteredValue" in tree or "*" in tree:
            self._check_protection_invalid(book, sheet, r0, r1, c0, c1, caller)
        cache: dict[tuple[int, int], tuple[Any, Any, Any]] = {}
        for r in range(r0, r1):
            for c in range(c0, c1):
                self._apply_cell(book, sheet, r, c, cell, tree, cache)

    def _req_updateCells(self, book: Spreadsheet, p: dict[str, Any], caller: str) -> None:
        tree = self._mask(p)
        rows = p.get("rows") or []
        if isinstance(rows, dict):  # Google's own pivot sample sends "rows": {"values": ...}
            rows = [rows]

        def row_values(row: Any) -> list[dict[str, Any]]:
            values = (row or {}).get("values") or []
            return [values] if isinstance(values, dict) else values

        cache: dict[tuple[int, int], tuple[Any, Any, Any]] = {}
        if p.get("start") is not None:
            start = p["start"]
            sheet = self._grid_sheet(book, {"sheetId": start.get("sheetId")})
            r0, c0 = int(start.get("rowIndex") or 0), int(start.get("columnIndex") or 0)
            width = max((len(row_values(row)) for row in rows), default=0)
            if r0 + len(rows) > sheet.row_count or c0 + width > sheet.column_count:
                raise InvalidRequest(
                    f"Range ('{sheet.title}'!{column_letters(c0)}{r0 + 1}) exceeds grid "
                    f"limits. Max rows: {sheet.row_count}, max columns: {sheet.column_count}"
                )
            if "userEnteredValue" in tree or "*" in tree:
                self._check_protection_invalid(
                    book, sheet, r0, r0 + len(rows), c0, c0 + width, caller
                )
            for i, row in enumerate(rows):
                for j, cell in enumerate(row_values(row)):
                    self._apply_cell(book, sheet, r0 + i, c0 + j, cell or {}, tree, cache)
        elif p.get("range") is not None:
            grid = p["range"]
            sheet = self._grid_sheet(book, grid)
            r0, r1, c0, c1 = Bounds.from_grid_range(grid).clip(sheet.row_count, sheet.column_count)
            if "userEnteredValue" in tree or "*" in tree:
                self._check_protection_invalid(book, sheet, r0, r1, c0, c1, caller)
            for r in range(r0, r1):
                values = row_values(rows[r - r0]) if r - r0 < len(rows) else []
                for c in range(c0, c1):
                    cell = values[c - c0] if c - c0 < len(values) else {}
                    self._apply_cell(book, sheet, r, c, cell or {}, tree, {})
        else:
            raise InvalidRequest("Either 'start' or 'range' must be set.")

    def _req_appendCells(self, book: Spreadsheet, p: dict[str, Any], caller: str) -> None:
        """Google: "Appends new cells after the last row with data in a sheet, inserting new
        rows into the sheet if necessary" (AppendCellsRequest). The end is found inside the
        request, so a row a person typed below the table (in any column) is never written over.
        """
        if not p.get("fields"):
            raise InvalidRequest("At least one field must be specified in 'fields'.")
        sheet = self._grid_sheet(book, {"sheetId": p.get("sheetId")})
        rows = p.get("rows") or []
        if isinstance(rows, dict):
            rows = [rows]
        start = sheet.last_used_row()
        width = max((len((row or {}).get("values") or []) for row in rows), default=0)
        if width > sheet.column_count:
            raise InvalidRequest(
                f"Range ('{sheet.title}'!A{start + 1}) exceeds grid limits. "
                f"Max rows: {sheet.row_count}, max columns: {sheet.column_count}"
            )
        missing = start + len(rows) - sheet.row_count
        if missing > 0:
            sheet.insert_rows(sheet.row_count, missing, inherit_from=None)
        update = {"start": {"sheetId": sheet.sheet_id, "rowIndex": start, "columnIndex": 0}}
        self._req_updateCells(book, update | {"rows": rows, "fields": p["fields"]}, caller)

    def _req_setDataValidation(self, book: Spreadsheet, p: dict[str, Any], caller: str) -> None:
        grid = p.get("range") or {}
        sheet = self._grid_sheet(book, grid)
        rule = p.get("rule")
        if rule is not None:
            rule = self._validation_rule(rule)
        r0, r1, c0, c1 = Bounds.from_grid_range(grid).clip(sheet.row_count, sheet.column_count)
        cell = {"dataValidation": rule} if rule else {}
        tree: dict[str, Any] = {"dataValidation": {}}
        cache: dict[tuple[int, int], tuple[Any, Any, Any]] = {}
        for r in range(r0, r1):
            for c in range(c0, c1):
                self._apply_cell(book, sheet, r, c, cell, tree, cache)

    @staticmethod
    def _validation_rule(rule: Any) -> dict[str, Any]:
        if not isinstance(rule, dict):
            raise InvalidRequest("rule must be a DataValidationRule")
        condition = rule.get("condition") or {}
        kind = condition.get("type")
        if kind not in VALIDATION_TYPES:
            raise InvalidRequest(f"Invalid ConditionType: {kind}")
        values = [v for v in condition.get("values") or [] if v is not None]
        if kind == "ONE_OF_LIST" and not values:
            raise InvalidRequest("ONE_OF_LIST condition requires at least one value")
        if kind == "BOOLEAN" and len(values) > 2:
            raise InvalidRequest("BOOLEAN condition accepts at most two values")
        if kind == "ONE_OF_RANGE" and len(values) != 1:
            raise InvalidRequest("ONE_OF_RANGE condition requires exactly one value")
        clean: dict[str, Any] = {"condition": {"type": kind}}
        if values:
            clean["condition"]["values"] = copy.deepcopy(values)
        for key in ("inputMessage", "strict", "showCustomUi"):
            if rule.get(key):  # proto3: false / empty are not stored
                clean[key] = rule[key]
        return clean
