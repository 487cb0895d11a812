"""The Google Sheets API v4 emulator (+ the OAuth token endpoint and a Drive v3 subset).

One loopback server answers every Google host the clients use; the client side
(``sheetledger.ledger.google.connect(..., api_base_url=...)``) rewrites
``https://sheets.googleapis.com`` and ``https://www.googleapis.com`` to it, and
the service-account key handed out by ``service_account_info(token_uri)`` sends
google-auth's JWT grant to ``POST /token`` here.

What it serves (details and the quirks imitated are documented where they are
implemented; sources: docs/api-notes.md and tests/fixtures/gsheets/):

* ``POST /token`` - the service-account JWT bearer grant (RS256 signature checked).
  Sheets and Drive routes without a valid ``Authorization: Bearer`` answer 401
  UNAUTHENTICATED; an expired token (the emulator's ``clock``) too, so
  google-auth's refresh-and-retry runs for real.
* Sheets v4 ``/v4/spreadsheets``: create, get (``fields``, ``ranges``,
  ``includeGridData``), values get / batchGet / update / batchUpdate / append /
  clear / batchClear and the ``...ByDataFilter`` variants, ``:batchUpdate`` (all or
  nothing), ``:getByDataFilter``, ``developerMetadata:search`` and
  ``developerMetadata/{id}``.
* Drive v3: files create / list / get / delete / copy / export (xlsx, csv),
  permissions create / list / delete.
* Sharing: a spreadsheet created through the API belongs to the calling service
  account; ``create_spreadsheet(..., shared_with=[...])`` creates one "as a person";
  anyone else gets 403 PERMISSION_DENIED.
* Quotas: ``quota_per_minute = {"read": 60, "write": 60}`` (off by default) answers
  429 RESOURCE_EXHAUSTED with the real ErrorInfo; a scripted ``fail_next(429)``
  answers the same body.

The control side - people editing the sheet. In-process methods (tests) and the
HTTP routes that call them (scripts, ``sheetledger sandbox``); every edit goes
through the same code as the API, so validations, formats, protected and named
ranges and developer metadata move with rows exactly like the API moves them:

Each in-process method, then its HTTP twin (JSON body; GET takes a query):

* ``create_spreadsheet(title, sheets=..., shared_with=[...], owner=..., locale=...)``
  -> ``POST /_sandbox/spreadsheets {"title", "sheets", "shared_with", "owner", "locale"}``
  answering ``{"spreadsheetId"}``;
* ``share(spreadsheet_id, email, role="writer")``
  -> ``POST /_sandbox/share {"spreadsheet_id", "email", "role"}``;
* ``type_cell(spreadsheet_id, a1, value, user_entered=True)``
  -> ``POST /_sandbox/type {"spreadsheet_id", "a1", "value", "user_entered"}``;
* ``tick(spreadsheet_id, a1, checked=True)``
  -> ``POST /_sandbox/tick {"spreadsheet_id", "a1", "checked"}``;
* ``insert_rows(spreadsheet_id, sheet_title, at_row, count=1)`` and ``delete_rows(...)``
  -> ``POST /_sandbox/insert_rows`` / ``delete_rows``
  ``{"spreadsheet_id", "sheet_title", "at_row", "count"}``;
* ``sort_range(spreadsheet_id, sheet_title, column_letter, ascending=True, header_rows=1)``
  -> ``POST /_sandbox/sort {"spreadsheet_id", "sheet_title", "column", "ascending",
  "header_rows"}``;
* ``cut_paste_rows(spreadsheet_id, sheet_title, from_row, to_row, count=1)`` (Ctrl+X on
  rows, Ctrl+V on another: the cells move, the cut rows stay empty)
  -> ``POST /_sandbox/cut_paste {"spreadsheet_id", "sheet_title", "from_row", "to_row",
  "count"}``;
* ``delete_sheet(spreadsheet_id, sheet_title)`` (a person deletes a whole tab)
  -> ``POST /_sandbox/delete_sheet {"spreadsheet_id", "sheet_title"}``;
* ``rename_header(spreadsheet_id, sheet_title, old, new)``
  -> ``POST /_sandbox/rename_header {"spreadsheet_id", "sheet_title", "old", "new"}``;
* ``values(spreadsheet_id, sheet_title)`` (unformatted, trimmed)
  -> ``GET /_sandbox/values?spreadsheet_id=...&sheet_title=...``;
* ``metadata(spreadsheet_id)`` every developer metadata entry (in-process only);
* ``service_account_info(token_uri)`` -> ``GET /_sandbox/service_account`` (token_uri =
  this server); ``access_token(email=None)`` -> ``POST /_sandbox/token {"email"}``;
* ``quota_per_minute = {"read": 60, "write": 60}`` -> ``PUT /_sandbox/quota {...}``.

Rows are 1-based like the sheet's row numbers (``at_row=2`` is the first row
under a header). ``POST /_sandbox/edit {"match": "values:batchUpdate", "op": "sort", ...}``
(op: type, tick, insert_rows, delete_rows, cut_paste, sort, rename_header, delete_sheet,
share; plus the op's keys)
schedules one of these edits to run just before the next request matching
``match`` (the HTTP twin of ``before_next(callback, match=...)``).

Formulas: the formula text is kept; plain arithmetic (numbers, cell references,
``+ - * / ^ &``, parentheses, ``SUM/MIN/MAX/AVERAGE/COUNT/ROUND/ABS``) is evaluated
when read; any other formula reads as empty (there is no full formula engine),
and references in formulas are not rewritten when rows move.

Where things are (one module per responsibility):

* ``model`` - ``Spreadsheet``, ``Sheet`` (values beside formats), ``DevMeta``;
  ``cells`` - how a value is stored (``Formula``);
* ``formats`` - user-entered parsing and number formats; ``formulas``; ``masks`` (field masks);
* ``core`` - ``SheetsCore``: auth, quotas, range resolution, reading and writing values;
  ``errors`` - Google's error bodies; ``json_shape`` - defaults, colour twins, proto3 omissions;
* ``spreadsheets`` (create, get), ``values`` (the values API), ``developer_metadata``
  (and data filters), ``batch_update`` (the route), then one module per family of
  requests: ``sheet_requests``, ``cell_requests``, ``copy_paste``, ``dimensions`` (and
  autoResize), ``dimension_groups``, ``protection`` (protected and named ranges),
  ``merges_filters``, ``charts`` (pivot tables are cell fields);
* ``drive`` (+ ``xlsx`` export), ``people`` (the control side), ``persistence``;
* ``emulator`` - ``SheetsEmulator``, every mixin above put together.
"""

from sheetledger.sandbox.sheets.cells import Formula
from sheetledger.sandbox.sheets.core import DEFAULT_SERVICE_ACCOUNT, PERSON
from sheetledger.sandbox.sheets.emulator import SheetsEmulator
from sheetledger.sandbox.sheets.formats import (
    format_date,
    format_general,
    format_number,
    parse_user_entered,
)
from sheetledger.sandbox.sheets.masks import apply_mask, parse_mask, project

__all__ = [
    "DEFAULT_SERVICE_ACCOUNT",
    "PERSON",
    "Formula",
    "SheetsEmulator",
    "apply_mask",
    "format_date",
    "format_general",
    "format_number",
    "parse_mask",
    "parse_user_entered",
    "project",
]
