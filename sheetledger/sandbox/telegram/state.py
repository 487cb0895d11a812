"""The state both sides of the Telegram emulator share, its auth, faults and persistence."""

from __future__ import annotations

import base64
import re
import threading
import time
from collections.abc import Callable
from typing import Any

from sheetledger.sandbox.server import Emulator, Request, Response
from sheetledger.sandbox.telegram.entities import visible_text
from sheetledger.sandbox.telegram.files import (
    MAX_REQUEST_BYTES,
    new_file,
    photo_size,
    photo_steps,
)
from sheetledger.sandbox.telegram.markup import inline_keyboard
from sheetledger.sandbox.telegram.wire import (
    JSON,
    TERMINATED,
    BotAPIError,
    Params,
    bad,
)

MAX_CAPTION = 1024
MAX_ALBUM = 10  # files in one media group
DEFAULT_ALLOWED = ("message", "edited_message", "callback_query")


def caption_field(caption: str | None, parse_mode: str | None) -> JSON:
    """``{"caption": visible text}`` for a message, or ``{}`` without one."""
    if not caption:
        return {}
    visible = visible_text(caption, parse_mode)
    if len(visible) > MAX_CAPTION:
        raise bad("message caption is too long")
    return {"caption": visible}


def without_reply(message: JSON) -> JSON:
    """A message as quoted in ``reply_to_message``: Telegram nests only one level."""
    return {k: v for k, v in message.items() if k != "reply_to_message"}


class TelegramState(Emulator):
    """One bot's Telegram: its chats, messages, updates and files, shared by both sides.

    The Bot API methods (``methods``, ``media``) and the people (``people``, ``control``)
    are mixins over this state; every change happens under ``self.lock`` and wakes
    ``self.cond``.
    """

    name = "telegram"

    def __init__(
        self,
        token: str,
        *,
        bot_username: str = "sheetledger_bot",
        bot_first_name: str = "Sheetledger",
        clock: Callable[[], float] = time.time,
        first_update_id: int = 738_211_001,
        group_privacy: bool = True,
        max_request_bytes: int = MAX_REQUEST_BYTES,
    ) -> None:
        super().__init__(clock=clock)
        self.max_request_bytes = max_request_bytes
        self.token = token
        head = token.split(":", 1)[0]
        self.bot_user: JSON = {
            "id": int(head) if head.isdigit() else 1_000_000_001,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        self.group_privacy = group_privacy
        self.cond = threading.Condition(self.lock)  # woken by every new update, send and edit
        self.retry_after = 1  # what a scripted 429 tells the bot to wait
        self._reset(first_update_id)

    def _reset(self, first_update_id: int) -> None:
        self.users: dict[int, JSON] = {}
        self.chats: dict[int, JSON] = {}  # id -> Chat object
        self.messages: dict[int, dict[int, JSON]] = {}  # chat id -> message id -> Message
        self.next_message_id: dict[int, int] = {}
        self.bot_message_ids: dict[int, list[int]] = {}  # chat id -> ids the bot sent, in order
        self.updates: list[JSON] = []  # created, not yet confirmed
        self.next_update_id = first_update_id
        self.confirmed_offset = 0  # the highest offset a getUpdates call confirmed
        self.allowed_updates: list[str] = list(DEFAULT_ALLOWED)
        self.blocked: set[int] = set()  # chats where the bot may not write (blocked / kicked)
        self.files: dict[str, JSON] = {}  # file_id -> metadata + content
        self.callback_queries: dict[str, JSON] = {}
        self.callback_answers: list[JSON] = []
        self.commands: dict[str, list[JSON]] = {}  # scope/language key -> BotCommand list
        self.webhook_url = ""
        self.chat_actions: list[JSON] = []
        self.dropped_updates = 0  # user actions not turned into updates (allowed/privacy)
        self._poll_generation = 0
        self._waiting_polls = 0
        self._seq = 0

    # -- auth and errors -------------------------------------------------------------

    def refuse(self, request: Request, kind: str | None) -> Response | None:
        if len(request.body) > self.max_request_bytes:
            # Telegram's front refuses the body before the Bot API reads a parameter.
            return BotAPIError(413, "Request Entity Too Large").response
        match = re.match(r"/(?:file/)?bot([^/]+)/", request.path)
        if match and match.group(1) != self.token:
            return BotAPIError(401, "Unauthorized").response
        return None

    def error_response(self, status: int, message: str) -> Response:
        description = {404: "Not Found", 405: "Method Not Allowed"}.get(status, message)
        return BotAPIError(status, description).response

    def fault_response(self, status: int, request: Request) -> Response:
        if status == 429:
            return BotAPIError(
                429,
                f"Too Many Requests: retry after {self.retry_after}",
                {"retry_after": self.retry_after},
            ).response
        descriptions = {
            400: "Bad Request: scripted fault",
            401: "Unauthorized",
            403: "Forbidden: bot was blocked by the user",
            409: TERMINATED,
            500: "Internal Server Error",
            502: "Bad Gateway",
        }
        return BotAPIError(status, descriptions.get(status, "Internal Server Error")).response

    def rate_limit_next(self, retry_after: int = 1, count: int = 1, match: str = "") -> None:
        """The next ``count`` matching calls get 429 "Too Many Requests" with ``retry_after``."""
        self.retry_after = retry_after
        self.fail_next(429, count=count, match=match)

    # -- small helpers -----------------------------------------------------------------

    def _now(self) -> int:
        return int(self.clock())

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _chat(self, chat_id: int | str | None) -> JSON:
        """The chat the bot addresses; Telegram's errors for unknown or closed ones."""
        if chat_id is None or chat_id == "":
            raise bad("chat_id is empty")
        chat = None
        if isinstance(chat_id, str) and chat_id.startswith("@"):
            wanted = chat_id[1:].lower()
            chat = next(
                (c for c in self.chats.values() if str(c.get("username", "")).lower() == wanted),
                None,
            )
        else:
            try:
                chat = self.chats.get(int(chat_id))
            except ValueError:
                chat = None
        if chat is None:
            raise bad("chat not found")
        return chat

    def _check_can_write(self, chat: JSON) -> None:
        if chat["id"] in self.blocked:
            if chat["type"] == "private":
                raise BotAPIError(403, "Forbidden: bot was blocked by the user")
            raise BotAPIError(403, f"Forbidden: bot was kicked from the {chat['type']} chat")

    def _new_message_id(self, chat_id: int) -> int:
        message_id = self.next_message_id.get(chat_id, 1)
        self.next_message_id[chat_id] = message_id + 1
        return message_id

    def _store(self, message: JSON) -> JSON:
        chat_id = message["chat"]["id"]
        self.messages.setdefault(chat_id, {})[message["message_id"]] = message
        return message

    def _find_message(self, chat_id: int, message_id: int | None) -> JSON | None:
        if message_id is None:
            return None
        return self.messages.get(chat_id, {}).get(message_id)

    def _push_update(self, kind: str, payload: JSON) -> JSON | None:
        """Create an update, unless the bot's allowed_updates excludes its type."""
        if kind not in self.allowed_updates:
            # Telegram does not create updates of types the bot did not ask for.
            self.dropped_updates += 1
            return None
        update = {"update_id": self.next_update_id, kind: payload}
        self.next_update_id += 1
        self.updates.append(update)
        self.cond.notify_all()
        return update

    # -- messages and files both sides create ------------------------------------------

    def _bot_message(self, chat: JSON, extra: JSON, params: Params) -> JSON:
        """Store a message the bot sends (everything validated first: no id is burnt)."""
        keyboard = inline_keyboard(params)
        reply_to = params.integer("reply_to_message_id")
        reply_parameters = params.structured("reply_parameters", "reply parameters")
        if isinstance(reply_parameters, dict):
            reply_to = reply_parameters.get("message_id", reply_to)
        original = None
        if reply_to is not None:
            original = self._find_message(chat["id"], int(reply_to))
            if original is None:
                raise bad("message to be replied not found")
        message: JSON = {
            "message_id": self._new_message_id(chat["id"]),
            "from": dict(self.bot_user),
            "chat": dict(chat),
            "date": self._now(),
            **extra,
        }
        if original is not None:
            message["reply_to_message"] = without_reply(original)
        if keyboard is not None:
            message["reply_markup"] = keyboard
        self._store(message)
        self.bot_message_ids.setdefault(chat["id"], []).append(message["message_id"])
        self.cond.notify_all()
        return message

    def _caption(self, params: Params) -> JSON:
        return caption_field(params.text("caption"), params.text("parse_mode"))

    def _store_file(
        self, content: bytes, *, kind: str, file_name: str | None, mime_type: str | None
    ) -> JSON:
        stored = new_file(
            self._next_seq(), content, kind=kind, file_name=file_name, mime_type=mime_type
        )
        self.files[str(stored["file_id"])] = stored
        return stored

    def _store_photo(self, content: bytes, width: int, height: int) -> JSON:
        """Keep a photo in Telegram's sizes; returns the largest.

        Each size has its own file_id and path; the emulator does not resample, so every
        size serves the uploaded bytes. Telegram re-encodes photos as JPEG, hence ``.jpg``.
        """
        sizes = []
        for size_width, size_height in photo_steps(width, height):
            stored = new_file(
                self._next_seq(),
                content,
                kind="photo",
                file_name=None,
                mime_type="image/jpeg",
                extension=".jpg",
            )
            stored.update(width=size_width, height=size_height)
            self.files[str(stored["file_id"])] = stored
            sizes.append(stored)
        ids = [s["file_id"] for s in sizes]
        for stored in sizes:
            stored["sizes"] = ids
        return sizes[-1]

    def _photo_sizes(self, stored: JSON) -> list[JSON]:
        """The ``photo`` list of a message showing the photo ``stored`` is one size of."""
        ids = stored.get("sizes") or [stored["file_id"]]
        return [photo_size(self.files[i]) for i in ids if i in self.files]

    # -- state -----------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        with self.lock:
            files = {
                fid: {**f, "content": base64.b64encode(f["content"]).decode()}
                for fid, f in self.files.items()
            }
            return {
                "bot_user": self.bot_user,
                "users": {str(k): v for k, v in self.users.items()},
                "chats": {str(k): v for k, v in self.chats.items()},
                "messages": {str(c): [m[i] for i in sorted(m)] for c, m in self.messages.items()},
                "next_message_id": {str(k): v for k, v in self.next_message_id.items()},
                "bot_message_ids": {str(k): v for k, v in self.bot_message_ids.items()},
                "updates": self.updates,
                "next_update_id": self.next_update_id,
                "confirmed_offset": self.confirmed_offset,
                "allowed_updates": self.allowed_updates,
                "blocked": sorted(self.blocked),
                "files": files,
                "callback_queries": self.callback_queries,
                "callback_answers": self.callback_answers,
                "commands": self.commands,
                "webhook_url": self.webhook_url,
                "chat_actions": self.chat_actions,
                "dropped_updates": self.dropped_updates,
                "seq": self._seq,
            }

    def load_state(self, state: dict[str, Any]) -> None:
        with self.lock:
            self._reset(int(state.get("next_update_id", 738_211_001)))
            self.bot_user = state.get("bot_user", self.bot_user)
            self.users = {int(k): v for k, v in state.get("users", {}).items()}
            self.chats = {int(k): v for k, v in state.get("chats", {}).items()}
            self.messages = {
                int(c): {m["message_id"]: m for m in ms}
                for c, ms in state.get("messages", {}).items()
            }
            self.next_message_id = {int(k): v for k, v in state.get("next_message_id", {}).items()}
            self.bot_message_ids = {int(k): v for k, v in state.get("bot_message_ids", {}).items()}
            self.updates = list(state.get("updates", []))
            self.confirmed_offset = int(state.get("confirmed_offset", 0))
            self.allowed_updates = list(state.get("allowed_updates", DEFAULT_ALLOWED))
            self.blocked = {int(c) for c in state.get("blocked", [])}
            self.files = {
                fid: {**f, "content": base64.b64decode(f["content"])}
                for fid, f in state.get("files", {}).items()
            }
            self.callback_queries = dict(state.get("callback_queries", {}))
            self.callback_answers = list(state.get("callback_answers", []))
            self.commands = dict(state.get("commands", {}))
            self.webhook_url = str(state.get("webhook_url", ""))
            self.chat_actions = list(state.get("chat_actions", []))
            self.dropped_updates = int(state.get("dropped_updates", 0))
            self._seq = int(state.get("seq", 0))
            self.cond.notify_all()
