"""Lead custom fields: their definitions and the values a lead carries."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from datetime import datetime
from datetime import time as dt_time
from typing import Any

from sheetledger.sandbox.amocrm.core import AmoCore
from sheetledger.sandbox.amocrm.wire import (
    _NOT_A_CHOICE,
    _NOT_BLANK,
    _NOT_EXPECTED,
    FIELDS_PAGE_MAX,
    AmoValidationFailed,
    _array_param,
    _hal,
    _is_int,
    _is_number,
    _order,
    _Problems,
    _request_id,
    _timestamp,
    _validation_failed,
)
from sheetledger.sandbox.server import Request, Response, route

# Lead custom-field types the emulator stores and validates.
FIELD_TYPES = frozenset(
    {
        "text",
        "numeric",
        "checkbox",
        "select",
        "multiselect",
        "date",
        "url",
        "textarea",
        "radiobutton",
        "date_time",
        "streetaddress",
        "birthday",
    }
)
_ENUM_TYPES = frozenset({"select", "multiselect", "radiobutton"})
_TEXT_TYPES = frozenset({"text", "textarea", "url", "streetaddress"})
_DATE_TYPES = frozenset({"date", "birthday"})  # stored as local midnight of the account zone

_FIELD_WRITABLE = frozenset(
    {
        "name",
        "type",
        "sort",
        "code",
        "enums",
        "is_api_only",
        "required_statuses",
        "group_id",
        "settings",
        "remind",
        "request_id",
    }
)


class Fields(AmoCore):
    """Lead custom fields: their definitions and the values a lead carries."""

    def add_field(
        self,
        name: str,
        type: str,  # the API's own key
        enums: Sequence[str] = (),
        *,
        code: str | None = None,
        sort: int | None = None,
        is_api_only: bool = False,
    ) -> dict[str, Any]:
        """Add a lead custom field; for select types ``enums`` are the option texts, in order."""
        spec: dict[str, Any] = {
            "name": name,
            "type": type,
            "code": code,
            "is_api_only": is_api_only,
        }
        if sort is not None:
            spec["sort"] = sort
        if enums:
            spec["enums"] = [{"value": text, "sort": 500 + 10 * i} for i, text in enumerate(enums)]
        with self.lock:
            problems = _Problems()
            prepared = self._prepare_field(spec, "0", problems)
            if problems or prepared is None:
                raise AmoValidationFailed(problems.as_list())
            self._fields[prepared["id"]] = prepared
            return self._render_field(prepared, self._origin(None))

    def _prepare_field(self, spec: Any, rid: str, problems: _Problems) -> dict[str, Any] | None:
        if not isinstance(spec, dict):
            problems.add(rid, "InvalidType", "", "This value should be of type object.")
            return None
        for key in spec:
            if key not in _FIELD_WRITABLE:
                problems.add(rid, "FieldNotExpected", key, _NOT_EXPECTED)
        name, kind = spec.get("name"), spec.get("type")
        if not isinstance(name, str) or not name.strip():
            problems.add(rid, "NotBlank", "name", _NOT_BLANK)
        if kind not in FIELD_TYPES:
            problems.add(rid, "NotSupportedChoice", "type", _NOT_A_CHOICE)
        enums_in = spec.get("enums")
        if kind in _ENUM_TYPES:
            if not isinstance(enums_in, list) or not enums_in:
                problems.add(rid, "NotBlank", "enums", _NOT_BLANK)
            else:
                for i, enum in enumerate(enums_in):
                    if not isinstance(enum, dict) or not isinstance(enum.get("value"), str):
                        problems.add(
                            rid,
                            "InvalidType",
                            f"enums.{i}.value",
                            "This value should be of type string.",
                        )
        elif enums_in is not None:
            problems.add(rid, "FieldNotExpected", "enums", _NOT_EXPECTED)
        sort = spec.get("sort", 500 + len(self._fields))
        if not _is_int(sort):
            problems.add(rid, "InvalidType", "sort", "This value should be of type int.")
        if problems.by_request.get(rid):
            return None
        field_id = self._new_id("field")
        enums = None
        if kind in _ENUM_TYPES:
            enums = [
                {
                    "id": self._new_id("enum"),
                    "value": e["value"],
                    "sort": e.get("sort", 500 + 10 * i) if _is_int(e.get("sort")) else 500 + 10 * i,
                    "code": e.get("code"),
                }
                for i, e in enumerate(enums_in or [])
            ]
        return {
            "id": field_id,
            "name": name.strip() if isinstance(name, str) else "",
            "type": kind,
            "code": spec.get("code"),
            "sort": sort,
            "is_api_only": bool(spec.get("is_api_only", False)),
            "enums": enums,
            "group_id": spec.get("group_id"),
            "required_statuses": spec.get("required_statuses") or [],
            "settings": spec.get("settings"),
            "remind": spec.get("remind"),
        }

    def _render_field(self, field: dict[str, Any], origin: str) -> dict[str, Any]:
        # The union of the docs' keys (fixture) and the keys real (Kommo) definitions carry.
        return {
            "id": field["id"],
            "name": field["name"],
            "type": field["type"],
            "account_id": self.account["id"],
            "code": field["code"],
            "sort": field["sort"],
            "is_api_only": field["is_api_only"],
            "enums": copy.deepcopy(field["enums"]),
            "group_id": field["group_id"],
            "required_statuses": copy.deepcopy(field["required_statuses"]),
            "is_deletable": True,
            "is_predefined": False,
            "entity_type": "leads",
            "tracking_callback": None,
            "remind": field["remind"],
            "triggers": [],
            "currency": None,
            "hidden_statuses": [],
            "chained_lists": None,
            "settings": field["settings"],
            "_links": {"self": {"href": f"{origin}/api/v4/leads/custom_fields/{field['id']}"}},
        }

    @route("GET", r"/api/v4/leads/custom_fields/?", kind="read")
    def _get_fields(self, request: Request) -> Response:
        page, limit = self._paging(request, FIELDS_PAGE_MAX)
        types = set(_array_param(request.query, "filter[type]") or ())
        origin = self._origin(request)
        with self.lock:
            fields = [f for f in self._fields.values() if not types or f["type"] in types]
            key, desc = _order(request.query, ("sort", "id"))
            fields.sort(key=lambda f: (f[key], f["id"]), reverse=desc)
            chunk = fields[(page - 1) * limit : page * limit]
            if not chunk:
                return Response.empty()
            page_count = -(-len(fields) // limit)
            return _hal(
                {
                    "_total_items": len(fields),
                    "_page": page,
                    "_page_count": page_count,
                    "_links": self._page_links(request, page, page < page_count, page_count),
                    "_embedded": {"custom_fields": [self._render_field(f, origin) for f in chunk]},
                }
            )

    @route("GET", r"/api/v4/leads/custom_fields/(?P<field_id>\d+)/?", kind="read")
    def _get_field(self, request: Request, field_id: str) -> Response:
        with self.lock:
            field = self._fields.get(int(field_id))
            if field is None:
                return Response.empty()
            return _hal(self._render_field(field, self._origin(request)))

    @route("POST", r"/api/v4/leads/custom_fields/?", kind="write")
    def _post_fields(self, request: Request) -> Response:
        items = self._read_batch(request)
        origin = self._origin(request)
        with self.lock:
            problems = _Problems()
            saved_ids = dict(self._next_ids)
            prepared = []
            for index, item in enumerate(items):
                rid = _request_id(item, index)
                prepared.append((rid, self._prepare_field(item, rid, problems)))
            if problems:
                self._next_ids = saved_ids  # nothing was created: hand the ids back
                return _validation_failed(problems)
            out = []
            for rid, field in prepared:
                assert field is not None
                self._fields[field["id"]] = field
                out.append({**self._render_field(field, origin), "request_id": rid})
        # 201 Created, as for users (docs/api-notes.md, "amoCRM: field values").
        return _hal({"_total_items": len(out), "_embedded": {"custom_fields": out}}, 201)

    # -- custom field values -----------------------------------------------------------

    def _field_by_ref(self, ref: dict[str, Any]) -> dict[str, Any] | None:
        field_id = ref.get("field_id")
        if isinstance(field_id, int):
            return self._fields.get(field_id)
        code = ref.get("field_code")
        if isinstance(code, str):
            return next((f for f in self._fields.values() if f["code"] == code), None)
        return None

    def _local_midnight(self, value: Any) -> int | None:
        """A date value as the real account stores it: midnight of its day, account zone."""
        moment: datetime | None = None
        if _is_int(value):
            moment = datetime.fromtimestamp(value, self._tz)
        elif isinstance(value, str):
            text = value.strip()
            if text.lstrip("-").isdigit():
                moment = datetime.fromtimestamp(int(text), self._tz)
            else:
                try:
                    parsed = datetime.fromisoformat(text)
                except ValueError:
                    return None
                moment = parsed if parsed.tzinfo else parsed.replace(tzinfo=self._tz)
                moment = moment.astimezone(self._tz)
        if moment is None:
            return None
        midnight = datetime.combine(moment.date(), dt_time(0), tzinfo=self._tz)
        return int(midnight.timestamp())

    def _prepare_values(
        self, field: dict[str, Any], values: list[Any], path: str, rid: str, problems: _Problems
    ) -> list[dict[str, Any]]:
        kind = field["type"]
        out: list[dict[str, Any]] = []
        allowed = {"value", "enum_id", "enum_code"} if kind in _ENUM_TYPES else {"value"}
        if kind in ("select", "radiobutton") and len(values) > 1:
            problems.add(
                rid, "InvalidType", path, "This collection should contain 1 element or less."
            )
            return out
        for j, item in enumerate(values):
            where = f"{path}.{j}"
            if not isinstance(item, dict):
                problems.add(rid, "InvalidType", where, "This value should be of type object.")
                continue
            for key in item:
                if key not in allowed:
                    problems.add(rid, "FieldNotExpected", f"{where}.{key}", _NOT_EXPECTED)
            value = item.get("value")
            if kind in _ENUM_TYPES:
                enums = field["enums"] or []
                if "enum_id" in item:
                    enum = next((e for e in enums if e["id"] == item["enum_id"]), None)
                    where_bad = f"{where}.enum_id"
                elif "enum_code" in item and item["enum_code"] is not None:
                    enum = next((e for e in enums if e.get("code") == item["enum_code"]), None)
                    where_bad = f"{where}.enum_code"
                else:
                    enum = next((e for e in enums if e["value"] == value), None)
                    where_bad = f"{where}.value"
                if enum is None:
                    problems.add(rid, "NotSupportedChoice", where_bad, _NOT_A_CHOICE)
                    continue
                out.append(
                    {"value": enum["value"], "enum_id": enum["id"], "enum_code": enum.get("code")}
                )
            elif kind == "numeric":
                text = str(value) if _is_int(value) or isinstance(value, float) else value
                if not isinstance(text, str) or not _is_number(text):
                    problems.add(
                        rid,
                        "InvalidType",
                        f"{where}.value",
                        "This value should be of type numeric.",
                    )
                    continue
                out.append({"value": text.strip()})  # read back as a string, like the real one
            elif kind == "checkbox":
                if not isinstance(value, bool):
                    problems.add(
                        rid, "InvalidType", f"{where}.value", "This value should be of type bool."
                    )
                    continue
                out.append({"value": value})
            elif kind in _DATE_TYPES or kind == "date_time":
                stamp = self._local_midnight(value) if kind in _DATE_TYPES else _timestamp(value)
                if stamp is None:
                    problems.add(
                        rid,
                        "InvalidType",
                        f"{where}.value",
                        "This value should be a timestamp or a date string.",
                    )
                    continue
                out.append({"value": stamp})
            else:  # text-like
                if isinstance(value, bool) or not isinstance(value, str | int | float):
                    problems.add(
                        rid, "InvalidType", f"{where}.value", "This value should be of type string."
                    )
                    continue
                out.append({"value": str(value)})
        return out

    def _merge_custom_fields(
        self,
        current: list[dict[str, Any]] | None,
        incoming: Any,
        rid: str,
        problems: _Problems,
    ) -> list[dict[str, Any]] | None:
        if incoming is None:
            return current
        if not isinstance(incoming, list):
            problems.add(
                rid, "InvalidType", "custom_fields_values", "This value should be of type array."
            )
            return current
        merged = {cf["field_id"]: cf for cf in (current or [])}
        order = [cf["field_id"] for cf in (current or [])]
        for i, ref in enumerate(incoming):
            path = f"custom_fields_values.{i}"
            if not isinstance(ref, dict):
                problems.add(rid, "InvalidType", path, "This value should be of type object.")
                continue
            for key in ref:
                if key not in ("field_id", "field_code", "values"):
                    # field_name/field_type are read-only: sending them back fails (GH#366).
                    problems.add(rid, "FieldNotExpected", f"{path}.{key}", _NOT_EXPECTED)
            field = self._field_by_ref(ref)
            if field is None:
                where = "field_id" if "field_id" in ref else "field_code"
                problems.add(rid, "NotSupportedChoice", f"{path}.{where}", _NOT_A_CHOICE)
                continue
            values = ref.get("values")
            if values is None or values == []:
                # "values": null clears the field (GH#352); an empty list likewise.
                merged.pop(field["id"], None)
                continue
            if not isinstance(values, list):
                problems.add(
                    rid, "InvalidType", f"{path}.values", "This value should be of type array."
                )
                continue
            prepared = self._prepare_values(field, values, f"{path}.values", rid, problems)
            if not prepared:
                continue
            if field["id"] not in order:
                order.append(field["id"])
            merged[field["id"]] = {
                "field_id": field["id"],
                "field_name": field["name"],
                "field_code": field["code"],
                "field_type": field["type"],
                "values": prepared,
            }
        result = [merged[fid] for fid in order if fid in merged]
        return result or None  # null, not [], when nothing is filled
