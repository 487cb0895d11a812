"""The emulator core: account state, the long-lived token, rate limit, faults, paging.

Each resource (users, pipelines, custom fields, leads, notes) is a class on top of
``AmoCore``; ``AmoEmulator`` in ``__init__`` puts them together.
"""

from __future__ import annotations

import copy
import json
import time
import urllib.parse
import uuid
from collections import deque
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sheetledger.sandbox.amocrm.tokens import expiry_of, mint_long_lived_token, token_claims
from sheetledger.sandbox.amocrm.wire import (
    BATCH_MAX,
    DEFAULT_LIMIT,
    PAGE_LIMIT_MAX,
    RATE_LIMIT_PER_SECOND,
    ManualClock,
    _dumps,
    _nginx,
    _problem,
    _Problems,
    _validation_failed,
)
from sheetledger.sandbox.server import Emulator, HTTPError, Request, Response, route


def _expiry_claim(token: str) -> int | None:
    """``exp`` of a JWT token; None for a plain string (it never expires)."""
    claims = token_claims(token)
    exp = None if claims is None else claims.get("exp")
    return exp if isinstance(exp, int) and not isinstance(exp, bool) else None


def _years_after(day: date, years: int) -> date:
    """The same day ``years`` later (29 February becomes the 28th)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


class AmoCore(Emulator):
    """A stateful amoCRM account behind API v4, with a long-lived token."""

    name = "amocrm"

    def __init__(
        self,
        token: str | None = None,
        subdomain: str = "sandbox",
        *,
        clock: Callable[[], float] = time.time,
        timezone: str = "Europe/Moscow",
        rate_limit: int | None = RATE_LIMIT_PER_SECOND,
        account_name: str | None = None,
    ) -> None:
        super().__init__(clock=clock)
        # Accepted bearer tokens and their expiry (None: never). ``token`` is taken as given
        # (tests use plain strings); ``issue_long_lived_token`` mints real-shaped JWTs.
        self._tokens: dict[str, int | None] = {}
        if token is not None:
            self._tokens[token] = _expiry_claim(token)
        self.integration_id = str(uuid.uuid4())  # `aud` of the tokens this account issues
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
        self._loss_reasons: dict[int, dict[str, Any]] = {}
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
            "loss_reason": 7_300_001,
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
        if not self._token_valid(request.headers.get("Authorization") or ""):
            # Real body of a bad, revoked or expired token (amocrm-api-php#333).
            return _problem(401, "Неверный логин или пароль")
        if not self.paid:
            return _problem(402, "Payment Required")
        return None

    def _token_valid(self, authorization: str) -> bool:
        scheme, _, token = authorization.partition(" ")
        if scheme != "Bearer" or token not in self._tokens:
            return False
        expires = self._tokens[token]
        return expires is None or self._now() < expires

    def issue_long_lived_token(self, *, expires_on: date | None = None) -> str:
        """A long-lived token of the token's user, as the integration settings make one.

        It expires at midnight (UTC) of ``expires_on``, one year ahead by default; the settings
        offer one day to five years.
        """
        with self.lock:
            issued = self._now()
            today = datetime.fromtimestamp(issued, UTC).date()
            until = expires_on or _years_after(today, 1)
            if not today < until <= _years_after(today, 5):
                raise ValueError("a long-lived token lasts from one day to five years")
            token = mint_long_lived_token(
                account_id=int(self.account["id"]),
                user_id=self.current_user_id,
                issued_at=issued,
                expires_at=expiry_of(until),
                client_id=self.integration_id,
            )
            self._tokens[token] = _expiry_claim(token)
            return token

    def revoke_token(self, token: str) -> None:
        """Revoke a token as from «Выданные доступы»: every request with it gets a 401."""
        with self.lock:
            self._tokens.pop(token, None)

    @route("POST", r"/_sandbox/tokens")
    def _control_issue_token(self, request: Request) -> Response:
        """``{"expires_on": "YYYY-MM-DD"}`` (optional) → ``{"token": ..., "exp": ...}``."""
        body = request.json() or {}
        try:
            until = date.fromisoformat(body["expires_on"]) if body.get("expires_on") else None
            token = self.issue_long_lived_token(expires_on=until)
        except (TypeError, ValueError) as exc:
            return Response.json({"error": str(exc)}, 400)
        return Response.json({"token": token, "exp": self._tokens[token]}, 201)

    @route("DELETE", r"/_sandbox/tokens")
    def _control_revoke_token(self, request: Request) -> Response:
        """``{"token": ...}``: revoke it (the next request with it gets a 401)."""
        token = (request.json() or {}).get("token")
        if not isinstance(token, str):
            return Response.json({"error": "give the token to revoke"}, 400)
        self.revoke_token(token)
        return Response.empty()

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
                    "loss_reasons": list(self._loss_reasons.values()),
                    "next_ids": self._next_ids,
                    "tokens": [{"token": t, "exp": e} for t, e in self._tokens.items()],
                    "integration_id": self.integration_id,
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
            self._loss_reasons = {r["id"]: r for r in state.get("loss_reasons", ())}
            self._next_ids.update(state["next_ids"])
            # A token given to the constructor stays valid beside the saved ones.
            self._tokens.update({t["token"]: t["exp"] for t in state.get("tokens", ())})
            self.integration_id = state.get("integration_id", self.integration_id)
            self._leads_changed()
