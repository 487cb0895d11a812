"""Helpers for the orders' tests: a tab of a sandbox spreadsheet as dicts by header."""

from __future__ import annotations

from typing import Any

from sheetledger.config import Config
from sheetledger.sandbox.runner import Sandbox


def tab_rows(box: Sandbox, spreadsheet_id: str, title: str) -> list[dict[str, Any]]:
    """The data rows of a tab as the emulator holds them, one dict per row by header."""
    values = box.sheets.values(spreadsheet_id, title)
    if not values:
        return []
    header = [str(h) for h in values[0]]
    rows = []
    for raw in values[1:]:
        if raw and any(cell not in ("", None) for cell in raw):
            padded = list(raw) + [None] * (len(header) - len(raw))
            rows.append(dict(zip(header, padded[: len(header)], strict=True)))
    return rows


def invoice_rows(box: Sandbox, config: Config) -> list[dict[str, Any]]:
    return tab_rows(box, config.google.spreadsheet_id, config.google.tabs.invoices)
