"""An emulator of amoCRM API v4: account, users, pipelines, lead custom fields, leads, notes.

It answers the way the real service does (``shared/reference/amocrm-api.md``, checked
against ``shared/fixtures/amocrm/``):

* HAL envelopes (``_page``, ``_links.self/next/first/prev``, ``_embedded``), successes as
  ``application/hal+json``, errors as ``application/problem+json``, non-ASCII escaped as
  ``\\uXXXX`` like the recorded real payloads;
* **an empty result is 204 with an empty body** — an empty list, a page past the end, a lead
  id that does not exist (``GET /api/v4/leads/{id}`` → 204, as the docs say);
* leads and notes lists carry ``next`` whenever a page is full, so ``next`` can lead to a
  204 page (GH#193), while custom fields and users know their totals
  (``_total_items``/``_page_count``); custom fields come at most 50 a page;
* writes are validated as a whole batch: any problem → the real 400 ``validation-errors``
  body and nothing applied; numeric values read back as strings, dates as local midnight of
  the account time zone, ``custom_fields_values`` is ``null`` when nothing is filled;
* more than 7 requests in any one second → 429 with nginx's HTML page and no
  ``Retry-After`` (GH#526); ``blocked`` → nginx's HTML 403 for every request;
* timestamps are unix seconds from the injected ``clock`` (``ManualClock`` in tests).

``seed_amocrm`` (``sandbox/seed.py``) builds the furniture account on top of it with the
in-process helpers (``add_user``, ``add_pipeline``, ``add_field``, ``add_lead``).
"""

from __future__ import annotations

import copy
import json
import re
import threading
import time
import urllib.parse
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from datetime import time as dt_time
from decimal import Decimal, InvalidOperation
from http import HTTPStatus
from typing import Any, TypeGuard
from zoneinfo import ZoneInfo

from sheetledger.sandbox.server import Emulator, HTTPError, Request, Response, route

__all__ = [
    "FIELD_TYPES",
    "NOTE_TYPES",
    "STATUS_LOST",
    "STATUS_WON",
    "AmoEmulator",
    "AmoValidationFailed",
    "ManualClock",
    "local_date",
]

STATUS_WON = 142  # «Успешно реализовано»: the same id in every pipeline
STATUS_LOST = 143  # «Закрыто и не реализовано»: likewise
UNSORTED_TYPE = 1  # status type of «Неразобранное»; regular statuses are type 0

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

PAGE_LIMIT_MAX = 250  # leads, notes, users: `limit` above this is a 422
FIELDS_PAGE_MAX = 50  # custom fields: "до 50 полей за один запрос" (DOC:cf)
BATCH_MAX = 250  # entities per POST/PATCH (KOMMO:limits)
DEFAULT_LIMIT = 50
RATE_LIMIT_PER_SECOND = 7  # KOMMO:limits, DOC:errors

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

# Real validation details (DOC:errors, KOMMO:codes, Krukov/amocrm_api#112).
_NOT_A_CHOICE = "The value you selected is not a valid choice."
_NOT_EXPECTED = "This field was not expected."
_NOT_BLANK = "This value should not be blank."

_STATUS_COLORS = ("#99ccff", "#ffff99", "#ffcc66", "#deff81", "#87f2c0", "#ffc8c8", "#eb93ff")

_NGINX_PAGE = (
    "<html>\r\n<head><title>{code} {phrase}</title></head>\r\n<body>\r\n"
    "<center><h1>{code} {phrase}</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)


class ManualClock:
    """A clock tests move by hand: unix seconds as a float, ``advance`` and ``sleep``.

    Give the same instance to the emulator (``clock=``) and to the client (``clock=`` and
    ``sleep=clock.sleep``): the client's waits then move the emulator's time too.
    """

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = float(start)
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += max(0.0, seconds)

    sleep = advance

    def set(self, now: float) -> None:
        with self._lock:
            self._now = float(now)


class AmoValidationFailed(ValueError):
    """An in-process helper was given what the API would refuse with a 400."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        self.errors = errors
        first = errors[0]["errors"][0] if errors and errors[0]["errors"] else {}
        super().__init__(f"{first.get('code')} at {first.get('path')!r}: {first.get('detail')}")


class _Problems:
    """Validation errors of one request, grouped by the item's ``request_id``."""

    def __init__(self) -> None:
        self.by_request: dict[str, list[dict[str, str]]] = {}

    def add(self, request_id: str, code: str, path: str, detail: str) -> None:
        self.by_request.setdefault(request_id, []).append(
            {"code": code, "path": path, "detail": detail}
        )

    def __bool__(self) -> bool:
        return bool(self.by_request)

    def as_list(self) -> list[dict[str, Any]]:
        return [{"request_id": rid, "errors": errs} for rid, errs in self.by_request.items()]


# --------------------------------------------------------------------------- bodies


def _dumps(obj: Any) -> bytes:
    # Real answers escape non-ASCII as \uXXXX (fixture leads_list.real.*); clients must decode.
    return json.dumps(obj, ensure_ascii=True, separators=(",", ":")).encode()


def _hal(obj: Any, status: int = 200) -> Response:
    return Response(status, _dumps(obj), {"Content-Type": "application/hal+json"})


def _problem(status: int, detail: str, **extra: Any) -> Response:
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    body = {
        "title": title,
        "type": f"https://httpstatus.es/{status}",
        "status": status,
        "detail": detail,
        **extra,
    }
    return Response(status, _dumps(body), {"Content-Type": "application/problem+json"})


def _validation_failed(problems: _Problems) -> Response:
    body = {
        "validation-errors": problems.as_list(),
        "title": "Bad Request",
        "type": "https://httpstatus.es/400",
        "status": 400,
        "detail": "Request validation failed",
    }
    return Response(400, _dumps(body), {"Content-Type": "application/problem+json"})


def _nginx(status: int) -> Response:
    page = _NGINX_PAGE.format(code=status, phrase=HTTPStatus(status).phrase)
    return Response(status, page.encode(), {"Content-Type": "text/html"})


# --------------------------------------------------------------------------- query parsing


def _ints(values: Iterable[str]) -> list[int]:
    out = []
    for value in values:
        for part in str(value).split(","):
            part = part.strip()
            if part.lstrip("-").isdigit():
                out.append(int(part))
    return out


def _array_param(query: Mapping[str, list[str]], name: str) -> list[str] | None:
    """Values of ``name``, ``name[]`` and ``name[N]`` (PHP bracket arrays); None if absent."""
    found: list[str] | None = None
    prefix = name + "["
    for key, values in query.items():
        if (
            key == name
            or key == name + "[]"
            or (key.startswith(prefix) and key.endswith("]") and key[len(prefix) : -1].isdigit())
        ):
            found = (found or []) + list(values)
    return found


def _range_param(query: Mapping[str, list[str]], name: str) -> tuple[int | None, int | None]:
    """``name[from]``/``name[to]``, or an exact ``name=ts`` (both ends)."""
    exact = query.get(name)
    if exact and exact[0].lstrip("-").isdigit():
        value = int(exact[0])
        return value, value
    low = query.get(f"{name}[from]")
    high = query.get(f"{name}[to]")
    return (
        int(low[0]) if low and low[0].lstrip("-").isdigit() else None,
        int(high[0]) if high and high[0].lstrip("-").isdigit() else None,
    )


_STATUS_FILTER = re.compile(r"^filter\[statuses\]\[(\d+)\]\[(pipeline_id|status_id)\]$")
_ORDER = re.compile(r"^order\[(\w+)\]$")


def _status_pairs(query: Mapping[str, list[str]]) -> list[tuple[int, int]]:
    pairs: dict[str, dict[str, int]] = {}
    for key, values in query.items():
        matched = _STATUS_FILTER.match(key)
        if matched and values and values[0].isdigit():
            pairs.setdefault(matched.group(1), {})[matched.group(2)] = int(values[0])
    # Both keys are required per element (DOC:filters); a half pair is ignored.
    return [
        (p["pipeline_id"], p["status_id"])
        for p in pairs.values()
        if "pipeline_id" in p and "status_id" in p
    ]


def _order(query: Mapping[str, list[str]], allowed: Sequence[str]) -> tuple[str, bool]:
    for key, values in query.items():
        matched = _ORDER.match(key)
        if matched and matched.group(1) in allowed:
            return matched.group(1), (values[0].lower() if values else "asc") == "desc"
    return "id", False


def _with(request: Request) -> set[str]:
    return {w.strip() for v in request.args("with") for w in v.split(",") if w.strip()}


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


# --------------------------------------------------------------------------- the emulator


class AmoEmulator(Emulator):
    """A stateful amoCRM account behind API v4, with a long-lived token."""

    name = "amocrm"

    def __init__(
        self,
        token: str,
        subdomain: str = "sandbox",
        *,
        clock: Callable[[], float] = time.time,
        timezone: str = "Europe/Moscow",
        rate_limit: int | None = RATE_LIMIT_PER_SECOND,
        account_name: str | None = None,
    ) -> None:
        super().__init__(clock=clock)
        self._token = token
        self.subdomain = subdomain
        self.rate_limit = rate_limit
        self.blocked = False  # True: nginx 403 for every request (repeated 429s, DOC:errors)
        self.paid = True  # False: 402 Payment Required for every request
        self.rate_limited = 0  # requests answered 429 by the rate limiter
        self._recent: deque[float] = deque()  # accepted request times within the last second
        self.account: dict[str, Any] = {
            "id": 31_500_001,
            "name": account_name or subdomain,
            "subdomain": subdomain,
            "current_user_id": 0,
            "country": "RU",
            "currency": "RUB",
            "currency_symbol": "₽",
            "customers_mode": "disabled",
            "is_unsorted_on": True,
            "is_loss_reason_enabled": True,
            "is_helpbot_enabled": False,
            "is_technical_account": False,
            "contact_name_display_order": 1,
            "created_at": int(clock()),
            "created_by": 0,
            "updated_at": int(clock()),
            "updated_by": 0,
            "timezone": timezone,
        }
        self._tz = ZoneInfo(timezone)
        self._users: dict[int, dict[str, Any]] = {}
        self._pipelines: dict[int, dict[str, Any]] = {}  # statuses in pipeline["statuses"]
        self._fields: dict[int, dict[str, Any]] = {}
        self._leads: dict[int, dict[str, Any]] = {}
        self._notes: dict[int, dict[str, Any]] = {}
        self._notes_by_lead: dict[int, list[int]] = {}
        self._tags: dict[str, int] = {}
        self._next_ids = {
            "user": 11_000_001,
            "pipeline": 7_200_001,
            "status": 60_400_001,
            "field": 900_001,
            "enum": 1_500_001,
            "lead": 38_000_001,
            "note": 76_000_001,
            "tag": 100_001,
        }
        # Sorted lead ids per (filter, order), valid while the leads do not change: paging
        # 10,000 leads 250 at a time scans and sorts once, not once per page.
        self._leads_version = 0
        self._list_cache: dict[tuple[Any, ...], list[int]] = {}
        self._list_cache_version = -1

    # -- small internals -----------------------------------------------------------

    def _new_id(self, kind: str) -> int:
        value = self._next_ids[kind]
        self._next_ids[kind] = value + 1
        return value

    def _now(self) -> int:
        return int(self.clock())

    def _origin(self, request: Request | None) -> str:
        """Links point at the host that was asked, as the real ``{subdomain}.amocrm.ru`` does."""
        host = request.headers.get("Host") if request is not None else None
        if not host:
            return f"https://{self.subdomain}.amocrm.ru"
        local = host.startswith(("127.", "localhost", "[::1]"))
        return f"{'http' if local else 'https'}://{host}"

    def _leads_changed(self) -> None:
        self._leads_version += 1

    @property
    def current_user_id(self) -> int:
        """The user the token belongs to (the first admin added, else the first user)."""
        return int(self.account["current_user_id"])

    # -- auth, rate limit, faults ----------------------------------------------------

    def refuse(self, request: Request, kind: str | None) -> Response | None:
        if self.blocked:
            return _nginx(403)
        if self.rate_limit is not None:
            with self.lock:
                now = self.clock()
                while self._recent and self._recent[0] <= now - 1.0:
                    self._recent.popleft()
                if len(self._recent) >= self.rate_limit:
                    self.rate_limited += 1
                    # The gateway answers, not the API: HTML, no Retry-After (GH#526, PR#517).
                    return _nginx(429)
                self._recent.append(now)
        if request.headers.get("Authorization") != f"Bearer {self._token}":
            # Real body of a bad/revoked token (amocrm-api-php#333).
            return _problem(401, "Неверный логин или пароль")
        if not self.paid:
            return _problem(402, "Payment Required")
        return None

    def error_response(self, status: int, message: str) -> Response:
        return _problem(status, message)

    def fault_response(self, status: int, request: Request) -> Response:
        if status in (403, 429, 502, 503, 504):
            return _nginx(status)  # gateway pages: blocked, rate limit, upstream trouble
        if status == 401:
            return _problem(401, "Неверный логин или пароль")
        if status == 402:
            return _problem(402, "Payment Required")
        if status == 500:
            body = {
                "title": "ErrInternalServer",
                "status": 500,
                "detail": "Internal server error",
                "trace_id": "0" * 16,
            }
            return Response(500, _dumps(body), {"Content-Type": "application/problem+json"})
        return _problem(status, "Scripted fault")

    def _read_body(self, request: Request) -> Any:
        if not request.body:
            raise HTTPError(_problem(400, "Request data can not be blank"))
        try:
            return json.loads(request.body)
        except ValueError as exc:
            raise HTTPError(_problem(400, "Invalid request body")) from exc

    def _read_batch(self, request: Request) -> list[Any]:
        body = self._read_body(request)
        if not isinstance(body, list):
            problems = _Problems()
            problems.add("0", "InvalidType", "", "This value should be of type array.")
            raise HTTPError(_validation_failed(problems))
        if not body:
            raise HTTPError(_problem(400, "Request data can not be blank"))
        if len(body) > BATCH_MAX:
            raise HTTPError(_problem(422, f"Limit of {BATCH_MAX} entities per request"))
        return body

    def _paging(self, request: Request, max_limit: int) -> tuple[int, int]:
        try:
            page = max(1, int(request.arg("page") or 1))
        except ValueError:
            page = 1
        raw = request.arg("limit")
        try:
            limit = int(raw) if raw else DEFAULT_LIMIT
        except ValueError:
            limit = DEFAULT_LIMIT
        if limit > PAGE_LIMIT_MAX:
            raise HTTPError(_problem(422, f"Limit of {PAGE_LIMIT_MAX} per page"))
        return page, max(1, min(limit, max_limit))

    def _page_links(
        self, request: Request, page: int, has_next: bool, last: int | None = None
    ) -> dict[str, Any]:
        base = self._origin(request) + request.raw_path

        def href(number: int) -> dict[str, str]:
            query = dict(request.query)
            query["page"] = [str(number)]
            return {"href": base + "?" + urllib.parse.urlencode(query, doseq=True, safe="[],")}

        links: dict[str, Any] = {"self": href(page)}
        if has_next:
            links["next"] = href(page + 1)
        if page > 1:
            links["first"] = href(1)
            links["prev"] = href(page - 1)
        if last is not None and last > 1:
            links["last"] = href(last)
        return links

    # -- users ---------------------------------------------------------------------

    def add_user(
        self,
        name: str,
        email: str | None = None,
        *,
        is_admin: bool = False,
        is_active: bool = True,
        lang: str = "ru",
        group_id: int | None = None,
    ) -> dict[str, Any]:
        """Add a user; the first admin (or the first user) becomes the token's user."""
        with self.lock:
            user_id = self._new_id("user")
            level = "A"
            rights = {
                "leads": {
                    "view": level,
                    "edit": level,
                    "add": level,
                    "delete": level,
                    "export": level,
                },
                "contacts": {
                    "view": level,
                    "edit": level,
                    "add": level,
                    "delete": level,
                    "export": level,
                },
                "companies": {
                    "view": level,
                    "edit": level,
                    "add": level,
                    "delete": level,
                    "export": level,
                },
                "tasks": {"edit": level, "delete": level},
                "mail_access": is_admin,
                "catalog_access": is_admin,
                "status_rights": None,
                "is_admin": is_admin,
                "is_free": False,
                "is_active": is_active,
                "group_id": group_id,
                "role_id": None,
            }
            user = {
                "id": user_id,
                "name": name,
                "email": email or f"user{user_id}@example.ru",
                "lang": lang,
                "rights": rights,
            }
            self._users[user_id] = user
            current = self._users.get(self.current_user_id)
            if current is None or (is_admin and not current["rights"]["is_admin"]):
                self.account["current_user_id"] = user_id
            return copy.deepcopy(user)

    def _render_user(self, user: dict[str, Any], origin: str, with_: set[str]) -> dict[str, Any]:
        out = dict(user)
        out["_links"] = {"self": {"href": f"{origin}/api/v4/users/{user['id']}"}}
        embedded: dict[str, Any] = {}
        if "role" in with_:
            embedded["roles"] = []
        if "group" in with_:
            group = user["rights"]["group_id"]
            embedded["groups"] = [] if group is None else [{"id": group, "name": "Отдел продаж"}]
        if embedded:
            out["_embedded"] = embedded
        return out

    def _require_admin(self) -> None:
        user = self._users.get(self.current_user_id)
        if user is None or not user["rights"]["is_admin"]:
            # Users are admin-only (DOC:users).
            raise HTTPError(_problem(403, "Access denied"))

    @route("GET", r"/api/v4/users/?", kind="read")
    def _get_users(self, request: Request) -> Response:
        page, limit = self._paging(request, PAGE_LIMIT_MAX)
        with self.lock:
            self._require_admin()
            users = [self._users[i] for i in sorted(self._users)]
            chunk = users[(page - 1) * limit : page * limit]
            if not chunk:
                return Response.empty()
            page_count = -(-len(users) // limit)
            origin, with_ = self._origin(request), _with(request)
            return _hal(
                {
                    "_total_items": len(users),
                    "_page": page,
                    "_page_count": page_count,
                    "_links": self._page_links(request, page, page < page_count, page_count),
                    "_embedded": {"users": [self._render_user(u, origin, with_) for u in chunk]},
                }
            )

    @route("GET", r"/api/v4/users/(?P<user_id>\d+)/?", kind="read")
    def _get_user(self, request: Request, user_id: str) -> Response:
        with self.lock:
            self._require_admin()
            user = self._users.get(int(user_id))
            if user is None:
                return Response.empty()
            return _hal(self._render_user(user, self._origin(request), _with(request)))

    # -- account -------------------------------------------------------------------

    @route("GET", r"/api/v4/account/?", kind="read")
    def _get_account(self, request: Request) -> Response:
        with_ = _with(request)
        origin = self._origin(request)
        with self.lock:
            body = {k: v for k, v in self.account.items() if k != "timezone"}
            body["_links"] = {"self": {"href": f"{origin}/api/v4/account"}}
            embedded: dict[str, Any] = {}
            if "is_api_filter_enabled" in with_:
                body["is_api_filter_enabled"] = True
            if "version" in with_:
                body["version"] = 11
            if "amojo_id" in with_:
                body["amojo_id"] = "00000000-0000-4000-8000-000000000000"
            if "drive_url" in with_:
                body["drive_url"] = "https://drive-b.amocrm.ru"
            if "datetime_settings" in with_:
                offset = datetime.now(self._tz).strftime("%z")
                embedded["datetime_settings"] = {
                    "date_pattern": "d.m.Y H:i",
                    "short_date_pattern": "d.m.Y",
                    "short_time_pattern": "H:i",
                    "date_formant": "d.m.Y",  # sic: the real key has this typo
                    "time_format": "H:i:s",
                    "timezone": self.account["timezone"],
                    "timezone_offset": f"{offset[:3]}:{offset[3:]}",
                }
            if "users_groups" in with_:
                embedded["users_groups"] = [{"id": 0, "name": "Отдел продаж", "uuid": None}]
            if embedded:
                body["_embedded"] = embedded
            return _hal(body)

    # -- pipelines -----------------------------------------------------------------

    def add_pipeline(
        self,
        name: str,
        statuses: Sequence[str | Mapping[str, Any]] = (),
        *,
        is_main: bool | None = None,
        won_name: str = "Успешно реализовано",
        lost_name: str = "Закрыто и не реализовано",
    ) -> dict[str, Any]:
        """A pipeline with «Неразобранное», the given statuses, then 142 and 143.

        A status is a name or ``{"name": ..., "color": ...}``. Returns the pipeline as the
        API renders it (``_embedded.statuses``).
        """
        with self.lock:
            if len(self._pipelines) >= 50:
                raise AmoValidationFailed(
                    _single_error("NotSupportedChoice", "name", "No more than 50 pipelines")
                )
            pipeline_id = self._new_id("pipeline")
            main = not self._pipelines if is_main is None else is_main
            if main:
                for other in self._pipelines.values():
                    other["is_main"] = False
            rows: list[dict[str, Any]] = [
                {
                    "id": self._new_id("status"),
                    "name": "Неразобранное",
                    "sort": 10,
                    "is_editable": False,
                    "color": "#c1c1c1",
                    "type": UNSORTED_TYPE,
                }
            ]
            for index, status in enumerate(statuses):
                spec = {"name": status} if isinstance(status, str) else dict(status)
                rows.append(
                    {
                        "id": self._new_id("status"),
                        "name": str(spec["name"]),
                        "sort": 20 + 10 * index,
                        "is_editable": True,
                        "color": spec.get("color", _STATUS_COLORS[index % len(_STATUS_COLORS)]),
                        "type": 0,
                    }
                )
            rows.append(
                {
                    "id": STATUS_WON,
                    "name": won_name,
                    "sort": 10000,
                    "is_editable": False,
                    "color": "#CCFF66",
                    "type": 0,
                }
            )
            rows.append(
                {
                    "id": STATUS_LOST,
                    "name": lost_name,
                    "sort": 11000,
                    "is_editable": False,
                    "color": "#D5D8DB",
                    "type": 0,
                }
            )
            self._pipelines[pipeline_id] = {
                "id": pipeline_id,
                "name": name,
                "sort": len(self._pipelines) + 1,
                "is_main": main,
                "is_unsorted_on": True,
                "is_archive": False,
                "statuses": rows,
            }
            return self._render_pipeline(self._pipelines[pipeline_id], self._origin(None))

    def _render_status(
        self, pipeline_id: int, status: dict[str, Any], origin: str
    ) -> dict[str, Any]:
        return {
            "id": status["id"],
            "name": status["name"],
            "sort": status["sort"],
            "is_editable": status["is_editable"],
            "pipeline_id": pipeline_id,
            "color": status["color"],
            "type": status["type"],
            "account_id": self.account["id"],
            "_links": {
                "self": {
                    "href": f"{origin}/api/v4/leads/pipelines/{pipeline_id}/statuses/{status['id']}"
                }
            },
        }

    def _render_pipeline(self, pipeline: dict[str, Any], origin: str) -> dict[str, Any]:
        pid = pipeline["id"]
        return {
            "id": pid,
            "name": pipeline["name"],
            "sort": pipeline["sort"],
            "is_main": pipeline["is_main"],
            "is_unsorted_on": pipeline["is_unsorted_on"],
            "is_archive": pipeline["is_archive"],
            "account_id": self.account["id"],
            "_links": {"self": {"href": f"{origin}/api/v4/leads/pipelines/{pid}"}},
            "_embedded": {
                "statuses": [self._render_status(pid, s, origin) for s in pipeline["statuses"]]
            },
        }

    def _status(self, pipeline_id: int, status_id: int) -> dict[str, Any] | None:
        pipeline = self._pipelines.get(pipeline_id)
        if pipeline is None:
            return None
        return next((s for s in pipeline["statuses"] if s["id"] == status_id), None)

    def _first_regular_status(self, pipeline_id: int) -> int:
        statuses = self._pipelines[pipeline_id]["statuses"]
        return int(next(s["id"] for s in statuses if s["type"] != UNSORTED_TYPE))

    def _main_pipeline_id(self) -> int | None:
        for pipeline in self._pipelines.values():
            if pipeline["is_main"]:
                return int(pipeline["id"])
        return next(iter(self._pipelines), None)

    @route("GET", r"/api/v4/leads/pipelines/?", kind="read")
    def _get_pipelines(self, request: Request) -> Response:
        origin = self._origin(request)
        with self.lock:
            pipelines = [self._render_pipeline(p, origin) for p in self._pipelines.values()]
        if not pipelines:
            return Response.empty()
        # Not paginated (DOC:pipelines): at most 50 per account.
        return _hal(
            {
                "_total_items": len(pipelines),
                "_links": {"self": {"href": f"{origin}/api/v4/leads/pipelines"}},
                "_embedded": {"pipelines": pipelines},
            }
        )

    @route("GET", r"/api/v4/leads/pipelines/(?P<pipeline_id>\d+)/?", kind="read")
    def _get_pipeline(self, request: Request, pipeline_id: str) -> Response:
        with self.lock:
            pipeline = self._pipelines.get(int(pipeline_id))
            if pipeline is None:
                return Response.empty()
            return _hal(self._render_pipeline(pipeline, self._origin(request)))

    @route("GET", r"/api/v4/leads/pipelines/(?P<pipeline_id>\d+)/statuses/?", kind="read")
    def _get_statuses(self, request: Request, pipeline_id: str) -> Response:
        origin = self._origin(request)
        with self.lock:
            pipeline = self._pipelines.get(int(pipeline_id))
            if pipeline is None:
                return Response.empty()
            statuses = [
                self._render_status(pipeline["id"], s, origin) for s in pipeline["statuses"]
            ]
        return _hal(
            {
                "_total_items": len(statuses),
                "_links": {"self": {"href": f"{origin}{request.raw_path}"}},
                "_embedded": {"statuses": statuses},
            }
        )

    @route(
        "GET",
        r"/api/v4/leads/pipelines/(?P<pipeline_id>\d+)/statuses/(?P<status_id>\d+)/?",
        kind="read",
    )
    def _get_status(self, request: Request, pipeline_id: str, status_id: str) -> Response:
        with self.lock:
            status = self._status(int(pipeline_id), int(status_id))
            if status is None:
                return Response.empty()
            return _hal(self._render_status(int(pipeline_id), status, self._origin(request)))

    # -- custom fields ---------------------------------------------------------------

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
        # 201 Created, as for users (reference §3.1).
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

    # -- leads -----------------------------------------------------------------------

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
        if item.get("loss_reason_id") is not None:
            problems.add(rid, "NotSupportedChoice", "loss_reason_id", _NOT_A_CHOICE)
        self._place_lead(lead, item, rid, problems, current)
        lead["custom_fields_values"] = self._merge_custom_fields(
            lead["custom_fields_values"], item.get("custom_fields_values"), rid, problems
        )
        self._apply_tags(lead, item)
        if problems.by_request.get(rid):
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
            embedded["loss_reason"] = []
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

    # -- notes -----------------------------------------------------------------------

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

    # -- clock and state ---------------------------------------------------------------

    def advance_clock(self, seconds: float) -> None:
        """Move the emulator's time (only when it runs on a ``ManualClock``)."""
        if not isinstance(self.clock, ManualClock):
            raise TypeError("advance_clock needs AmoEmulator(clock=ManualClock())")
        self.clock.advance(seconds)

    def state(self) -> dict[str, Any]:
        with self.lock:
            return copy.deepcopy(
                {
                    "account": self.account,
                    "users": list(self._users.values()),
                    "pipelines": list(self._pipelines.values()),
                    "fields": list(self._fields.values()),
                    "leads": list(self._leads.values()),
                    "notes": list(self._notes.values()),
                    "tags": self._tags,
                    "next_ids": self._next_ids,
                }
            )

    def load_state(self, state: dict[str, Any]) -> None:
        state = copy.deepcopy(state)
        with self.lock:
            self.account = state["account"]
            self.subdomain = self.account["subdomain"]
            self._tz = ZoneInfo(self.account.get("timezone", "Europe/Moscow"))
            self._users = {u["id"]: u for u in state["users"]}
            self._pipelines = {p["id"]: p for p in state["pipelines"]}
            self._fields = {f["id"]: f for f in state["fields"]}
            self._leads = {lead["id"]: lead for lead in state["leads"]}
            self._notes = {n["id"]: n for n in state["notes"]}
            self._notes_by_lead = {}
            for note_id in sorted(self._notes):
                lead_id = self._notes[note_id]["entity_id"]
                self._notes_by_lead.setdefault(lead_id, []).append(note_id)
            self._tags = dict(state.get("tags", {}))
            self._next_ids.update(state["next_ids"])
            self._leads_changed()


# --------------------------------------------------------------------------- helpers


def _request_id(item: Any, index: int) -> str:
    """The item's own ``request_id`` if it sent one, else its 0-based position (DOC:errors)."""
    if isinstance(item, dict) and item.get("request_id") is not None:
        return str(item["request_id"])
    return str(index)


def _single_error(code: str, path: str, detail: str) -> list[dict[str, Any]]:
    return [{"request_id": "0", "errors": [{"code": code, "path": path, "detail": detail}]}]


_NUMBER = re.compile(r"^\s*-?\d+(\.\d+)?\s*$")


def _is_number(text: str) -> bool:
    if not _NUMBER.match(text):
        return False
    try:
        Decimal(text.strip())
    except InvalidOperation:
        return False
    return True


def _timestamp(value: Any) -> int | None:
    if _is_int(value):
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit():
            return int(text)
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            return None
        return int(parsed.timestamp()) if parsed.tzinfo else None
    return None


def local_date(stamp: int, timezone: str = "Europe/Moscow") -> date:
    """The calendar day a date field's timestamp stands for in the account's zone."""
    return datetime.fromtimestamp(stamp, ZoneInfo(timezone)).date()
