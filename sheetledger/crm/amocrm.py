"""The amoCRM API v4 client: the only module outside ``sandbox/`` that talks to amoCRM.

What it takes care of, so callers see plain items and errors that say what to do next:

* **Rate**: amoCRM allows 7 requests a second and, after repeated excess, blocks the
  account's API with a 403 until support unblocks it (DOC:errors, GH#563). A limiter spaces
  requests to ``requests_per_second`` (6 by default), on an injectable clock and sleep.
* **Paging**: lists follow ``_links.next`` (only its path and query, against our own base
  URL, so the token never goes to another host); 204 with an empty body is "no more".
* **Retries**: 429, 5xx, timeouts and dropped connections are retried with jittered,
  bounded exponential backoff — for GET and PATCH only (PATCH writes absolute values, so a
  repeat is harmless). A POST whose outcome is unknown (timeout, dropped connection, 5xx)
  raises ``AmbiguousWriteError``: notes are not idempotent, the caller re-reads (finds its
  marker) before writing again. A 429 means "not processed", so a POST is retried after it.
* **Errors** map to ``sheetledger.errors``: 401/402/403 → ``FatalError`` (never retried:
  retrying a blocked account makes the block longer), 400 → ``AmoValidationError`` with the
  ``validation-errors`` list, exhausted retries → ``RetriableError``.
* **Batches**: writes go 50 entities a request (the recommended size, KOMMO:limits).

The token is sent in a header on each request and never appears in a message, a log line
or a repr.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import requests
from urllib3.exceptions import NewConnectionError

from sheetledger.errors import FatalError, RetriableError
from sheetledger.logs import register_secrets
from sheetledger.retry import RetryPolicy, TryAgain

__all__ = ["AmbiguousWriteError", "AmoClient", "AmoValidationError"]

log = logging.getLogger(__name__)

SERVICE = "amoCRM"
WRITE_BATCH = 50  # entities per POST/PATCH: ≤ 250 allowed, ≤ 50 recommended (KOMMO:limits)
IDS_PER_FILTER = 50  # ids per filter[...][] request, to keep URLs short
FIELDS_PAGE = 50  # custom fields come at most 50 a page (DOC:cf)
PAGE_MAX = 250
PAGE_CAP = 10_000  # a guard against a `next` link that never ends
BACKOFF_BASE = 1.0  # seconds; a 429 waits at least this (docs/api-notes.md, "Retries")
BACKOFF_CAP = 30.0
RETRY_AFTER_CAP = 60.0  # asked to wait longer than this: give up now, the job retries later

Params = list[tuple[str, str]]


class AmbiguousWriteError(RetriableError):
    """A POST may or may not have been applied (timeout, dropped connection, 5xx).

    Re-read (e.g. find the note by its marker) before writing again. ``done`` holds the
    answers of the batches that surely went through before this one.
    """

    def __init__(self, detail: str, *, done: Sequence[dict[str, Any]] = ()) -> None:
        super().__init__(
            SERVICE, f"{detail}; the write may have been applied — re-check it before writing again"
        )
        self.done = list(done)


class AmoValidationError(FatalError):
    """amoCRM refused a request as invalid (400); ``errors`` is its ``validation-errors`` list.

    Each entry's ``request_id`` is the item's own ``request_id`` or its position within the
    batch; ``batch_offset`` is where that batch starts in the list given to the client.
    """

    def __init__(self, detail: str, errors: list[dict[str, Any]], *, batch_offset: int = 0) -> None:
        self.errors = errors
        self.batch_offset = batch_offset
        super().__init__(SERVICE, detail, hint="fix the config's field/status ids or the data")


class AmoClient:
    """A thin, polite client of amoCRM API v4 with a long-lived token."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        session: requests.Session | None = None,
        requests_per_second: float = 6.0,
        timeout: float = 30.0,
        max_attempts: int = 5,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        if requests_per_second <= 0:
            raise ValueError("requests_per_second must be positive")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.base_url = base_url.rstrip("/")
        self._token = token
        register_secrets([token])
        self._session = session or requests.Session()
        self._interval = 1.0 / requests_per_second
        self._timeout = timeout
        self._sleep = sleep
        self._clock = clock
        self._retry = RetryPolicy(
            attempts=max_attempts,
            base=BACKOFF_BASE,
            cap=BACKOFF_CAP,
            max_asked=RETRY_AFTER_CAP,
            sleep=sleep,
            jitter=jitter,
        )
        self._limiter = threading.Lock()
        self._next_slot = float("-inf")
        self.requests_made = 0

    def __repr__(self) -> str:
        return f"AmoClient({self.base_url!r})"

    # -- reads -------------------------------------------------------------------------

    def account(self, with_: Sequence[str] = ("datetime_settings",)) -> dict[str, Any]:
        """The account (``current_user_id``, and its time zone under ``_embedded``)."""
        params: Params = [("with", ",".join(with_))] if with_ else []
        return self._get("/api/v4/account", params) or {}

    def users(self) -> list[dict[str, Any]]:
        """Every user, inactive ones too (old leads still point at them). Admin-only."""
        return list(self._pages("/api/v4/users", [("limit", str(PAGE_MAX))], "users"))

    def pipelines(self) -> list[dict[str, Any]]:
        """Every lead pipeline with ``_embedded.statuses`` (not paginated: ≤ 50 exist)."""
        body = self._get("/api/v4/leads/pipelines", [])
        return list((body or {}).get("_embedded", {}).get("pipelines", []))

    def lead_fields(self) -> list[dict[str, Any]]:
        """Every lead custom field (50 a page, the API's own cap)."""
        params: Params = [("limit", str(FIELDS_PAGE))]
        return list(self._pages("/api/v4/leads/custom_fields", params, "custom_fields"))

    def leads(
        self,
        *,
        updated_from: int | None = None,
        updated_to: int | None = None,
        pipeline_ids: Sequence[int] = (),
        ids: Sequence[int] = (),
        with_: Sequence[str] = (),
        limit: int = PAGE_MAX,
    ) -> Iterator[dict[str, Any]]:
        """Leads ordered by ``updated_at`` ascending, page after page.

        API filtering is an opt-in feature on some accounts and an unsupported filter is
        silently ignored (GH#71), so every lead is also checked here against the filters.
        """
        if not 1 <= limit <= PAGE_MAX:
            raise ValueError(f"limit must be within 1..{PAGE_MAX}")
        base: Params = [("order[updated_at]", "asc"), ("limit", str(limit))]
        if with_:
            base.append(("with", ",".join(with_)))
        if updated_from is not None:
            base.append(("filter[updated_at][from]", str(int(updated_from))))
        if updated_to is not None:
            base.append(("filter[updated_at][to]", str(int(updated_to))))
        base += [("filter[pipeline_id][]", str(int(p))) for p in pipeline_ids]
        wanted_pipelines = {int(p) for p in pipeline_ids}

        def wanted(lead: dict[str, Any]) -> bool:
            updated = lead.get("updated_at") or 0
            return (
                (updated_from is None or updated >= updated_from)
                and (updated_to is None or updated <= updated_to)
                and (not wanted_pipelines or lead.get("pipeline_id") in wanted_pipelines)
            )

        if not ids:
            yield from (
                lead for lead in self._pages("/api/v4/leads", base, "leads") if wanted(lead)
            )
            return
        for chunk in _chunks([int(i) for i in ids], IDS_PER_FILTER):
            params = base + [("filter[id][]", str(i)) for i in chunk]
            members = set(chunk)
            yield from (
                lead
                for lead in self._pages("/api/v4/leads", params, "leads")
                if lead.get("id") in members and wanted(lead)
            )

    def lead(self, lead_id: int, with_: Sequence[str] = ()) -> dict[str, Any] | None:
        """One lead, or None when it does not exist (amoCRM answers 204)."""
        params: Params = [("with", ",".join(with_))] if with_ else []
        return self._get(f"/api/v4/leads/{int(lead_id)}", params, missing_ok=True)

    def notes(
        self, lead_ids: Sequence[int], *, note_type: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """The notes of these leads, a batch of lead ids per request, oldest first."""
        for chunk in _chunks([int(i) for i in lead_ids], IDS_PER_FILTER):
            params: Params = [("limit", str(PAGE_MAX)), ("order[id]", "asc")]
            params += [("filter[entity_id][]", str(i)) for i in chunk]
            if note_type:
                params.append(("filter[note_type]", note_type))
            members = set(chunk)
            for note in self._pages("/api/v4/leads/notes", params, "notes"):
                if note.get("entity_id") in members and (
                    note_type is None or note.get("note_type") == note_type
                ):
                    yield note

    # -- writes ------------------------------------------------------------------------

    def create_lead_fields(self, fields: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """POST custom-field definitions; returns them with their ids and ``enums[].id``."""
        return self._post_batches("/api/v4/leads/custom_fields", fields, "custom_fields")

    def create_leads(self, leads: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """POST leads (never blindly retried); returns ``{id, request_id, _links}`` each."""
        return self._post_batches("/api/v4/leads", leads, "leads")

    def add_notes(self, notes: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """POST lead notes (each with ``entity_id``); never blindly retried."""
        return self._post_batches("/api/v4/leads/notes", notes, "notes")

    def update_leads(self, patches: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """PATCH leads 50 a request; each patch is ``id`` + the changed keys only.

        Send absolute values (never increments) so a retried PATCH is harmless; don't send
        back what you read (read-only keys fail with ``FieldNotExpected``).
        """
        out: list[dict[str, Any]] = []
        for offset, chunk in _offset_chunks(patches, WRITE_BATCH):
            body = self._request("PATCH", "/api/v4/leads", body=chunk, batch_offset=offset)
            out += (body or {}).get("_embedded", {}).get("leads", [])
        return out

    # -- plumbing ------------------------------------------------------------------------

    def _post_batches(
        self, path: str, items: list[dict[str, Any]], key: str
    ) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for offset, chunk in _offset_chunks(items, WRITE_BATCH):
            try:
                body = self._request("POST", path, body=chunk, batch_offset=offset)
            except AmbiguousWriteError as exc:
                exc.done = out + exc.done
                raise
            out += (body or {}).get("_embedded", {}).get(key, [])
        return out

    def _get(self, path: str, params: Params, *, missing_ok: bool = False) -> dict[str, Any] | None:
        return self._request("GET", path, params=params, missing_ok=missing_ok)

    def _pages(self, path: str, params: Params, key: str) -> Iterator[dict[str, Any]]:
        """Items of every page: ``page`` 1, then wherever ``_links.next`` points."""
        current: Params = [*params, ("page", "1")]
        seen: set[str] = set()
        for _ in range(PAGE_CAP):
            body = self._get(path, current)
            if body is None:
                return  # 204: nothing (more) to read
            items = body.get("_embedded", {}).get(key) or []
            yield from items
            href = (body.get("_links", {}).get("next") or {}).get("href")
            if not href or not items:
                return
            # Follow only path + query, against our own base URL: the token goes nowhere else.
            parsed = urllib.parse.urlsplit(href)
            if not parsed.path.startswith("/api/v4/") or href in seen:
                return
            seen.add(href)
            path = parsed.path
            current = urllib.parse.parse_qsl(parsed.query, keep_blank_values=True)
        raise RetriableError(SERVICE, f"GET {path}: more than {PAGE_CAP} pages, stopped")

    def _throttle(self) -> None:
        """Wait for this request's slot: requests at least 1/rate apart."""
        with self._limiter:
            now = self._clock()
            if now < self._next_slot:
                self._sleep(self._next_slot - now)
                now = max(self._clock(), self._next_slot)
            self._next_slot = now + self._interval

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        body: Any = None,
        missing_ok: bool = False,
        batch_offset: int = 0,
    ) -> dict[str, Any] | None:
        """One API call with limiter, retries and error mapping; None for 204."""
        idempotent = method in ("GET", "PATCH")
        what = f"{method} {path}"
        headers = {
            "Authorization": f"Bearer {self._token}",
            "Accept": "application/json",
            "User-Agent": "sheetledger (amoCRM API v4 client)",
        }

        def attempt() -> dict[str, Any] | None:
            self._throttle()
            self.requests_made += 1
            try:
                response = self._session.request(
                    method,
                    self.base_url + path,
                    params=params,
                    json=body,
                    headers=headers,
                    timeout=self._timeout,
                )
            except (requests.Timeout, requests.ConnectionError) as exc:
                problem = "timed out" if isinstance(exc, requests.Timeout) else "connection lost"
                if not idempotent and not _never_sent(exc):
                    raise AmbiguousWriteError(f"{what}: {problem}") from None
                raise TryAgain(problem) from None
            status = response.status_code
            if status == 429:
                # Not processed: safe to repeat, POST included. Usually an HTML page from the
                # gateway without Retry-After (GH#526); Kommo documents a `retry_after` body.
                raise TryAgain(
                    "rate limited (429)", asked=_retry_after(response), minimum=BACKOFF_BASE
                )
            if status >= 500:
                if not idempotent:
                    raise AmbiguousWriteError(f"{what}: server error {status}")
                raise TryAgain(f"server error {status}", asked=_retry_after(response))
            if status == 204 or (missing_ok and status == 404):
                return None
            if status < 300:
                return _json_body(response, what)
            raise _error_for(response, what, batch_offset)

        return self._retry.run(attempt, service=SERVICE, what=what)


# --------------------------------------------------------------------------- helpers


def _chunks(items: Sequence[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def _offset_chunks(
    items: Sequence[dict[str, Any]], size: int
) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    for start in range(0, len(items), size):
        yield start, list(items[start : start + size])


def _never_sent(exc: Exception) -> bool:
    """True when the request surely never reached the server (so a POST may be repeated)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    seen: set[int] = set()
    stack: list[Any] = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen or current is None:
            continue
        seen.add(id(current))
        if isinstance(current, NewConnectionError):
            return True  # refused or unreachable: nothing was sent
        if isinstance(current, BaseException):
            stack += [
                *current.args,
                current.__cause__,
                current.__context__,
                getattr(current, "reason", None),
            ]
    return False


def _retry_after(response: requests.Response) -> float | None:
    header = response.headers.get("Retry-After")
    if header and header.strip().isdigit():
        return float(header.strip())
    if "json" in (response.headers.get("Content-Type") or ""):
        try:
            value = response.json().get("retry_after")
        except (ValueError, AttributeError):
            return None
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    return None


def _json_body(response: requests.Response, what: str) -> dict[str, Any] | None:
    if not response.content:
        return None
    try:
        body = response.json()
    except ValueError:
        raise RetriableError(SERVICE, f"{what}: the answer is not JSON") from None
    return body if isinstance(body, dict) else {"_items": body}


def _problem_detail(response: requests.Response) -> tuple[str, dict[str, Any]]:
    try:
        body = response.json()
    except ValueError:
        return "", {}
    if not isinstance(body, dict):
        return "", {}
    return str(body.get("detail") or body.get("title") or ""), body


def _error_for(response: requests.Response, what: str, batch_offset: int) -> Exception:
    status = response.status_code
    detail, body = _problem_detail(response)
    if status == 400:
        errors = body.get("validation-errors")
        if isinstance(errors, list):
            summary = "; ".join(
                f"item {e.get('request_id')}: {err.get('code')} at {err.get('path')}"
                for e in errors[:3]
                for err in (e.get("errors") or [])[:2]
            )
            return AmoValidationError(
                f"{what}: refused (400): {summary}", errors, batch_offset=batch_offset
            )
        # Other 400 shapes: {"errors": {...}} (GH#88) or a bare detail.
        other = body.get("errors")
        listed = (
            [
                {
                    "request_id": str(k),
                    "errors": [{"code": "Invalid", "path": "", "detail": str(v)}],
                }
                for k, v in other.items()
            ]
            if isinstance(other, dict)
            else []
        )
        return AmoValidationError(
            f"{what}: refused (400): {detail or 'bad request'}", listed, batch_offset=batch_offset
        )
    if status == 401:
        return FatalError(
            SERVICE,
            f"{what}: the token was rejected (401)",
            hint="make a new long-lived token in amoCRM (integration → Keys) "
            "and put it where amocrm.token points",
        )
    if status == 402:
        return FatalError(
            SERVICE,
            f"{what}: the account is not paid (402)",
            hint="renew the amoCRM subscription; nothing syncs until then",
        )
    if status == 403:
        if not body:
            # nginx's HTML page: the API is blocked after repeated excess of 7 req/s.
            return FatalError(
                SERVICE,
                f"{what}: API access blocked (403)",
                hint="stop the daemon and ask amoCRM support (chat in the "
                "account) to unblock, giving the server IP and subdomain",
            )
        return FatalError(
            SERVICE,
            f"{what}: no rights (403): {detail}",
            hint="the token's user must be an administrator of the account",
        )
    if status == 404:
        return FatalError(
            SERVICE,
            f"{what}: not found (404)",
            hint="check amocrm.base_url: https://<subdomain>.amocrm.ru",
        )
    return FatalError(SERVICE, f"{what}: refused ({status}) {detail}".rstrip())
