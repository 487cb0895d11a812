"""The model: a spreadsheet, its tabs (values beside formats) and developer metadata."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from sheetledger.sandbox.sheets.cells import Formula
from sheetledger.sandbox.sheets.formulas import FormulaError, evaluate_formula


class DevMeta:
    """One developer metadata entry; ROW/COLUMN ones move with their rows/columns."""

    __slots__ = (
        "dimension",
        "end",
        "id",
        "key",
        "loc_type",
        "sheet_id",
        "start",
        "value",
        "visibility",
    )

    def __init__(
        self,
        id: int,
        key: str,
        value: str | None,
        visibility: str,
        loc_type: str,
        sheet_id: int | None = None,
        dimension: str | None = None,
        start: int | None = None,
        end: int | None = None,
    ) -> None:
        self.id, self.key, self.value, self.visibility = id, key, value, visibility
        self.loc_type, self.sheet_id, self.dimension = loc_type, sheet_id, dimension
        self.start, self.end = start, end

    def clone(self) -> DevMeta:
        return DevMeta(
            self.id,
            self.key,
            self.value,
            self.visibility,
            self.loc_type,
            self.sheet_id,
            self.dimension,
            self.start,
            self.end,
        )

    def location(self) -> dict[str, Any]:
        if self.loc_type == "SPREADSHEET":
            return {"locationType": "SPREADSHEET", "spreadsheet": True}
        if self.loc_type == "SHEET":
            return {"locationType": "SHEET", "sheetId": self.sheet_id}
        dim: dict[str, Any] = {}
        if self.sheet_id:
            dim["sheetId"] = self.sheet_id
        dim.update({"dimension": self.dimension, "startIndex": self.start, "endIndex": self.end})
        return {"locationType": self.loc_type, "dimensionRange": dim}

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"metadataId": self.id, "metadataKey": self.key}
        if self.value is not None:
            out["metadataValue"] = self.value
        out["location"] = self.location()
        out["visibility"] = self.visibility
        return out

    def as_state(self) -> list[Any]:
        return [
            self.id,
            self.key,
            self.value,
            self.visibility,
            self.loc_type,
            self.sheet_id,
            self.dimension,
            self.start,
            self.end,
        ]


class Sheet:
    """One tab: grid size, properties, cell values (rows of lists) and what sits beside them.

    ``cells[r]`` is row r's values (a list, possibly shorter than the grid);
    ``extras[r]`` maps a column to the cell's non-value fields (userEnteredFormat,
    dataValidation, note, pivotTable...) or is None. Both lists always have the
    same length, so inserting or deleting rows splices them together and
    formats and checkboxes move with their rows.

    A tab made by ``fork`` shares its row lists with the tab it came from; ``owned``
    then holds (by ``id``) the rows it made its own, and every change in place goes
    through ``row_to_write`` / ``extras_to_write``, which copy a shared row first. A
    tab that is no fork has ``owned`` None and changes its rows in place.
    """

    def __init__(self, sheet_id: int, title: str, rows: int = 1000, cols: int = 26) -> None:
        self.sheet_id = sheet_id
        self.title = title
        self.row_count = rows
        self.column_count = cols
        self.frozen_rows = 0
        self.frozen_cols = 0
        self.hidden = False
        self.extra_properties: dict[str, Any] = {}  # tabColor, rightToLeft, hideGridlines...
        self.cells: list[list[Any]] = []
        self.extras: list[dict[int, dict[str, Any]] | None] = []
        self.row_props: dict[int, dict[str, Any]] = {}
        self.col_props: dict[int, dict[str, Any]] = {}
        self.protected_ranges: list[dict[str, Any]] = []
        self.charts: list[dict[str, Any]] = []
        self.owned: dict[int, Any] | None = None  # a fork's own rows (id -> row); None: all

    def clone(self) -> Sheet:
        """An independent copy: every row copied (a copied file, a duplicated tab)."""
        twin = self._shell()
        twin.cells = [row[:] for row in self.cells]
        # Cell extras dicts are never mutated in place (always replaced), so a shallow copy is safe.
        twin.extras = [dict(ex) if ex else None for ex in self.extras]
        return twin

    def fork(self) -> Sheet:
        """A working copy for an all-or-nothing edit: the rows stay shared until changed.

        Copying the row lists costs a pointer per row; a row itself is copied by
        ``row_to_write`` / ``extras_to_write`` the first time the fork changes it, so
        this tab is left as it was whatever the fork does.
        """
        twin = self._shell()
        twin.cells = list(self.cells)
        twin.extras = list(self.extras)
        twin.owned = {}
        return twin

    def settle(self) -> None:
        """The fork replaced its origin: every row is its own again, changed in place."""
        self.owned = None

    def _shell(self) -> Sheet:
        twin = Sheet(self.sheet_id, self.title, self.row_count, self.column_count)
        twin.frozen_rows, twin.frozen_cols, twin.hidden = (
            self.frozen_rows,
            self.frozen_cols,
            self.hidden,
        )
        twin.extra_properties = copy.deepcopy(self.extra_properties)
        twin.row_props = {k: dict(v) for k, v in self.row_props.items()}
        twin.col_props = {k: dict(v) for k, v in self.col_props.items()}
        twin.protected_ranges = copy.deepcopy(self.protected_ranges)
        twin.charts = copy.deepcopy(self.charts)
        return twin

    def row_to_write(self, r: int) -> list[Any]:
        """Row r's values (created if missing), this tab's own to change in place."""
        self.ensure_rows(r + 1)
        row = self.cells[r]
        owned = self.owned
        if owned is not None and id(row) not in owned:
            row = self.cells[r] = row[:]
            owned[id(row)] = row
        return row

    def extras_to_write(self, r: int) -> dict[int, dict[str, Any]]:
        """Row r's extras (created if missing), this tab's own to change in place."""
        self.ensure_rows(r + 1)
        ex = self.extras[r]
        owned = self.owned
        if ex is None:
            ex = self.extras[r] = {}
        elif owned is not None and id(ex) not in owned:
            ex = self.extras[r] = dict(ex)
        else:
            return ex
        if owned is not None:
            owned[id(ex)] = ex
        return ex

    # -- cells -----------------------------------------------------------------------

    def ensure_rows(self, count: int) -> None:
        missing = count - len(self.cells)
        if missing > 0:
            self.cells.extend([] for _ in range(missing))
            self.extras.extend([None] * missing)

    def value(self, r: int, c: int) -> Any:
        if r < len(self.cells):
            row = self.cells[r]
            if c < len(row):
                return row[c]
        return None

    def set_value(self, r: int, c: int, value: Any) -> None:
        if value is None and (r >= len(self.cells) or c >= len(self.cells[r])):
            return
        row = self.row_to_write(r)
        if c >= len(row):
            row.extend([None] * (c + 1 - len(row)))
        row[c] = value

    def extra(self, r: int, c: int) -> dict[str, Any] | None:
        if r < len(self.extras):
            ex = self.extras[r]
            if ex:
                return ex.get(c)
        return None

    def set_extra(self, r: int, c: int, fields: dict[str, Any] | None) -> None:
        if not fields:
            if r < len(self.extras) and c in (self.extras[r] or ()):
                del self.extras_to_write(r)[c]
            return
        self.extras_to_write(r)[c] = fields

    def number_format(self, r: int, c: int) -> dict[str, Any] | None:
        ex = self.extra(r, c)
        if ex:
            fmt = ex.get("userEnteredFormat")
            if fmt:
                return fmt.get("numberFormat")  # type: ignore[no-any-return]
        return None

    def computed(self, r: int, c: int, depth: int = 0) -> Any:
        """The value a cell shows: its own value, or its formula's result."""
        value = self.value(r, c)
        if isinstance(value, Formula):
            if depth > 50:
                raise FormulaError("#REF!")
            return evaluate_formula(value, lambda rr, cc: self._lookup(rr, cc, depth + 1))
        return value

    def _lookup(self, r: int, c: int, depth: int) -> Any:
        return self.computed(r, c, depth)

    def last_used_row(self) -> int:
        """1 + the index of the last row holding a value (0 when empty)."""
        for r in range(len(self.cells) - 1, -1, -1):
            if any(v is not None for v in self.cells[r]):
                return r + 1
        return 0

    # -- structure -------------------------------------------------------------------

    def insert_rows(self, at: int, count: int, inherit_from: int | None) -> None:
        """Insert ``count`` empty rows before ``at``; formats/validations come from a neighbour."""
        template = None
        if inherit_from is not None and 0 <= inherit_from < len(self.extras):
            source = self.extras[inherit_from]
            if source:
                template = {
                    c: {k: v for k, v in ex.items() if k in ("userEnteredFormat", "dataValidation")}
                    for c, ex in source.items()
                }
                template = {c: ex for c, ex in template.items() if ex} or None
        if at < len(self.cells) or template:
            self.ensure_rows(at)
            self.cells[at:at] = [[] for _ in range(count)]
            self.extras[at:at] = [dict(template) if template else None for _ in range(count)]
        self.row_count += count
        self.row_props = {(k + count if k >= at else k): v for k, v in self.row_props.items()}

    def delete_rows(self, start: int, end: int) -> None:
        del self.cells[start:end]
        del self.extras[start:end]
        self.row_count -= end - start
        self.row_props = {
            (k - (end - start) if k >= end else k): v
            for k, v in self.row_props.items()
            if not start <= k < end
        }

    def insert_cols(self, at: int, count: int, inherit_from: int | None) -> None:
        for r, row in enumerate(self.cells):
            if at < len(row):
                self.row_to_write(r)[at:at] = [None] * count
        for r, ex in enumerate(self.extras):
            if not ex:
                continue
            moved = {(c + count if c >= at else c): v for c, v in ex.items()}
            if inherit_from is not None and inherit_from in ex:
                src = inherit_from + count if inherit_from >= at else inherit_from
                keep = {
                    k: v
                    for k, v in moved[src].items()
                    if k in ("userEnteredFormat", "dataValidation")
                }
                if keep:
                    for c in range(at, at + count):
                        moved[c] = keep
            self.extras[r] = moved
        self.column_count += count
        self.col_props = {(k + count if k >= at else k): v for k, v in self.col_props.items()}

    def delete_cols(self, start: int, end: int) -> None:
        for r, row in enumerate(self.cells):
            if start < len(row):
                del self.row_to_write(r)[start:end]
        n = end - start
        for r, ex in enumerate(self.extras):
            if ex:
                self.extras[r] = {
                    (c - n if c >= end else c): v for c, v in ex.items() if not start <= c < end
                }
        self.column_count -= n
        self.col_props = {
            (k - n if k >= end else k): v for k, v in self.col_props.items() if not start <= k < end
        }


class Spreadsheet:
    """A spreadsheet file: properties, tabs, named ranges, developer metadata, sharing."""

    def __init__(
        self,
        spreadsheet_id: str,
        title: str,
        owner: str,
        *,
        locale: str = "en_US",
        time_zone: str = "Etc/GMT",
        now: float = 0.0,
    ) -> None:
        self.id = spreadsheet_id
        self.title = title
        self.owner = owner
        self.locale = locale
        self.time_zone = time_zone
        self.permissions: list[dict[str, Any]] = []
        self.created = now
        self.modified = now
        self.version = 1
        self.sheets: list[Sheet] = []
        self.named_ranges: list[dict[str, Any]] = []
        self.metadata: list[DevMeta] = []
        self.metadata_ids: set[int] | None = None  # cache for id checks; rebuilt when stale
        self.trashed = False
        self.app_properties: dict[str, str] = {}  # Drive's appProperties of the file

    def clone(self) -> Spreadsheet:
        twin = copy.copy(self)
        twin.permissions = copy.deepcopy(self.permissions)
        twin.app_properties = dict(self.app_properties)
        twin.sheets = [sheet.clone() for sheet in self.sheets]
        twin.named_ranges = copy.deepcopy(self.named_ranges)
        twin.metadata = [meta.clone() for meta in self.metadata]
        twin.metadata_ids = None
        return twin

    def fork(self) -> Spreadsheet:
        """A working copy for an all-or-nothing edit (a batchUpdate, a person's edit).

        Like ``clone`` but its tabs share their rows with this file's (``Sheet.fork``), so
        its cost does not grow with the tabs' size; this file is left as it was. When the
        fork replaces this file, ``settle`` it.
        """
        twin = copy.copy(self)
        twin.permissions = copy.deepcopy(self.permissions)
        twin.app_properties = dict(self.app_properties)
        twin.sheets = [sheet.fork() for sheet in self.sheets]
        twin.named_ranges = copy.deepcopy(self.named_ranges)
        twin.metadata = [meta.clone() for meta in self.metadata]
        twin.metadata_ids = None
        return twin

    def settle(self) -> None:
        """This fork replaced the file it came from: its tabs change their rows in place again."""
        for sheet in self.sheets:
            sheet.settle()

    def sheet_by_id(self, sheet_id: int) -> Sheet | None:
        for sheet in self.sheets:
            if sheet.sheet_id == sheet_id:
                return sheet
        return None

    def sheet_by_title(self, title: str) -> Sheet | None:
        for sheet in self.sheets:
            if sheet.title == title:
                return sheet
        # Google matches sheet titles case-insensitively in ranges.
        for sheet in self.sheets:
            if sheet.title.lower() == title.lower():
                return sheet
        return None

    def role_of(self, email: str) -> str | None:
        """``owner``/``writer``/``reader`` for ``email``, or None without access."""
        if email == self.owner:
            return "owner"
        best = None
        for perm in self.permissions:
            if (
                perm.get("type") == "anyone"
                or perm.get("emailAddress", "").lower() == email.lower()
            ):
                role = perm.get("role")
                if role in ("owner", "writer", "organizer", "fileOrganizer"):
                    return "writer"
                best = best or ("reader" if role in ("reader", "commenter") else None)
        return best


def grid_json(grid: dict[str, Any]) -> dict[str, Any]:
    """A stored GridRange as Google answers it: ``sheetId`` 0 omitted (proto3 default)."""
    out = {k: v for k, v in grid.items() if v is not None}
    if not out.get("sheetId"):
        out.pop("sheetId", None)
    return out


def walk_grid_ranges(node: Any) -> Iterator[dict[str, Any]]:
    """Every GridRange-shaped dict inside ``node`` (charts, filters, protected ranges...)."""
    if isinstance(node, dict):
        if any(
            k in node
            for k in ("startRowIndex", "endRowIndex", "startColumnIndex", "endColumnIndex")
        ):
            yield node
        for value in node.values():
            yield from walk_grid_ranges(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk_grid_ranges(item)
