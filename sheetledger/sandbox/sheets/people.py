"""People's edits (the control side): what a person does in the sheet, in-process and over HTTP."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from sheetledger.sandbox.a1 import column_index
from sheetledger.sandbox.server import HTTPError, Request, Response, route
from sheetledger.sandbox.sheets.copy_paste import CopyPasteRequests
from sheetledger.sandbox.sheets.core import PERSON
from sheetledger.sandbox.sheets.drive import DriveApi
from sheetledger.sandbox.sheets.errors import InvalidRequest
from sheetledger.sandbox.sheets.formats import parse_user_entered
from sheetledger.sandbox.sheets.model import Sheet, Spreadsheet
from sheetledger.sandbox.sheets.sheet_requests import SheetRequests


class PeopleEdits(DriveApi, CopyPasteRequests, SheetRequests):
    """A person's edits go through the API's own code, so everything moves alike."""

    def create_spreadsheet(
        self,
        title: str,
        sheets: Iterable[Any] | None = None,
        *,
        shared_with: Iterable[str] = (),
        owner: str = PERSON,
        locale: str = "en_US",
        role: str = "writer",
    ) -> str:
        """A spreadsheet made by a person (``owner``), shared with ``shared_with``; returns its id.

        ``sheets``: titles, or dicts ``{"title", "rows", "cols", "values": [[...]]}``
        (values typed RAW, or as a person types them with ``"user_entered": True``).
        """
        with self.lock:
            book = self._new_book(title, owner, locale=locale, sheets=sheets)
            for email in shared_with:
                self._add_permission(book, "user", role, email)
            return book.id

    def share(self, spreadsheet_id: str, email: str, role: str = "writer") -> None:
        """The owner shares the file with ``email`` (e.g. the daemon's service account)."""
        with self.lock:
            self._add_permission(self._person_book(spreadsheet_id), "user", role, email)

    def _person_book(self, spreadsheet_id: str) -> Spreadsheet:
        book = self.spreadsheets.get(spreadsheet_id)
        if book is None:
            raise KeyError(f"no spreadsheet {spreadsheet_id!r}")
        return book

    def _person_sheet(self, spreadsheet_id: str, sheet_title: str) -> tuple[Spreadsheet, Sheet]:
        book = self._person_book(spreadsheet_id)
        sheet = book.sheet_by_title(sheet_title)
        if sheet is None:
            raise KeyError(f"no tab {sheet_title!r} in {spreadsheet_id!r}")
        return book, sheet

    def _person_edit(self, spreadsheet_id: str, edit: Callable[[Spreadsheet], Any]) -> Any:
        """Run a person's edit all-or-nothing, like a batchUpdate, and mark the file changed."""
        with self.lock:
            book = self._person_book(spreadsheet_id)
            work = book.fork()
            try:
                result = edit(work)
            except (InvalidRequest, HTTPError) as exc:
                raise ValueError(f"the edit was refused: {self._describe(exc)}") from exc
            work.settle()
            self.spreadsheets[spreadsheet_id] = work
            self._touch(work)
            self.changed.set()
            return result

    @staticmethod
    def _describe(exc: Exception) -> str:
        if isinstance(exc, HTTPError):
            return str(json.loads(exc.response.body)["error"]["message"])
        return str(exc)

    def type_cell(
        self, spreadsheet_id: str, a1: str, value: Any, user_entered: bool = True
    ) -> None:
        """A person types ``value`` into one cell (``TRUE`` ticks a checkbox, ``=`` a formula)."""

        def edit(book: Spreadsheet) -> None:
            sheet, bounds = self._resolve(book, a1)
            anchor = (bounds.start_row or 0, bounds.start_col or 0)
            self._plan_write(book, sheet, bounds, [[value]], a1, anchor=anchor)
            self._store(
                book,
                sheet,
                anchor[0],
                anchor[1],
                [[value]],
                "USER_ENTERED" if user_entered else "RAW",
            )

        self._person_edit(spreadsheet_id, edit)

    def tick(self, spreadsheet_id: str, a1: str, checked: bool = True) -> None:
        """A person clicks a checkbox: stores its checked/unchecked value (custom ones too)."""

        def edit(book: Spreadsheet) -> None:
            sheet, bounds = self._resolve(book, a1)
            r, c = bounds.start_row or 0, bounds.start_col or 0
            self._plan_write(book, sheet, bounds, [[True]], a1, anchor=(r, c))
            rule = (sheet.extra(r, c) or {}).get("dataValidation") or {}
            condition = rule.get("condition") or {}
            value: Any = checked
            custom = [v.get("userEnteredValue") for v in condition.get("values") or []]
            if condition.get("type") == "BOOLEAN" and custom:
                value = custom[0] if checked else (custom[1] if len(custom) > 1 else None)
                value = (
                    parse_user_entered(value, book.locale)[0] if isinstance(value, str) else value
                )
            sheet.set_value(r, c, value)

        self._person_edit(spreadsheet_id, edit)

    def insert_rows(
        self, spreadsheet_id: str, sheet_title: str, at_row: int, count: int = 1
    ) -> None:
        """A person inserts ``count`` rows so the first new one is row ``at_row`` (1-based)."""
        self._person_rows(spreadsheet_id, sheet_title, at_row, count, insert=True)

    def delete_rows(
        self, spreadsheet_id: str, sheet_title: str, at_row: int, count: int = 1
    ) -> None:
        """A person deletes rows ``at_row`` .. ``at_row + count - 1`` (1-based)."""
        self._person_rows(spreadsheet_id, sheet_title, at_row, count, insert=False)

    def _person_rows(
        self, spreadsheet_id: str, sheet_title: str, at_row: int, count: int, *, insert: bool
    ) -> None:
        """Insert or delete rows as a person, through the API's own dimension requests."""

        def edit(book: Spreadsheet) -> None:
            sheet = book.sheet_by_title(sheet_title)
            if sheet is None:
                raise KeyError(f"no tab {sheet_title!r}")
            rows = {
                "sheetId": sheet.sheet_id,
                "dimension": "ROWS",
                "startIndex": at_row - 1,
                "endIndex": at_row - 1 + count,
            }
            if insert:
                request = {"range": rows, "inheritFromBefore": at_row > 1}
                self._req_insertDimension(book, request, PERSON)
            else:
                self._req_deleteDimension(book, {"range": rows}, PERSON)

        self._person_edit(spreadsheet_id, edit)

    def sort_range(
        self,
        spreadsheet_id: str,
        sheet_title: str,
        column_letter: str,
        ascending: bool = True,
        header_rows: int = 1,
    ) -> None:
        """A person sorts the tab below its header by one column ("Sort sheet A -> Z")."""

        def edit(book: Spreadsheet) -> None:
            sheet = book.sheet_by_title(sheet_title)
            if sheet is None:
                raise KeyError(f"no tab {sheet_title!r}")
            spec = {
                "dimensionIndex": column_index(column_letter),
                "sortOrder": "ASCENDING" if ascending else "DESCENDING",
            }
            self._req_sortRange(
                book,
                {
                    "range": {"sheetId": sheet.sheet_id, "startRowIndex": header_rows},
                    "sortSpecs": [spec],
                },
                PERSON,
            )

        self._person_edit(spreadsheet_id, edit)

    def cut_paste_rows(
        self, spreadsheet_id: str, sheet_title: str, from_row: int, to_row: int, count: int = 1
    ) -> None:
        """A person cuts rows ``from_row``.. (1-based) and pastes them over row ``to_row``.

        Ctrl+X on the row headers, Ctrl+V on another row: the cells move (values,
        formats, checkboxes), the cut rows stay behind empty and the rows pasted over
        are overwritten - the API's own cutPaste, so nothing else moves with them.
        """

        def edit(book: Spreadsheet) -> None:
            sheet = book.sheet_by_title(sheet_title)
            if sheet is None:
                raise KeyError(f"no tab {sheet_title!r}")
            rows = {
                "sheetId": sheet.sheet_id,
                "startRowIndex": from_row - 1,
                "endRowIndex": from_row - 1 + count,
            }
            at = {"sheetId": sheet.sheet_id, "rowIndex": to_row - 1, "columnIndex": 0}
            self._req_cutPaste(book, {"source": rows, "destination": at}, PERSON)

        self._person_edit(spreadsheet_id, edit)

    def rename_header(self, spreadsheet_id: str, sheet_title: str, old: str, new: str) -> None:
        """A person renames a column by retyping its header cell in row 1."""

        def edit(book: Spreadsheet) -> None:
            sheet = book.sheet_by_title(sheet_title)
            if sheet is None:
                raise KeyError(f"no tab {sheet_title!r}")
            header = sheet.cells[0] if sheet.cells else []
            for c, value in enumerate(header):
                if value == old:
                    sheet.set_value(0, c, new)
                    return
            raise InvalidRequest(f"no header {old!r} in row 1 of {sheet_title!r}")

        self._person_edit(spreadsheet_id, edit)

    def delete_sheet(self, spreadsheet_id: str, sheet_title: str) -> None:
        """A person deletes a whole tab (right-click on it → Delete)."""

        def edit(book: Spreadsheet) -> None:
            sheet = book.sheet_by_title(sheet_title)
            if sheet is None:
                raise KeyError(f"no tab {sheet_title!r}")
            self._req_deleteSheet(book, {"sheetId": sheet.sheet_id}, PERSON)

        self._person_edit(spreadsheet_id, edit)

    def values(self, spreadsheet_id: str, sheet_title: str) -> list[list[Any]]:
        """The tab's values, unformatted and trimmed like the API (for assertions)."""
        with self.lock:
            book, sheet = self._person_sheet(spreadsheet_id, sheet_title)
            return self._render_rows(
                book,
                sheet,
                0,
                sheet.row_count,
                0,
                sheet.column_count,
                "UNFORMATTED_VALUE",
                "SERIAL_NUMBER",
            )

    def metadata(self, spreadsheet_id: str) -> list[dict[str, Any]]:
        """Every developer metadata entry of a spreadsheet, as the API shows it."""
        with self.lock:
            return [m.as_json() for m in self._person_book(spreadsheet_id).metadata]

    # -- HTTP twins of the people controls ----------------------------------------------

    _OPS: ClassVar[dict[str, tuple[str, tuple[str, ...]]]] = {
        "type": ("type_cell", ("spreadsheet_id", "a1", "value", "user_entered")),
        "tick": ("tick", ("spreadsheet_id", "a1", "checked")),
        "insert_rows": ("insert_rows", ("spreadsheet_id", "sheet_title", "at_row", "count")),
        "delete_rows": ("delete_rows", ("spreadsheet_id", "sheet_title", "at_row", "count")),
        "cut_paste": (
            "cut_paste_rows",
            ("spreadsheet_id", "sheet_title", "from_row", "to_row", "count"),
        ),
        "sort": (
            "sort_range",
            ("spreadsheet_id", "sheet_title", "column", "ascending", "header_rows"),
        ),
        "rename_header": ("rename_header", ("spreadsheet_id", "sheet_title", "old", "new")),
        "delete_sheet": ("delete_sheet", ("spreadsheet_id", "sheet_title")),
        "share": ("share", ("spreadsheet_id", "email", "role")),
    }

    def _op_call(self, op: str, body: dict[str, Any]) -> Callable[[], Any]:
        if op not in self._OPS:
            raise HTTPError(
                Response.json({"error": f"unknown op {op!r}; one of {sorted(self._OPS)}"}, 400)
            )
        method, keys = self._OPS[op]
        kwargs = {("column_letter" if k == "column" else k): body[k] for k in keys if k in body}
        missing = [k for k in keys[:2] if k not in body]
        if missing:
            raise HTTPError(Response.json({"error": f"missing {missing}"}, 400))
        return lambda: getattr(self, method)(**kwargs)

    def _control(self, op: str, request: Request) -> Response:
        call = self._op_call(op, request.json() or {})
        try:
            call()
        except (KeyError, ValueError) as exc:
            return Response.json({"error": str(exc)}, 400)
        return Response.json({"ok": True})

    @route("POST", r"/_sandbox/(?P<op>" + "|".join(_OPS) + ")")  # every op of the table above
    def control_op(self, request: Request, op: str) -> Response:
        return self._control(op, request)

    @route("POST", r"/_sandbox/edit")
    def control_scheduled_edit(self, request: Request) -> Response:
        body = request.json() or {}
        call = self._op_call(str(body.get("op", "")), body)

        def edit_quietly() -> None:
            # A refused scheduled edit must not turn the daemon's request into a 500.
            try:
                call()
            except (KeyError, ValueError) as exc:
                self.failed_edits.append(f"{body.get('op')}: {exc}")

        fault = self.before_next(
            edit_quietly, match=str(body.get("match", "")), count=int(body.get("count", 1))
        )
        return Response.json(fault.as_dict(), 201)

    @route("POST", r"/_sandbox/spreadsheets")
    def control_create(self, request: Request) -> Response:
        body = request.json() or {}
        sid = self.create_spreadsheet(
            body.get("title") or "Untitled spreadsheet",
            body.get("sheets"),
            shared_with=body.get("shared_with") or (),
            owner=body.get("owner") or PERSON,
            locale=body.get("locale") or "en_US",
        )
        return Response.json({"spreadsheetId": sid}, 201)

    @route("GET", r"/_sandbox/values")
    def control_values(self, request: Request) -> Response:
        try:
            rows = self.values(
                request.arg("spreadsheet_id") or "", request.arg("sheet_title") or ""
            )
        except KeyError as exc:
            return Response.json({"error": str(exc)}, 404)
        return Response.json({"values": rows})

    @route("GET", r"/_sandbox/service_account")
    def control_service_account(self, request: Request) -> Response:
        host = request.headers.get("Host") or "127.0.0.1"
        return Response.json(
            self.service_account_info(f"http://{host}/token", request.arg("email"))
        )

    @route("POST", r"/_sandbox/oauth_client")
    def control_oauth_client(self, request: Request) -> Response:
        """An installed app's client secrets (``sheetledger auth google --client-secrets``)."""
        host = request.headers.get("Host") or "127.0.0.1"
        return Response.json(self.installed_app_secrets(f"http://{host}"), 201)

    @route("POST", r"/_sandbox/sign_in")
    def control_sign_in(self, request: Request) -> Response:
        """Who is at the browser of the consent page; ``allow: false`` declines."""
        body = request.json() or {}
        email = body.get("email")
        self.issuer.sign_in(str(email) if email else None, allow=bool(body.get("allow", True)))
        return Response.json({"email": email, "allow": bool(body.get("allow", True))})

    @route("POST", r"/_sandbox/token")
    def control_token(self, request: Request) -> Response:
        body = request.json() or {}
        return Response.json({"access_token": self.access_token(body.get("email"))})

    @route("PUT", r"/_sandbox/quota")
    def control_quota(self, request: Request) -> Response:
        body = request.json() or {}
        self.quota_per_minute = {
            k: int(v) for k, v in body.items() if k in ("read", "write")
        } or None
        return Response.json({"quota_per_minute": self.quota_per_minute})
