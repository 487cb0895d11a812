"""Users and the account: the token's user, rights, ``GET /api/v4/account``."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from sheetledger.sandbox.amocrm.core import AmoCore
from sheetledger.sandbox.amocrm.wire import (
    PAGE_LIMIT_MAX,
    _hal,
    _problem,
    _with,
)
from sheetledger.sandbox.server import HTTPError, Request, Response, route


class Users(AmoCore):
    """Users and the account: the token's user, rights, ``GET /api/v4/account``."""

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
