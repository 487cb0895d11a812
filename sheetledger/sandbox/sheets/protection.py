"""Protected ranges and named ranges.

The check every write makes against protection is ``SheetsCore._check_protection``.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from sheetledger.sandbox.a1 import is_cell_reference
from sheetledger.sandbox.sheets.core import SheetsCore
from sheetledger.sandbox.sheets.errors import InvalidRequest
from sheetledger.sandbox.sheets.masks import apply_mask
from sheetledger.sandbox.sheets.model import Sheet, Spreadsheet, grid_json


class ProtectionRequests(SheetsCore):
    """addProtectedRange / updateProtectedRange / deleteProtectedRange and named ranges."""

    def _req_addProtectedRange(
        self, book: Spreadsheet, p: dict[str, Any], caller: str
    ) -> dict[str, Any]:
        wanted = p.get("protectedRange") or {}
        grid = wanted.get("range")
        if wanted.get("namedRangeId"):
            named = [n for n in book.named_ranges if n["namedRangeId"] == wanted["namedRangeId"]]
            if not named:
                raise InvalidRequest(f"No named range with id: {wanted['namedRangeId']}")
            grid = named[0]["range"]
        if grid is None:
            raise InvalidRequest("A protected range must have a range or a named range.")
        sheet = self._grid_sheet(book, grid)
        pid = wanted.get("protectedRangeId") or self._new_id()
        editors_in = wanted.get("editors") or {}
        users = list(editors_in.get("users") or [])
        # The requesting user (and the owner) stay editors: reply echoes what was
        # sent, the stored one lists them (fixture: editors {} -> users [the SA]).
        for who in (caller, book.owner):
            if who not in users:
                users.append(who)
        stored: dict[str, Any] = {
            "protectedRangeId": int(pid),
            "range": {**grid, "sheetId": sheet.sheet_id},
            "description": wanted.get("description"),
            "warningOnly": bool(wanted.get("warningOnly")),
            "editors": {**{k: v for k, v in editors_in.items() if v}, "users": users},
            "unprotectedRanges": copy.deepcopy(wanted.get("unprotectedRanges") or []),
        }
        if wanted.get("namedRangeId"):
            stored["namedRangeId"] = wanted["namedRangeId"]
        sheet.protected_ranges.append(stored)
        reply: dict[str, Any] = {
            "protectedRangeId": stored["protectedRangeId"],
            "range": grid_json(grid),
        }
        if stored.get("namedRangeId"):
            reply["namedRangeId"] = stored["namedRangeId"]
        if stored["description"]:
            reply["description"] = stored["description"]
        if stored["warningOnly"]:
            reply["warningOnly"] = True
        reply["requestingUserCanEdit"] = True
        reply["editors"] = {k: v for k, v in editors_in.items() if v}
        if stored["unprotectedRanges"]:
            reply["unprotectedRanges"] = [grid_json(g) for g in stored["unprotectedRanges"]]
        return {"addProtectedRange": {"protectedRange": reply}}

    def _find_protected(self, book: Spreadsheet, pid: Any) -> tuple[Sheet, dict[str, Any]]:
        for sheet in book.sheets:
            for protected in sheet.protected_ranges:
                if protected["protectedRangeId"] == int(pid or 0):
                    return sheet, protected
        raise InvalidRequest(f"No protected range with id: {pid}")

    def _req_updateProtectedRange(self, book: Spreadsheet, p: dict[str, Any], caller: str) -> None:
        tree = self._mask(p)
        wanted = p.get("protectedRange") or {}
        sheet, protected = self._find_protected(book, wanted.get("protectedRangeId"))
        merged = apply_mask(protected, wanted, tree)
        merged["protectedRangeId"] = protected["protectedRangeId"]
        target = self._grid_sheet(book, merged["range"])
        merged["range"] = {**merged["range"], "sheetId": target.sheet_id}
        sheet.protected_ranges.remove(protected)
        target.protected_ranges.append(merged)

    def _req_deleteProtectedRange(self, book: Spreadsheet, p: dict[str, Any], caller: str) -> None:
        sheet, protected = self._find_protected(book, p.get("protectedRangeId"))
        sheet.protected_ranges.remove(protected)

    def _check_name(self, book: Spreadsheet, name: Any, skip: dict[str, Any] | None = None) -> None:
        if (
            not isinstance(name, str)
            or not re.fullmatch(r"[A-Za-z_\\][A-Za-z0-9_.]*", name)
            or is_cell_reference(name)
            or name.upper() in ("TRUE", "FALSE")
        ):
            raise InvalidRequest(
                f"The name '{name}' is not valid. Names must start with a letter or "
                "underscore, contain only letters, numbers, periods and underscores, "
                "and must not look like a cell reference."
            )
        for other in book.named_ranges:
            if other is not skip and other["name"].lower() == name.lower():
                raise InvalidRequest(f"Named range with name '{name}' already exists.")

    def _req_addNamedRange(
        self, book: Spreadsheet, p: dict[str, Any], caller: str
    ) -> dict[str, Any]:
        wanted = p.get("namedRange") or {}
        self._check_name(book, wanted.get("name"))
        grid = wanted.get("range") or {}
        sheet = self._grid_sheet(book, grid)
        named = {
            "namedRangeId": str(wanted.get("namedRangeId") or self._new_id()),
            "name": wanted["name"],
            "range": {**grid, "sheetId": sheet.sheet_id},
        }
        book.named_ranges.append(named)
        return {
            "addNamedRange": {
                "namedRange": {
                    "namedRangeId": named["namedRangeId"],
                    "name": named["name"],
                    "range": grid_json(grid),
                }
            }
        }

    def _find_named(self, book: Spreadsheet, nid: Any) -> dict[str, Any]:
        for named in book.named_ranges:
            if named["namedRangeId"] == str(nid):
                return named
        raise InvalidRequest(f"No named range with id: {nid}")

    def _req_updateNamedRange(self, book: Spreadsheet, p: dict[str, Any], caller: str) -> None:
        tree = self._mask(p)
        wanted = p.get("namedRange") or {}
        named = self._find_named(book, wanted.get("namedRangeId"))
        merged = apply_mask(named, wanted, tree)
        if merged.get("name") != named["name"]:
            self._check_name(book, merged.get("name"), skip=named)
        sheet = self._grid_sheet(book, merged.get("range") or {})
        named.update(
            {"name": merged["name"], "range": {**merged["range"], "sheetId": sheet.sheet_id}}
        )

    def _req_deleteNamedRange(self, book: Spreadsheet, p: dict[str, Any], caller: str) -> None:
        book.named_ranges.remove(self._find_named(book, p.get("namedRangeId")))
