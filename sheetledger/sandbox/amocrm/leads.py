"""Leads: validation of a whole batch, placement in pipelines, tags, filtered lists."""

from __future__ import annotations

import copy
import urllib.parse
from collections.abc import Mapping
from typing import Any

from sheetledger.sandbox.amocrm.fields import Fields
from sheetledger.sandbox.amocrm.loss_reasons import LossReasons
from sheetledger.sandbox.amocrm.pipelines import STATUS_LOST, STATUS_WON, UNSORTED_TYPE, Pipelines
from sheetledger.sandbox.amocrm.wire import (
    _NOT_A_CHOICE,
    _NOT_BLANK,
    _NOT_EXPECTED,
    PAGE_LIMIT_MAX,
    AmoValidationFailed,
    _array_param,
    _dumps,
    _hal,
    _ints,
    _is_int,
    _order,
    _problem,
    _Problems,
    _range_param,
    _request_id,
    _status_pairs,
    _validation_failed,
    _with,
)
from sheetledger.sandbox.server import Request, Response, route

_LEAD_WRITABLE = frozenset(
    {
        "id",
        "name",
        "price",
        "status_id",
        "pipeline_id",
        "created_by",
        "updated_by",
        "closed_at",
        "created_at",
        "updated_at",
        "loss_reason_id",
        "responsible_user_id",
        "custom_fields_values",
        "tags_to_add",
        "tags_to_delete",
        "_embedded",
        "request_id",
    }
)


class Leads(Pipelines, Fields, LossReasons):
    """Leads: validation of a whole batch, placement in pipelines, tags, filtered lists."""

    def _prepare_lead(
        self, item: Any, rid: str, problems: _Problems, current: dict[str, Any] | None
    ) -> dict[str, Any] | None:
        """The lead after applying ``item`` (a POST body item or a PATCH), or None on errors."""
        if not isinstance(item, dict):
            problems.add(rid, "InvalidType", "", "This value should be of type object.")
            return None
        for key in item:
            if key not in _LEAD_WRITABLE:
                problems.add(rid, "FieldNotExpected", key, _NOT_EXPECTED)
        now = self._now()
        if current is None:
            lead: dict[str, Any] = {
                "id": 0,
                "name": "",
                "price": 0,
                "responsible_user_id": self.current_user_id,
                "group_id": 0,
                "status_id": 0,
                "pipeline_id": 0,
                "loss_reason_id": None,
                "created_by": self.current_user_id,
                "updated_by": self.current_user_id,
                "created_at": now,
                "updated_at": now,
                "closed_at": None,
                "closest_task_at": None,
                "is_deleted": False,
                "custom_fields_values": None,
                "score": None,
                "account_id": self.account["id"],
                "labor_cost": None,
                "tags": [],
            }
        else:
            lead = dict(current)
            lead["tags"] = list(current["tags"])
        for key, kind in (("name", str), ("price", int)):
            if key in item:
                value = item[key]
                if key == "price" and value is None:
                    value = 0
                if not isinstance(value, kind) or isinstance(value, bool):
                    problems.add(
                        rid, "InvalidType", key, f"This value should be of type {kind.__name__}."
                    )
                else:
                    lead[key] = value
        for key in (
            "created_by",
            "updated_by",
            "created_at",
            "updated_at",
            "closed_at",
            "responsible_user_id",
            "pipeline_id",
            "status_id",
        ):
            if (
                key in item
                and not _is_int(item[key])
                and not (key == "closed_at" and item[key] is None)
            ):
                problems.add(rid, "InvalidType", key, "This value should be of type int.")
        if _is_int(item.get("responsible_user_id")):
            if item["responsible_user_id"] not in self._users:
                problems.add(rid, "NotSupportedChoice", "responsible_user_id", _NOT_A_CHOICE)
            else:
                lead["responsible_user_id"] = item["responsible_user_id"]
        group = self._users.get(lead["responsible_user_id"], {}).get("rights", {}).get("group_id")
        lead["group_id"] = group or 0
        self._place_lead(lead, item, rid, problems, current)
        refused = self._give_loss_reason(lead, item.get("loss_reason_id"), rid, problems)
        lead["custom_fields_values"] = self._merge_custom_fields(
            lead["custom_fields_values"], item.get("custom_fields_values"), rid, problems
        )
        self._apply_tags(lead, item)
        if refused or problems.by_request.get(rid):
            return None
        for key in ("created_by", "created_at", "closed_at"):
            if key in item:
                lead[key] = item[key]
        changed = current is None or any(
            lead[k] != current[k] for k in lead if k not in ("updated_at", "updated_by")
        )
        if changed:
            lead["updated_at"] = item["updated_at"] if _is_int(item.get("updated_at")) else now
            lead["updated_by"] = (
                item["updated_by"] if _is_int(item.get("updated_by")) else self.current_user_id
            )
        return lead

    def _give_loss_reason(
        self, lead: dict[str, Any], reason: Any, rid: str, problems: _Problems
    ) -> bool:
        """Set ``loss_reason_id``; True when amoCRM refuses it in its other 400 shape."""
        if reason is None:
            return False
        if not _is_int(reason) or reason not in self._loss_reasons:
            problems.add(rid, "NotSupportedChoice", "loss_reason_id", _NOT_A_CHOICE)
        elif lead["status_id"] != STATUS_LOST:
            # Only a lost lead has a reason; the refusal is keyed by the lead's id (GH#88).
            problems.refuse(
                str(lead["id"] or rid), "Loss reason can be specified only for lost lead"
            )
            return True
        else:
            lead["loss_reason_id"] = reason
        return False

    def _place_lead(
        self,
        lead: dict[str, Any],
        item: dict[str, Any],
        rid: str,
        problems: _Problems,
        current: dict[str, Any] | None,
    ) -> None:
        """Pipeline and status, with 142/143 shared by every pipeline; closed_at follows."""
        pipeline_id = item.get("pipeline_id")
        status_id = item.get("status_id")
        if not _is_int(pipeline_id):
            pipeline_id = lead["pipeline_id"] if current else self._main_pipeline_id()
        if pipeline_id not in self._pipelines:
            problems.add(rid, "NotSupportedChoice", "pipeline_id", _NOT_A_CHOICE)
            return
        if _is_int(status_id):
            status = self._status(pipeline_id, status_id)
            if status is None or status["type"] == UNSORTED_TYPE:
                # A status of another pipeline, or «Неразобранное» (GH#156).
                problems.add(rid, "NotSupportedChoice", "status_id", _NOT_A_CHOICE)
                return
        elif current is None or pipeline_id != lead["pipeline_id"]:
            status_id = self._first_regular_status(pipeline_id)
        else:
            status_id = lead["status_id"]
        was_closed = current is not None and current["status_id"] in (STATUS_WON, STATUS_LOST)
        lead["pipeline_id"], lead["status_id"] = pipeline_id, status_id
        closed = status_id in (STATUS_WON, STATUS_LOST)
        if closed and not was_closed:
            lead["closed_at"] = self._now()
        elif not closed:
            lead["closed_at"] = None

    def _apply_tags(self, lead: dict[str, Any], item: dict[str, Any]) -> None:
        def names(refs: Any) -> list[str]:
            if not isinstance(refs, list):
                return []
            return [str(r["name"]) for r in refs if isinstance(r, dict) and r.get("name")]

        embedded = item.get("_embedded")
        if isinstance(embedded, dict) and "tags" in embedded:
            lead["tags"] = names(embedded["tags"])  # replaces the set; null clears
        for name in names(item.get("tags_to_add")):
            if name not in lead["tags"]:
                lead["tags"].append(name)
        removed = set(names(item.get("tags_to_delete")))
        lead["tags"] = [t for t in lead["tags"] if t not in removed]

    def _tag_id(self, name: str) -> int:
        if name not in self._tags:
            self._tags[name] = self._new_id("tag")
        return self._tags[name]

    def _render_lead(
        self, lead: dict[str, Any], origin: str, query_string: str, with_: set[str]
    ) -> dict[str, Any]:
        out = {k: v for k, v in lead.items() if k != "tags"}
        # Embedded links echo the request's query string, as real answers do (fixture).
        suffix = f"?{query_string}" if query_string else ""
        out["_links"] = {"self": {"href": f"{origin}/api/v4/leads/{lead['id']}{suffix}"}}
        if "source_id" in with_:
            out["source_id"] = None
        if "is_price_modified_by_robot" in with_:
            out["is_price_modified_by_robot"] = False
        embedded: dict[str, Any] = {
            "tags": [{"id": self._tag_id(t), "name": t, "color": None} for t in lead["tags"]],
            "companies": [],
        }
        if "contacts" in with_:
            embedded["contacts"] = []
        if "catalog_elements" in with_:
            embedded["catalog_elements"] = []
        if "loss_reason" in with_:
            reason = self._loss_reasons.get(lead["loss_reason_id"] or 0)
            embedded["loss_reason"] = (
                [] if reason is None else [self._render_loss_reason(reason, origin)]
            )
        out["_embedded"] = embedded
        return out

    def _commit_leads(self, leads: list[dict[str, Any]]) -> None:
        for lead in leads:
            if not lead["id"]:
                lead["id"] = self._new_id("lead")
                if not lead["name"]:
                    lead["name"] = f"Сделка #{lead['id']}"
            self._leads[lead["id"]] = lead
        self._leads_changed()

    def add_lead(
        self,
        name: str = "",
        *,
        price: int = 0,
        pipeline_id: int | None = None,
        status_id: int | None = None,
        responsible_user_id: int | None = None,
        custom_fields_values: list[dict[str, Any]] | None = None,
        created_at: int | None = None,
        **more: Any,
    ) -> dict[str, Any]:
        """Create a lead with the same validation as ``POST /api/v4/leads``; returns it."""
        item: dict[str, Any] = {"name": name, "price": price, **more}
        for key, value in (
            ("pipeline_id", pipeline_id),
            ("status_id", status_id),
            ("responsible_user_id", responsible_user_id),
            ("custom_fields_values", custom_fields_values),
            ("created_at", created_at),
        ):
            if value is not None:
                item[key] = value
        with self.lock:
            problems = _Problems()
            lead = self._prepare_lead(item, "0", problems, None)
            if problems or lead is None:
                raise AmoValidationFailed(problems.as_list())
            self._commit_leads([lead])
            self.changed.set()
            return self._public_lead(lead)

    def update_lead(self, lead_id: int, patch: Mapping[str, Any]) -> dict[str, Any]:
        """Change a lead as ``PATCH /api/v4/leads/{id}`` would (a manager editing the card)."""
        with self.lock:
            current = self._leads.get(lead_id)
            if current is None:
                raise KeyError(lead_id)
            problems = _Problems()
            lead = self._prepare_lead(dict(patch), "0", problems, current)
            if problems or lead is None:
                raise AmoValidationFailed(problems.as_list())
            self._commit_leads([lead])
            self.changed.set()
            return self._public_lead(lead)

    def _public_lead(self, lead: dict[str, Any]) -> dict[str, Any]:
        return copy.deepcopy(self._render_lead(lead, self._origin(None), "", set()))

    def lead(self, lead_id: int) -> dict[str, Any] | None:
        """The lead as ``GET /api/v4/leads/{id}`` shows it (a copy), or None."""
        with self.lock:
            lead = self._leads.get(lead_id)
            return None if lead is None else self._public_lead(lead)

    def leads(self) -> list[dict[str, Any]]:
        """Every lead (copies), by id."""
        with self.lock:
            return [self._public_lead(self._leads[i]) for i in sorted(self._leads)]

    def _lead_ids(self, query: Mapping[str, list[str]]) -> list[int]:
        """Ids matching the filters, in the requested order (cached while leads are unchanged)."""
        key = tuple(
            sorted((k, tuple(v)) for k, v in query.items() if k.startswith(("filter", "order")))
        )
        if self._list_cache_version != self._leads_version:
            self._list_cache.clear()
            self._list_cache_version = self._leads_version
        cached = self._list_cache.get(key)
        if cached is not None:
            return cached
        ids = set(_ints(_array_param(query, "filter[id]") or ())) or None
        pipelines = set(_ints(_array_param(query, "filter[pipeline_id]") or ())) or None
        users = set(_ints(_array_param(query, "filter[responsible_user_id]") or ())) or None
        pairs = set(_status_pairs(query)) or None
        ranges = [
            (name, *_range_param(query, f"filter[{name}]"))
            for name in ("updated_at", "created_at", "closed_at")
        ]
        ranges = [(n, lo, hi) for n, lo, hi in ranges if lo is not None or hi is not None]
        # Unknown filters are silently ignored, as on accounts without the filter option (GH#71).
        found = []
        for lead in self._leads.values():
            if ids is not None and lead["id"] not in ids:
                continue
            if pipelines is not None and lead["pipeline_id"] not in pipelines:
                continue
            if users is not None and lead["responsible_user_id"] not in users:
                continue
            if pairs is not None and (lead["pipeline_id"], lead["status_id"]) not in pairs:
                continue
            if any(
                lead[name] is None
                or (lo is not None and lead[name] < lo)
                or (hi is not None and lead[name] > hi)
                for name, lo, hi in ranges
            ):
                continue
            found.append(lead)
        order_key, desc = _order(query, ("updated_at", "created_at", "id"))
        found.sort(key=lambda lead: (lead[order_key], lead["id"]), reverse=desc)
        result = [lead["id"] for lead in found]
        self._list_cache[key] = result
        return result

    @route("GET", r"/api/v4/leads/?", kind="read")
    def _get_leads(self, request: Request) -> Response:
        page, limit = self._paging(request, PAGE_LIMIT_MAX)
        with_ = _with(request)
        if "only_deleted" in with_:
            return Response.empty()  # nothing is ever in the trash here
        origin = self._origin(request)
        query_string = urllib.parse.urlencode(request.query, doseq=True, safe="[],")
        with self.lock:
            ids = self._lead_ids(request.query)
            chunk = ids[(page - 1) * limit : page * limit]
            if not chunk:
                return Response.empty()
            leads = [self._render_lead(self._leads[i], origin, query_string, with_) for i in chunk]
            body = _dumps(
                {
                    "_page": page,
                    # Real lists offer `next` whenever the page is full, even if the next is empty.
                    "_links": self._page_links(request, page, len(chunk) == limit),
                    "_embedded": {"leads": leads},
                }
            )
        return Response(200, body, {"Content-Type": "application/hal+json"})

    @route("GET", r"/api/v4/leads/(?P<lead_id>\d+)/?", kind="read")
    def _get_lead(self, request: Request, lead_id: str) -> Response:
        query_string = urllib.parse.urlencode(request.query, doseq=True, safe="[],")
        with self.lock:
            lead = self._leads.get(int(lead_id))
            if lead is None:
                return Response.empty()  # "204 Сделка с указанным ID не существует" (DOC:leads)
            return _hal(
                self._render_lead(lead, self._origin(request), query_string, _with(request))
            )

    @route("POST", r"/api/v4/leads/?", kind="write")
    def _post_leads(self, request: Request) -> Response:
        items = self._read_batch(request)
        origin = self._origin(request)
        with self.lock:
            problems = _Problems()
            prepared = []
            for index, item in enumerate(items):
                rid = _request_id(item, index)
                if isinstance(item, dict) and "id" in item:
                    problems.add(rid, "FieldNotExpected", "id", _NOT_EXPECTED)
                prepared.append((rid, self._prepare_lead(item, rid, problems, None)))
            if problems:
                return _validation_failed(problems)
            leads = [lead for _, lead in prepared if lead is not None]
            self._commit_leads(leads)
            out = [
                {
                    "id": lead["id"],
                    "request_id": rid,
                    "_links": {"self": {"href": f"{origin}/api/v4/leads/{lead['id']}"}},
                }
                for (rid, _), lead in zip(prepared, leads, strict=True)
            ]
        return _hal(
            {"_links": {"self": {"href": f"{origin}/api/v4/leads"}}, "_embedded": {"leads": out}}
        )

    @route("PATCH", r"/api/v4/leads/?", kind="write")
    def _patch_leads(self, request: Request) -> Response:
        items = self._read_batch(request)
        origin = self._origin(request)
        with self.lock:
            problems = _Problems()
            updated = []
            for index, item in enumerate(items):
                rid = _request_id(item, index)
                lead_id = item.get("id") if isinstance(item, dict) else None
                if not _is_int(lead_id):
                    problems.add(rid, "NotBlank", "id", _NOT_BLANK)
                    continue
                current = self._leads.get(lead_id)
                if current is None:
                    problems.add(rid, "NotSupportedChoice", "id", _NOT_A_CHOICE)
                    continue
                lead = self._prepare_lead(item, rid, problems, current)
                if lead is not None:
                    updated.append(lead)
            if problems:
                return _validation_failed(problems)  # the whole batch is refused
            self._commit_leads(updated)
            out = [
                {
                    "id": lead["id"],
                    "updated_at": lead["updated_at"],
                    "_links": {"self": {"href": f"{origin}/api/v4/leads/{lead['id']}"}},
                }
                for lead in updated
            ]
        return _hal(
            {"_links": {"self": {"href": f"{origin}/api/v4/leads"}}, "_embedded": {"leads": out}}
        )

    @route("PATCH", r"/api/v4/leads/(?P<lead_id>\d+)/?", kind="write")
    def _patch_lead(self, request: Request, lead_id: str) -> Response:
        item = self._read_body(request)
        origin = self._origin(request)
        with self.lock:
            current = self._leads.get(int(lead_id))
            if current is None:
                return _problem(404, "Lead not found")  # [inferred]
            if isinstance(item, dict):
                item = {**item, "id": int(lead_id)}
            problems = _Problems()
            lead = self._prepare_lead(item, "0", problems, current)
            if problems or lead is None:
                return _validation_failed(problems)
            self._commit_leads([lead])
        return _hal(
            {
                "id": lead["id"],
                "updated_at": lead["updated_at"],
                "_links": {"self": {"href": f"{origin}/api/v4/leads/{lead['id']}"}},
            }
        )
