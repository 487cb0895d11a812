"""Persistence: the emulator's state as JSON (``sheetledger sandbox --state-dir``) and back."""

from __future__ import annotations

from typing import Any

from sheetledger.sandbox.sheets.cells import Formula
from sheetledger.sandbox.sheets.core import DEFAULT_SERVICE_ACCOUNT, SheetsCore
from sheetledger.sandbox.sheets.model import DevMeta, Sheet, Spreadsheet


class Persistence(SheetsCore):
    """``state()`` / ``load_state()``."""

    def state(self) -> dict[str, Any]:
        with self.lock:
            return {
                "accounts": [a.as_state() for a in self.issuer.accounts.values()],
                "service_account_email": self.service_account_email,
                "spreadsheets": [self._book_state(b) for b in self.spreadsheets.values()],
            }

    @staticmethod
    def _book_state(book: Spreadsheet) -> dict[str, Any]:
        def cell(value: Any) -> Any:
            return {"f": str(value)} if isinstance(value, Formula) else value

        return {
            "id": book.id,
            "title": book.title,
            "owner": book.owner,
            "locale": book.locale,
            "timeZone": book.time_zone,
            "permissions": book.permissions,
            "appProperties": book.app_properties,
            "created": book.created,
            "modified": book.modified,
            "version": book.version,
            "namedRanges": book.named_ranges,
            "metadata": [m.as_state() for m in book.metadata],
            "sheets": [
                {
                    "sheetId": s.sheet_id,
                    "title": s.title,
                    "rowCount": s.row_count,
                    "columnCount": s.column_count,
                    "frozenRows": s.frozen_rows,
                    "frozenCols": s.frozen_cols,
                    "hidden": s.hidden,
                    "extraProperties": s.extra_properties,
                    "cells": [[cell(v) for v in row] for row in s.cells],
                    "extras": [
                        [r, [[c, ex] for c, ex in row.items()]]
                        for r, row in enumerate(s.extras)
                        if row
                    ],
                    "rowProps": [[k, v] for k, v in s.row_props.items()],
                    "colProps": [[k, v] for k, v in s.col_props.items()],
                    "protectedRanges": s.protected_ranges,
                    "charts": s.charts,
                }
                for s in book.sheets
            ],
        }

    def load_state(self, state: dict[str, Any]) -> None:
        with self.lock:
            if state.get("accounts"):
                self.issuer.load_accounts(state["accounts"])
            self.service_account_email = (
                state.get("service_account_email") or DEFAULT_SERVICE_ACCOUNT
            )
            self.issuer.add_account(self.service_account_email)
            self.spreadsheets = {}
            for data in state.get("spreadsheets") or []:
                book = Spreadsheet(
                    data["id"],
                    data["title"],
                    data["owner"],
                    locale=data["locale"],
                    time_zone=data["timeZone"],
                    now=data["created"],
                )
                book.permissions = data["permissions"]
                book.app_properties = dict(data.get("appProperties") or {})
                book.modified, book.version = data["modified"], data["version"]
                book.named_ranges = data["namedRanges"]
                book.metadata = [DevMeta(*m) for m in data["metadata"]]
                for s in data["sheets"]:
                    sheet = Sheet(s["sheetId"], s["title"], s["rowCount"], s["columnCount"])
                    sheet.frozen_rows, sheet.frozen_cols, sheet.hidden = (
                        s["frozenRows"],
                        s["frozenCols"],
                        s["hidden"],
                    )
                    sheet.extra_properties = s["extraProperties"]
                    sheet.cells = [
                        [Formula(v["f"]) if isinstance(v, dict) else v for v in row]
                        for row in s["cells"]
                    ]
                    sheet.extras = [None] * len(sheet.cells)
                    for r, row in s["extras"]:
                        sheet.extras[r] = {int(c): ex for c, ex in row}
                    sheet.row_props = {int(k): v for k, v in s["rowProps"]}
                    sheet.col_props = {int(k): v for k, v in s["colProps"]}
                    sheet.protected_ranges, sheet.charts = s["protectedRanges"], s["charts"]
                    book.sheets.append(sheet)
                self.spreadsheets[book.id] = book
