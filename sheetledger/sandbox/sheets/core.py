"""The emulator's core: auth and quotas, range resolution, reading and writing cell values.

Every resource module (values, batchUpdate requests, Drive, people's edits) is a mixin of
``SheetsCore`` and reaches the model through the helpers here.
"""

from __future__ import annotations

import base64
import contextlib
import json
import random
import string
import time
import urllib.parse
from collections.abc import Callable, Iterable
from typing import Any

from sheetledger.sandbox.a1 import (
    Bounds,
    column_letters,
    format_range,
    is_cell_reference,
    parse_cells,
    split_range,
)
from sheetledger.sandbox.google_auth import AuthPage, TokenError, TokenIssuer
from sheetledger.sandbox.server import Emulator, HTTPError, Request, Response, route
from sheetledger.sandbox.sheets.cells import Formula, json_number
from sheetledger.sandbox.sheets.errors import (
    MISSING_CREDENTIALS,
    PROJECT_NUMBER,
    PROTECTED,
    STANDARD_MESSAGES,
    InvalidRequest,
    bad_field,
    fail,
    google_error,
    json_text,
)
from sheetledger.sandbox.sheets.formats import is_date_format, parse_user_entered, render_formatted
from sheetledger.sandbox.sheets.formulas import FormulaError
from sheetledger.sandbox.sheets.masks import parse_mask, project
from sheetledger.sandbox.sheets.model import Sheet, Spreadsheet

DEFAULT_SERVICE_ACCOUNT = "sheetledger@sheetledger-sandbox.iam.gserviceaccount.com"
PERSON = "owner@example.com"  # who "creates" spreadsheets by hand
LIST_VALUE = "type.googleapis.com/google.protobuf.ListValue"
VALUE_INPUT = ("RAW", "USER_ENTERED")
VALUE_RENDER = ("FORMATTED_VALUE", "UNFORMATTED_VALUE", "FORMULA")
DATETIME_RENDER = ("SERIAL_NUMBER", "FORMATTED_STRING")
DIMENSIONS = ("ROWS", "COLUMNS")


def basic_credentials(header: str) -> dict[str, str]:
    """The client id and secret of an HTTP Basic ``Authorization`` header (RFC 6749, 2.3.1)."""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return {}
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except ValueError:
        return {}
    client_id, _, client_secret = decoded.partition(":")
    return {
        "client_id": urllib.parse.unquote_plus(client_id),
        "client_secret": urllib.parse.unquote_plus(client_secret),
    }


def flag(value: Any, default: bool = False) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("true", "1", "yes")


class SheetsCore(Emulator):
    """State, auth, quotas and the cell-value plumbing every resource shares."""

    def __init__(self, *, clock: Callable[[], float] = time.time, seed: int = 20240315) -> None:
        super().__init__(clock=clock)
        self.random = random.Random(seed)
        self.spreadsheets: dict[str, Spreadsheet] = {}
        self.issuer = TokenIssuer()
        self.service_account_email = DEFAULT_SERVICE_ACCOUNT
        self.issuer.add_account(DEFAULT_SERVICE_ACCOUNT)
        self.quota_per_minute: dict[str, int] | None = None
        # Drive refuses a service account a file it would own (in a My Drive) with 403
        # storageQuotaExceeded (docs/api-notes.md, "Google: new files"; the rule is in
        # drive_store.py). On, as at Google.
        self.service_accounts_have_no_storage = True
        self.failed_edits: list[str] = []  # scheduled person edits (POST /_sandbox/edit) refused

    # ------------------------------------------------------------------ identity & auth

    def service_account_info(self, token_uri: str, email: str | None = None) -> dict[str, str]:
        """A service-account key (JSON dict) whose JWT grant this emulator accepts."""
        account = self.issuer.add_account(email or self.service_account_email)
        return account.info(token_uri)

    def installed_app_secrets(self, base_url: str) -> dict[str, dict[str, object]]:
        """A new "Desktop app" OAuth client's secrets JSON, its URIs at ``base_url``."""
        base = base_url.rstrip("/")
        return self.issuer.add_client().secrets_json(f"{base}/o/oauth2/auth", f"{base}/token")

    def access_token(self, email: str | None = None) -> str:
        """A bearer token for raw HTTP calls (tests, scripts) without the JWT grant."""
        return self.issuer.issue_for_tests(email or self.service_account_email, self.clock())

    def refuse(self, request: Request, kind: str | None) -> Response | None:
        path = request.path
        if path == "/token" or path.startswith(("/_sandbox/", "/o/oauth2/")):
            return None
        header = request.headers.get("Authorization") or ""
        if not header.lower().startswith("bearer "):
            return self._unauthenticated(MISSING_CREDENTIALS, "CREDENTIALS_MISSING", path)
        email, reason = self.issuer.who(header[7:].strip(), self.clock())
        if email is None:
            return self._unauthenticated(STANDARD_MESSAGES[401], reason, path)
        request.caller = email  # type: ignore[attr-defined]
        if self.quota_per_minute and kind is not None and kind in self.quota_per_minute:
            limit = self.quota_per_minute[kind]
            if self.counters.in_current_minute(kind) >= limit:
                return self._quota_response(kind, limit)
        return None

    def _unauthenticated(self, message: str, reason: str, path: str) -> Response:
        service = "drive.googleapis.com" if path.startswith("/drive/") else "sheets.googleapis.com"
        details: list[dict[str, Any]] = [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": reason,
                "domain": "googleapis.com",
                "metadata": {"service": service},
            }
        ]
        response = google_error(401, message, details)
        response.headers["WWW-Authenticate"] = 'Bearer realm="https://accounts.google.com/"'
        return response

    def _quota_response(self, kind: str, limit: int = 60) -> Response:
        metric = "Read requests" if kind == "read" else "Write requests"
        name = "ReadRequestsPerMinutePerUser" if kind == "read" else "WriteRequestsPerMinutePerUser"
        message = (
            f"Quota exceeded for quota metric '{metric}' and limit '{metric} per minute per "
            f"user' of service 'sheets.googleapis.com' for consumer "
            f"'project_number:{PROJECT_NUMBER}'."
        )
        details: list[dict[str, Any]] = [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "RATE_LIMIT_EXCEEDED",
                "domain": "googleapis.com",
                "metadata": {
                    "quota_limit": name,
                    "quota_unit": "1/min/{project}/{user}",
                    "quota_location": "global",
                    "quota_limit_value": str(limit),
                    "consumer": f"projects/{PROJECT_NUMBER}",
                    "service": "sheets.googleapis.com",
                    "quota_metric": f"sheets.googleapis.com/{kind}_requests",
                },
            },
            {
                "@type": "type.googleapis.com/google.rpc.Help",
                "links": [
                    {
                        "description": "Request a higher quota limit.",
                        "url": "https://cloud.google.com/docs/quotas/help/request_increase",
                    }
                ],
            },
        ]
        return google_error(429, message, details)

    def error_response(self, status: int, message: str) -> Response:
        return google_error(status, message)

    def fault_response(self, status: int, request: Request) -> Response:
        if status == 429:
            found = None
            with contextlib.suppress(HTTPError):
                found = self._match(request)
            kind = found[1] if found else "read"
            return self._quota_response(kind or "read")
        return google_error(status)

    @staticmethod
    def _caller(request: Request) -> str:
        return getattr(request, "caller", None) or DEFAULT_SERVICE_ACCOUNT

    # ------------------------------------------------------------------ small helpers

    def _new_id(self, digits: int = 10) -> int:
        return self.random.randrange(10 ** (digits - 1), 2**31 - 1)

    def _new_spreadsheet_id(self) -> str:
        alphabet = string.ascii_letters + string.digits + "-_"
        return "1" + "".join(self.random.choice(alphabet) for _ in range(43))

    def _touch(self, book: Spreadsheet) -> None:
        book.modified = self.clock()
        book.version += 1

    def _reply(self, request: Request, body: Any, status: int = 200) -> Response:
        fields = request.arg("fields")
        if fields:
            try:
                body = project(body, parse_mask(fields))
            except ValueError as exc:
                raise fail(400, f"Invalid field selection {fields}") from exc
        return Response.json(body, status)

    def _body(self, request: Request) -> dict[str, Any]:
        if not request.body:
            return {}
        try:
            data = json.loads(request.body)
        except ValueError as exc:
            raise fail(400, f"Invalid JSON payload received. {exc}") from exc
        if not isinstance(data, dict):
            raise fail(400, "Invalid JSON payload received. Expected an object.")
        return data

    def _book(self, request: Request, sid: str, *, write: bool = False) -> Spreadsheet:
        book = self.spreadsheets.get(sid)
        if book is None or book.trashed:
            raise fail(404)
        role = book.role_of(self._caller(request))
        if role is None or (write and role == "reader"):
            raise fail(403)
        return book

    @staticmethod
    def _enum(
        value: Any, allowed: tuple[str, ...], field: str, type_name: str, default: str
    ) -> str:
        if value is None or value == "":
            return default
        if value not in allowed:
            raise bad_field(field, f"Invalid value at '{field}' ({type_name}), \"{value}\"")
        return str(value)

    def _resolve(self, book: Spreadsheet, text: str) -> tuple[Sheet, Bounds]:
        """A range string -> (sheet, bounds); 400 ``Unable to parse range`` like Google.

        A1 notation: ``A1:B2`` (first visible tab), ``Sheet1`` (a whole tab), a named
        range ``Payments`` and ``'Sheet1'!Payments`` (the concepts guide: "Sheet1!MyNamedRange").
        """
        unable = fail(400, f"Unable to parse range: {text}")
        if not isinstance(text, str):
            raise unable
        try:
            ref = split_range(text)
        except ValueError:
            raise unable from None
        cells = ref.cells or ""
        if ref.title is None:
            if is_cell_reference(cells):
                visible = [s for s in book.sheets if not s.hidden] or book.sheets
                return visible[0], parse_cells(cells)
            sheet = book.sheet_by_title(cells)
            if sheet is not None:
                return sheet, Bounds()
            found = self._named_range(book, cells)
            if found is None:
                raise unable
            return found
        sheet = book.sheet_by_title(ref.title)
        if sheet is None:
            raise unable
        if ref.cells is None:
            return sheet, Bounds()
        if not is_cell_reference(cells):
            found = self._named_range(book, cells)
            if found is None or found[0] is not sheet:
                raise unable
            return found
        try:
            return sheet, parse_cells(cells)
        except ValueError:
            raise unable from None

    @staticmethod
    def _named_range(book: Spreadsheet, name: str) -> tuple[Sheet, Bounds] | None:
        """The tab and bounds of the named range ``name`` (names ignore case), or None."""
        for named in book.named_ranges:
            if named["name"].lower() == name.lower():
                grid = named["range"]
                target = book.sheet_by_id(int(grid.get("sheetId") or 0))
                if target is not None:
                    return target, Bounds.from_grid_range(grid)
        return None

    @staticmethod
    def _grid_limit(sheet: Sheet, text: str) -> HTTPError:
        cells = text.rpartition("!")[2] if "!" in text else text
        return fail(
            400,
            f"Range ('{sheet.title}'!{cells}) exceeds grid limits. Max rows: "
            f"{sheet.row_count}, max columns: {sheet.column_count}",
        )

    def _check_read_bounds(self, sheet: Sheet, bounds: Bounds, text: str) -> None:
        if (bounds.start_row or 0) >= sheet.row_count or (
            bounds.start_col or 0
        ) >= sheet.column_count:
            raise self._grid_limit(sheet, text)

    def _grid_sheet(self, book: Spreadsheet, grid: dict[str, Any]) -> Sheet:
        if not isinstance(grid, dict):
            raise InvalidRequest("range must be a GridRange")
        sheet = book.sheet_by_id(int(grid.get("sheetId") or 0))
        if sheet is None:
            raise InvalidRequest(f"No grid with id: {grid.get('sheetId') or 0}")
        return sheet

    # ------------------------------------------------------------------ reading values

    def _render_rows(
        self,
        book: Spreadsheet,
        sheet: Sheet,
        r0: int,
        r1: int,
        c0: int,
        c1: int,
        render: str,
        dt_render: str,
    ) -> list[list[Any]]:
        """Rendered values of a block, trailing empty cells and rows trimmed like Google."""
        cells, extras, locale = sheet.cells, sheet.extras, book.locale
        out: list[list[Any]] = []
        keep = 0
        for r in range(r0, min(r1, len(cells))):
            segment = cells[r][c0:c1]
            while segment and segment[-1] is None:
                segment.pop()
            if not segment:
                out.append([])
                continue
            row_extras = extras[r]
            fast = render == "UNFORMATTED_VALUE" and (
                not row_extras or dt_render == "SERIAL_NUMBER"
            )
            # ``in`` runs in C: the whole-tab reads of a 50,000-row tab spend their time here.
            if fast and Formula not in map(type, segment):
                rendered = ["" if v is None else v for v in segment] if None in segment else segment
            else:
                rendered = []
                for offset, value in enumerate(segment):
                    rendered.append(
                        self._render_cell(
                            sheet, r, c0 + offset, value, row_extras, render, dt_render, locale
                        )
                    )
            out.append(rendered)
            keep = len(out)
        del out[keep:]
        return out

    @staticmethod
    def _render_cell(
        sheet: Sheet,
        r: int,
        c: int,
        value: Any,
        row_extras: dict[int, Any] | None,
        render: str,
        dt_render: str,
        locale: str,
    ) -> Any:
        if value is None:
            return ""
        if render == "FORMULA" and type(value) is Formula:
            return str(value)
        number_format = None
        if row_extras and c in row_extras:
            fmt = row_extras[c].get("userEnteredFormat")
            number_format = fmt.get("numberFormat") if fmt else None
        if type(value) is Formula:
            try:
                value = sheet.computed(r, c)
            except FormulaError as exc:
                value = exc.code
            if value is None:
                return ""
        if render == "FORMATTED_VALUE":
            return render_formatted(value, number_format, locale)
        if (
            dt_render == "FORMATTED_STRING"
            and is_date_format(number_format)
            and isinstance(value, int | float)
            and not isinstance(value, bool)
        ):
            return render_formatted(value, number_format, locale)
        return value

    @staticmethod
    def _columns(rows: list[list[Any]]) -> list[list[Any]]:
        """ROWS -> COLUMNS, trimming trailing empties of each column and trailing columns."""
        width = max((len(row) for row in rows), default=0)
        columns = []
        for c in range(width):
            column = [row[c] if c < len(row) else "" for row in rows]
            while column and column[-1] == "":
                column.pop()
            columns.append(column)
        while columns and not columns[-1]:
            columns.pop()
        return columns

    def _value_range(
        self,
        book: Spreadsheet,
        sheet: Sheet,
        bounds: Bounds,
        *,
        render: str,
        dt_render: str,
        major: str,
    ) -> dict[str, Any]:
        r0, r1, c0, c1 = bounds.clip(sheet.row_count, sheet.column_count)
        body: dict[str, Any] = {
            "range": format_range(sheet.title, r0, r1, c0, c1),
            "majorDimension": major,
        }
        rows = self._render_rows(book, sheet, r0, r1, c0, c1, render, dt_render)
        if major == "COLUMNS":
            rows = self._columns(rows)
        if rows:
            body["values"] = rows
        return body

    def _read_options(self, source: Callable[[str], Any]) -> tuple[str, str, str]:
        render = self._enum(
            source("valueRenderOption"),
            VALUE_RENDER,
            "value_render_option",
            "TYPE_ENUM",
            "FORMATTED_VALUE",
        )
        dt_render = self._enum(
            source("dateTimeRenderOption"),
            DATETIME_RENDER,
            "date_time_render_option",
            "TYPE_ENUM",
            "SERIAL_NUMBER",
        )
        major = self._enum(
            source("majorDimension"), DIMENSIONS, "major_dimension", "TYPE_ENUM", "ROWS"
        )
        return render, dt_render, major

    # ------------------------------------------------------------------ writing values

    def _cells_of(self, values: Any, major: str, field: str) -> list[list[Any]]:
        """Validate a ValueRange's ``values`` like Google's JSON parser; rows-major result."""
        if values is None:
            return []
        if not isinstance(values, list):
            raise bad_field(
                field,
                f"Invalid value at '{field}' ({LIST_VALUE}), {json_text(values)}",
            )
        for i, row in enumerate(values):
            if not isinstance(row, list):
                where = f"{field}[{i}]"
                raise bad_field(
                    where,
                    f"Invalid value at '{where}' ({LIST_VALUE}), {json_text(row)}",
                )
            for j, cell in enumerate(row):
                if isinstance(cell, dict | list):
                    kind = "struct_value" if isinstance(cell, dict) else "list_value"
                    raise fail(
                        400,
                        f"Invalid values[{i}][{j}]: {kind} {json.dumps(cell, ensure_ascii=False)}",
                    )
        if major == "COLUMNS":
            height = max((len(col) for col in values), default=0)
            return [[col[r] if r < len(col) else None for col in values] for r in range(height)]
        return values

    def _plan_write(
        self,
        book: Spreadsheet,
        sheet: Sheet,
        bounds: Bounds,
        rows: list[list[Any]],
        text: str,
        *,
        grow: bool = False,
        anchor: tuple[int, int] | None = None,
        caller: str | None = None,
    ) -> tuple[int, int, int, int]:
        """Check a write fits (requested range, grid, protection); return its block."""
        r0, c0 = anchor if anchor else (bounds.start_row or 0, bounds.start_col or 0)
        height = len(rows)
        width = max((len(row) for row in rows), default=0)
        if anchor is None and not bounds.is_single_cell and height and width:
            shown = text.rpartition("!")[2] if "!" in text else text
            title = f"'{sheet.title}'!{shown}"
            if bounds.end_row is not None and r0 + height > bounds.end_row:
                raise fail(
                    400,
                    f"Requested writing within range [{title}], "
                    f"but tried writing to row [{bounds.end_row + 1}]",
                )
            if bounds.end_col is not None and c0 + width > bounds.end_col:
                raise fail(
                    400,
                    f"Requested writing within range [{title}], "
                    f"but tried writing to column [{column_letters(bounds.end_col)}]",
                )
        if (
            not grow
            and height
            and width
            and (r0 + height > sheet.row_count or c0 + width > sheet.column_count)
        ):
            raise self._grid_limit(sheet, text)
        if not grow and (r0 >= sheet.row_count or c0 >= sheet.column_count):
            raise self._grid_limit(sheet, text)
        if caller is not None and height and width:
            self._check_protection(book, sheet, r0, r0 + height, c0, c0 + width, caller)
        return r0, r0 + height, c0, c0 + width

    def _check_protection(
        self, book: Spreadsheet, sheet: Sheet, r0: int, r1: int, c0: int, c1: int, caller: str
    ) -> None:
        if caller == book.owner:
            return
        for protected in sheet.protected_ranges:
            if protected.get("warningOnly"):
                continue
            editors = (protected.get("editors") or {}).get("users") or []
            if caller in editors:
                continue
            pr0, pr1, pc0, pc1 = Bounds.from_grid_range(protected["range"]).clip(
                sheet.row_count, sheet.column_count
            )
            if pr0 < r1 and r0 < pr1 and pc0 < c1 and c0 < pc1:
                holes = [
                    Bounds.from_grid_range(h).clip(sheet.row_count, sheet.column_count)
                    for h in protected.get("unprotectedRanges") or []
                ]
                if holes and all(
                    any(h[0] <= r < h[1] and h[2] <= c < h[3] for h in holes)
                    for r in range(max(r0, pr0), min(r1, pr1))
                    for c in range(max(c0, pc0), min(c1, pc1))
                ):
                    continue
                raise fail(400, PROTECTED)

    def _check_protection_invalid(
        self, book: Spreadsheet, sheet: Sheet, r0: int, r1: int, c0: int, c1: int, caller: str
    ) -> None:
        try:
            self._check_protection(book, sheet, r0, r1, c0, c1, caller)
        except HTTPError:
            raise InvalidRequest(PROTECTED) from None

    def _store(
        self, book: Spreadsheet, sheet: Sheet, r0: int, c0: int, rows: list[list[Any]], option: str
    ) -> int:
        """Write rows of JSON values at (r0, c0): null skips a cell, "" clears it.

        Returns the number of cells written.
        """
        written = 0
        locale = book.locale
        sheet.ensure_rows(r0 + len(rows))
        for i, row in enumerate(rows):
            r = r0 + i
            target = sheet.row_to_write(r)
            needed = c0 + len(row)
            if len(target) < needed:
                target.extend([None] * (needed - len(target)))
            for j, raw in enumerate(row):
                if raw is None:
                    continue
                written += 1
                c = c0 + j
                if isinstance(raw, bool):
                    target[c] = raw
                elif isinstance(raw, int | float):
                    target[c] = json_number(raw)
                elif raw == "":
                    target[c] = None
                elif option == "RAW":
                    target[c] = raw
                else:
                    value, implied = parse_user_entered(str(raw), locale)
                    target[c] = value
                    if implied is not None and sheet.number_format(r, c) is None:
                        self._set_number_format(sheet, r, c, implied)
        return written

    @staticmethod
    def _set_number_format(sheet: Sheet, r: int, c: int, number_format: dict[str, Any]) -> None:
        fields = dict(sheet.extra(r, c) or {})
        fmt = dict(fields.get("userEnteredFormat") or {})
        fmt["numberFormat"] = number_format
        fields["userEnteredFormat"] = fmt
        sheet.set_extra(r, c, fields)

    def _update_response(
        self,
        book: Spreadsheet,
        sheet: Sheet,
        block: tuple[int, int, int, int],
        written: int,
        *,
        include: bool,
        render: str,
        dt_render: str,
        requested: Bounds | None = None,
    ) -> dict[str, Any]:
        r0, r1, c0, c1 = block
        out: dict[str, Any] = {"spreadsheetId": book.id}
        if r1 > r0 and c1 > c0:
            out["updatedRange"] = format_range(sheet.title, r0, r1, c0, c1)
            out["updatedRows"] = r1 - r0
            out["updatedColumns"] = c1 - c0
            if written:
                out["updatedCells"] = written
        elif requested is not None:
            rr0, rr1, rc0, rc1 = requested.clip(sheet.row_count, sheet.column_count)
            out["updatedRange"] = format_range(sheet.title, rr0, rr1, rc0, rc1)
        if include:
            bounds = Bounds(r0, max(r1, r0 + 1), c0, max(c1, c0 + 1))
            out["updatedData"] = self._value_range(
                book, sheet, bounds, render=render, dt_render=dt_render, major="ROWS"
            )
        return out

    @staticmethod
    def _raw_range(request: Request, verb: str | None = None) -> str:
        """The range segment of ``.../values/{range}[:verb]``, split on the raw path.

        gspread appends ``:append``/``:clear`` unencoded after the percent-encoded
        range, and a decoded range contains ``:`` itself (docs/api-notes.md, "Google: A1 ranges").
        """
        raw = request.raw_path.split("/values/", 1)[1]
        if verb is not None and raw.endswith(":" + verb):
            raw = raw[: -len(verb) - 1]
        return urllib.parse.unquote(raw)

    # ------------------------------------------------------------------ token endpoint

    @route("POST", r"/token")
    def oauth_token(self, request: Request) -> Response:
        form = {**basic_credentials(request.headers.get("Authorization") or ""), **request.form()}
        try:
            body = self.issuer.grant(form, self.clock(), wall=time.time())
        except TokenError as exc:
            return Response.json(exc.body, exc.status)
        return Response.json(body)

    @route("GET", r"/o/oauth2/(?:v2/)?auth")
    def oauth_consent(self, request: Request) -> Response:
        """The consent page: a 302 back to the app's redirect URI, or Google's error page."""
        query = {name: values[0] for name, values in request.query.items() if values}
        try:
            location = self.issuer.authorize(query, self.clock())
        except AuthPage as page:
            return Response(page.status, page.html(), {"Content-Type": "text/html; charset=utf-8"})
        return Response(302, b"", {"Location": location})

    # ------------------------------------------------------------------ new spreadsheets

    def _new_book(
        self,
        title: str,
        owner: str,
        *,
        locale: str = "en_US",
        sheets: Iterable[Any] | None = None,
        time_zone: str = "Etc/GMT",
    ) -> Spreadsheet:
        sid = self._new_spreadsheet_id()
        book = Spreadsheet(sid, title, owner, locale=locale, time_zone=time_zone, now=self.clock())
        specs = list(sheets or [])
        if not specs:
            specs = [{"title": "Sheet1"}]
        for index, spec in enumerate(specs):
            if isinstance(spec, str):
                spec = {"title": spec}
            props = spec.get("properties", spec)
            grid = props.get("gridProperties") or {}
            sheet_id = props.get("sheetId", 0 if index == 0 else self._new_id())
            sheet = Sheet(
                int(sheet_id),
                props.get("title") or f"Sheet{index + 1}",
                int(grid.get("rowCount") or props.get("rows") or 1000),
                int(grid.get("columnCount") or props.get("cols") or 26),
            )
            sheet.frozen_rows = int(grid.get("frozenRowCount") or 0)
            sheet.frozen_cols = int(grid.get("frozenColumnCount") or 0)
            sheet.hidden = bool(props.get("hidden"))
            book.sheets.append(sheet)
            values = spec.get("values")
            if values:
                self._store(
                    book, sheet, 0, 0, values, "USER_ENTERED" if spec.get("user_entered") else "RAW"
                )
                sheet.row_count = max(sheet.row_count, len(values))
                sheet.column_count = max(sheet.column_count, max(len(r) for r in values))
        self.spreadsheets[sid] = book
        return book

    @staticmethod
    def _mask(payload: dict[str, Any]) -> dict[str, Any]:
        fields = payload.get("fields")
        if not fields:
            raise InvalidRequest(
                "At least one field must be listed in 'fields'. (Use '*' to indicate all fields.)"
            )
        return parse_mask(fields)

    def _check_cells_limit(self, book: Spreadsheet) -> None:
        total = sum(s.row_count * s.column_count for s in book.sheets)
        if total > 10_000_000:
            raise InvalidRequest(
                "This action would increase the number of cells in the workbook above the "
                "limit of 10000000 cells."
            )
