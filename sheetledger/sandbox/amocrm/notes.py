"""Lead notes: adding them in batches and listing them by lead, type and time."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from sheetledger.sandbox.amocrm.core import AmoCore
from sheetledger.sandbox.amocrm.wire import (
    _NOT_A_CHOICE,
    _NOT_BLANK,
    _NOT_EXPECTED,
    PAGE_LIMIT_MAX,
    AmoValidationFailed,
    _array_param,
    _hal,
    _ints,
    _is_int,
    _order,
    _Problems,
    _range_param,
    _request_id,
    _validation_failed,
)
from sheetledger.sandbox.server import Request, Response, route

NOTE_TYPES = frozenset(
    {
        "common",
        "call_in",
        "call_out",
        "service_message",
        "extended_service_message",
        "message_cashier",
        "geolocation",
        "sms_in",
        "sms_out",
        "attachment",
    }
)
_NOTE_REQUIRED_PARAMS = {
    "common": ("text",),
    "service_message": ("service", "text"),
    "extended_service_message": ("service", "text"),
}

_NOTE_WRITABLE = frozenset(
    {
        "entity_id",
        "note_type",
        "params",
        "created_by",
        "responsible_user_id",
        "request_id",
        "is_need_to_trigger_digital_pipeline",
        "created_at",
        "updated_at",
    }
)


class Notes(AmoCore):
    """Lead notes: adding them in batches and listing them by lead, type and time."""

    def _prepare_note(
        self, item: Any, rid: str, problems: _Problems, entity_id: int | None
    ) -> dict[str, Any] | None:
        if not isinstance(item, dict):
            problems.add(rid, "InvalidType", "", "This value should be of type object.")
            return None
        for key in item:
            if key not in _NOTE_WRITABLE:
                problems.add(rid, "FieldNotExpected", key, _NOT_EXPECTED)
        lead_id = entity_id if entity_id is not None else item.get("entity_id")
        if not _is_int(lead_id):
            problems.add(rid, "NotBlank", "entity_id", _NOT_BLANK)
        elif lead_id not in self._leads:
            problems.add(rid, "NotSupportedChoice", "entity_id", _NOT_A_CHOICE)
        note_type = item.get("note_type")
        params = item.get("params")
        if note_type not in NOTE_TYPES:
            problems.add(rid, "NotSupportedChoice", "note_type", _NOT_A_CHOICE)
        elif not isinstance(params, dict):
            problems.add(rid, "NotBlank", "params", _NOT_BLANK)
        else:
            for name in _NOTE_REQUIRED_PARAMS.get(str(note_type), ()):
                if not isinstance(params.get(name), str) or not params[name]:
                    problems.add(rid, "NotBlank", f"params.{name}", _NOT_BLANK)
        if problems.by_request.get(rid):
            return None
        now = self._now()
        author = item.get("created_by") if _is_int(item.get("created_by")) else self.current_user_id
        return {
            "id": 0,
            "entity_id": lead_id,
            "created_by": author,
            "updated_by": author,
            "created_at": item["created_at"] if _is_int(item.get("created_at")) else now,
            "updated_at": item["updated_at"] if _is_int(item.get("updated_at")) else now,
            "responsible_user_id": (
                item["responsible_user_id"]
                if _is_int(item.get("responsible_user_id"))
                else self.current_user_id
            ),
            "group_id": 0,
            "note_type": note_type,
            "params": copy.deepcopy(params),
            "account_id": self.account["id"],
        }

    def _commit_note(self, note: dict[str, Any]) -> dict[str, Any]:
        note["id"] = self._new_id("note")
        self._notes[note["id"]] = note
        self._notes_by_lead.setdefault(note["entity_id"], []).append(note["id"])
        return note

    def add_note(
        self, lead_id: int, note_type: str = "common", params: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Add a note to a lead with the API's validation; returns the note as listed."""
        with self.lock:
            problems = _Problems()
            note = self._prepare_note(
                {"entity_id": lead_id, "note_type": note_type, "params": dict(params or {})},
                "0",
                problems,
                None,
            )
            if problems or note is None:
                raise AmoValidationFailed(problems.as_list())
            return copy.deepcopy(self._render_note(self._commit_note(note), self._origin(None)))

    def notes_of(self, lead_id: int) -> list[dict[str, Any]]:
        """The lead's notes, oldest first (copies)."""
        with self.lock:
            origin = self._origin(None)
            return [
                copy.deepcopy(self._render_note(self._notes[i], origin))
                for i in self._notes_by_lead.get(lead_id, [])
            ]

    def _render_note(self, note: dict[str, Any], origin: str) -> dict[str, Any]:
        href = f"{origin}/api/v4/leads/{note['entity_id']}/notes/{note['id']}"
        return {**note, "_links": {"self": {"href": href}}}

    def _post_notes(self, request: Request, entity_id: int | None) -> Response:
        items = self._read_batch(request)
        origin = self._origin(request)
        with self.lock:
            problems = _Problems()
            prepared = []
            for index, item in enumerate(items):
                rid = _request_id(item, index)
                prepared.append((rid, self._prepare_note(item, rid, problems, entity_id)))
            if problems:
                return _validation_failed(problems)
            out = []
            for rid, note in prepared:
                assert note is not None
                self._commit_note(note)
                rendered = self._render_note(note, origin)
                out.append(
                    {
                        "id": note["id"],
                        "entity_id": note["entity_id"],
                        "request_id": rid,
                        "_links": rendered["_links"],
                    }
                )
        return _hal(
            {
                "_links": {"self": {"href": f"{origin}{request.raw_path}"}},
                "_embedded": {"notes": out},
            }
        )

    @route("POST", r"/api/v4/leads/notes/?", kind="write")
    def _post_lead_notes(self, request: Request) -> Response:
        return self._post_notes(request, None)

    @route("POST", r"/api/v4/leads/(?P<lead_id>\d+)/notes/?", kind="write")
    def _post_one_lead_notes(self, request: Request, lead_id: str) -> Response:
        return self._post_notes(request, int(lead_id))

    def _list_notes(self, request: Request, lead_ids: set[int] | None) -> Response:
        page, limit = self._paging(request, PAGE_LIMIT_MAX)
        query = request.query
        types = set(_array_param(query, "filter[note_type]") or ()) or None
        note_ids = set(_ints(_array_param(query, "filter[id]") or ())) or None
        low, high = _range_param(query, "filter[updated_at]")
        origin = self._origin(request)
        with self.lock:
            if lead_ids is None:
                candidates: Iterable[int] = self._notes
            else:
                candidates = [
                    n for lid in sorted(lead_ids) for n in self._notes_by_lead.get(lid, [])
                ]
            found = []
            for note_id in candidates:
                note = self._notes[note_id]
                if types is not None and note["note_type"] not in types:
                    continue
                if note_ids is not None and note_id not in note_ids:
                    continue
                if (low is not None and note["updated_at"] < low) or (
                    high is not None and note["updated_at"] > high
                ):
                    continue
                found.append(note)
            key, desc = _order(query, ("updated_at", "id"))
            found.sort(key=lambda n: (n[key], n["id"]), reverse=desc)
            chunk = found[(page - 1) * limit : page * limit]
            if not chunk:
                return Response.empty()
            return _hal(
                {
                    "_page": page,
                    "_links": self._page_links(request, page, len(chunk) == limit),
                    "_embedded": {"notes": [self._render_note(n, origin) for n in chunk]},
                }
            )

    @route("GET", r"/api/v4/leads/notes/?", kind="read")
    def _get_notes(self, request: Request) -> Response:
        entity = _array_param(request.query, "filter[entity_id]")
        return self._list_notes(request, None if entity is None else set(_ints(entity)))

    @route("GET", r"/api/v4/leads/(?P<lead_id>\d+)/notes/?", kind="read")
    def _get_lead_notes(self, request: Request, lead_id: str) -> Response:
        return self._list_notes(request, {int(lead_id)})

    @route("GET", r"/api/v4/leads/(?P<lead_id>\d+)/notes/(?P<note_id>\d+)/?", kind="read")
    def _get_note(self, request: Request, lead_id: str, note_id: str) -> Response:
        with self.lock:
            note = self._notes.get(int(note_id))
            if note is None or note["entity_id"] != int(lead_id):
                return Response.empty()
            return _hal(self._render_note(note, self._origin(request)))
