"""Loss reasons: why a lead was lost, listed at ``GET /api/v4/leads/loss_reasons``.

A reason has ``id``, ``name``, ``sort``, ``created_at`` and ``updated_at`` (Kommo's reference,
"Get loss reasons"); the list is a HAL page under ``_embedded.loss_reasons`` that clients
page through by ``_links.next`` like every other list, and a lead names its reason by
``loss_reason_id`` (``with=loss_reason`` embeds it).
"""

from __future__ import annotations

import copy
from typing import Any

from sheetledger.sandbox.amocrm.core import AmoCore
from sheetledger.sandbox.amocrm.wire import PAGE_LIMIT_MAX, _hal
from sheetledger.sandbox.server import Request, Response, route


class LossReasons(AmoCore):
    """Loss reasons: why a lead was lost, listed at ``GET /api/v4/leads/loss_reasons``."""

    def add_loss_reason(self, name: str, *, sort: int | None = None) -> dict[str, Any]:
        """Add a reason as the account settings do; returns it as the API lists it."""
        if not name.strip():
            raise ValueError("a loss reason needs a name")
        with self.lock:
            now = self._now()
            reason_id = self._new_id("loss_reason")
            reason: dict[str, Any] = {
                "id": reason_id,
                "name": name.strip(),
                "sort": sort if sort is not None else 100_000 + 10 * len(self._loss_reasons),
                "created_at": now,
                "updated_at": now,
            }
            self._loss_reasons[reason_id] = reason
            return copy.deepcopy(self._render_loss_reason(reason, self._origin(None)))

    def _render_loss_reason(self, reason: dict[str, Any], origin: str) -> dict[str, Any]:
        href = f"{origin}/api/v4/leads/loss_reasons/{reason['id']}"
        return {**reason, "_links": {"self": {"href": href}}}

    @route("GET", r"/api/v4/leads/loss_reasons/?", kind="read")
    def _get_loss_reasons(self, request: Request) -> Response:
        page, limit = self._paging(request, PAGE_LIMIT_MAX)
        origin = self._origin(request)
        with self.lock:
            reasons = sorted(self._loss_reasons.values(), key=lambda r: (r["sort"], r["id"]))
            chunk = reasons[(page - 1) * limit : page * limit]
            if not chunk:
                return Response.empty()
            page_count = -(-len(reasons) // limit)
            return _hal(
                {
                    "_total_items": len(reasons),
                    "_page": page,
                    "_page_count": page_count,
                    "_links": self._page_links(request, page, page < page_count, page_count),
                    "_embedded": {
                        "loss_reasons": [self._render_loss_reason(r, origin) for r in chunk]
                    },
                }
            )

    @route("GET", r"/api/v4/leads/loss_reasons/(?P<reason_id>\d+)/?", kind="read")
    def _get_loss_reason(self, request: Request, reason_id: str) -> Response:
        with self.lock:
            reason = self._loss_reasons.get(int(reason_id))
            if reason is None:
                return Response.empty()
            return _hal(self._render_loss_reason(reason, self._origin(request)))
