"""An emulator of the Telegram Bot API, for python-telegram-bot 22 on loopback.

The bot side is the real wire protocol: ``POST /bot<token>/<method>`` (GET works
too; method names are case-insensitive, as on Telegram) and file downloads at
``GET /file/bot<token>/<file_path>``. Point PTB at it with both URLs, or file
downloads still go to api.telegram.org::

    Application.builder().token(token)
        .base_url(f"{server.url}/bot").base_file_url(f"{server.url}/file/bot")

Parameters may come as a query string, urlencoded or multipart form (what PTB
sends: non-string values JSON-encoded, so ``reply_markup`` is a JSON string) or
a JSON body. Answers are ``200 {"ok": true, "result": ...}``; errors carry the
real HTTP status, because PTB ignores ``ok`` and maps the status code
(400 BadRequest, 401 InvalidToken, 403 Forbidden, 409 Conflict, 429 RetryAfter
via ``parameters.retry_after``, anything else NetworkError).

What is faithful on purpose:

* ``getUpdates`` long-polls on a Condition; ``offset`` confirms every update
  below it, so anything fetched but not confirmed is delivered again on the next
  call (a bot killed mid-handler sees its update again); a negative offset keeps
  the last ``|offset|``; ``allowed_updates`` is sticky and, as on Telegram, only
  decides which *new* updates are created; a second poll terminates the first
  with 409, and so does an active webhook.
* Message ids grow per chat, update ids grow globally, dates are UTC seconds
  from ``clock``. User messages starting ``/cmd`` carry a ``bot_command`` entity
  (UTF-16 offsets), or PTB's CommandHandler never matches.
* Validation with Telegram's own descriptions: text 1-4096 characters after
  entity parsing, caption <= 1024, ``callback_data`` 1-64 UTF-8 bytes
  (``BUTTON_DATA_INVALID``), HTML/MarkdownV2 parse errors ("can't parse
  entities"), chat not found, 403 for a user who blocked the bot, "message is not
  modified", "message to edit not found", a callback query answered twice.
* ``editMessageText`` without ``reply_markup`` removes the inline keyboard, as
  Telegram does.
* In groups the bot is in privacy mode (``group_privacy=True``): it only gets
  commands, mentions of itself and replies to its messages.

The control side plays Telegram users, in process (``send_text``,
``edit_text``, ``send_document``, ``send_photo``, ``press_button``,
``block_bot``, ``sent``, ``wait_for_sent``, ...) and over HTTP (never counted,
never faulted):

* ``POST /_sandbox/users/{id}/messages`` ``{"text": "3500 реклама"}``, optional
  ``chat_id`` (negative, a group), ``chat_type`` ("group"/"supergroup"), ``title``,
  ``first_name``, ``username``, ``date``, ``reply_to_message_id``
* ``POST /_sandbox/users/{id}/edits`` ``{"message_id": 5, "text": "3600 реклама", "chat_id": ..}``
* ``POST /_sandbox/users/{id}/documents`` ``{"filename": "bill.pdf", "content_base64": "..",
  "mime_type": "application/pdf", "caption": ..}`` (or multipart with a file part ``document``)
* ``POST /_sandbox/users/{id}/photos`` ``{"content_base64": "..", "caption": ..}`` (or a
  file part ``photo``)
* ``POST /_sandbox/users/{id}/press`` ``{"message_id": 7, "callback_data": "cat:e91:3"}``
* ``POST /_sandbox/users/{id}/chat`` ``{"first_name": ..., "username": ...}`` opens a private chat
  without a message (so the bot may write first, as after /start)
* ``POST /_sandbox/users/{id}/block`` / ``DELETE /_sandbox/users/{id}/block``
* ``GET /_sandbox/chats/{id}/sent[?count=N&timeout=S]`` the bot's messages (current
  text and markup after edits); with ``count`` it waits for that many (408 on timeout)
* ``GET /_sandbox/chats/{id}/messages`` the whole chat, users and bot
* ``GET /_sandbox/callback_answers``; ``GET /_sandbox/updates`` pending updates and
  the confirmed offset; ``GET /_sandbox/files/{file_id}`` a stored file's bytes
* ``POST /_sandbox/rate_limit`` ``{"retry_after": 3, "count": 1, "match": "sendMessage"}``
  the next matching calls get 429 with ``parameters.retry_after``
* ``POST /_sandbox/webhook`` ``{"url": ...}`` as if another deployment set a webhook

Known gaps: no inline mode, payments, media groups, stickers, reply keyboards are
validated loosely and not shown in messages; entities are not produced for
``parse_mode`` text (``text`` holds the visible text); photos keep one size,
as uploaded; no automatic flood control (script 429s instead).
"""

from __future__ import annotations

import base64
import html
import json
import mimetypes
import re
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from sheetledger.sandbox.server import Emulator, HTTPError, Request, Response, route

__all__ = ["TelegramEmulator", "TelegramTimeout"]

JSON = dict[str, Any]

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024  # getFile refuses bigger files: "file is too big"
DEFAULT_ALLOWED = ("message", "edited_message", "callback_query")
# fmt: off
CHAT_ACTIONS = frozenset({
    "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
    "upload_document", "choose_sticker", "find_location", "record_video_note",
    "upload_video_note",
})
HTML_TAGS = frozenset({
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a",
    "code", "pre", "blockquote", "tg-emoji",
})
# fmt: on
# MarkdownV2 characters that are never markup outside code: unescaped, Telegram refuses the text.
MDV2_NEVER_MARKUP = frozenset("#+-={}.!")
MDV2_MARKUP = frozenset("*_~|`[]()>")
COMMAND_RE = re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?")
BOT_COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}\Z")
TOKEN_IN_PATH = r"(?P<token>[^/]+)"

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"
TERMINATED = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance "
    "is running"
)
WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete "
    "the webhook first"
)


class TelegramTimeout(TimeoutError):
    """``wait_for_sent``/``wait_until_confirmed`` gave up; the message says what was seen."""


class BotAPIError(HTTPError):
    """A Bot API error answer: real status and ``{"ok": false, ...}`` body."""

    def __init__(self, status: int, description: str, parameters: JSON | None = None) -> None:
        body: JSON = {"ok": False, "error_code": status, "description": description}
        if parameters:
            body["parameters"] = parameters
        super().__init__(Response.json(body, status))
        self.description = description


T = TypeVar("T")


def _copy(value: T) -> T:
    """A deep copy of JSON data, so callers never hold the emulator's live objects."""
    copied: T = json.loads(json.dumps(value))
    return copied


def _ok(result: Any) -> Response:
    return Response.json({"ok": True, "result": result})


def _bad(description: str) -> BotAPIError:
    return BotAPIError(400, f"Bad Request: {description}")


Handler = Callable[..., Response]


def api(name: str, kind: str | None) -> Callable[[Handler], Handler]:
    """Route Bot API method ``name`` (case-insensitive, GET or POST) to the decorated handler."""
    pattern = rf"/bot{TOKEN_IN_PATH}/(?i:{name})"

    def mark(fn: Handler) -> Handler:
        return route("GET", pattern, kind=kind)(route("POST", pattern, kind=kind)(fn))

    return mark


# --------------------------------------------------------------------------- parameters


class Params:
    """A Bot API call's parameters, from query string, form, multipart or JSON alike."""

    def __init__(self, request: Request) -> None:
        values: dict[str, Any] = {k: v[0] for k, v in request.query.items() if v}
        values.update(request.form())
        self.values = values

    def has(self, name: str) -> bool:
        return self.values.get(name) not in (None, "")

    def text(self, name: str, default: str | None = None) -> str | None:
        value = self.values.get(name)
        if value is None or isinstance(value, dict):
            return default
        return value if isinstance(value, str) else json.dumps(value)

    def integer(self, name: str, default: int | None = None) -> int | None:
        value = self.values.get(name)
        if value in (None, ""):
            return default
        try:
            return int(float(value)) if isinstance(value, str) and "." in value else int(value)
        except (TypeError, ValueError):
            raise _bad(f"invalid {name} specified") from None

    def number(self, name: str, default: float) -> float:
        value = self.values.get(name)
        if value in (None, ""):
            return default
        try:
            return float(value)
        except (TypeError, ValueError):
            raise _bad(f"invalid {name} specified") from None

    def flag(self, name: str) -> bool:
        value = self.values.get(name)
        return value is True or (isinstance(value, str) and value.lower() in ("true", "1"))

    def structured(self, name: str, what: str) -> Any:
        """A structured field: PTB sends it as a JSON string, a JSON body sends it as is."""
        value = self.values.get(name)
        if not isinstance(value, str):
            return value
        if value == "":
            return None
        try:
            return json.loads(value)
        except ValueError:
            raise _bad(f"can't parse {what} JSON object") from None

    def inline_keyboard(self) -> JSON | None:
        """``reply_markup`` validated as Telegram does; the inline keyboard, if any."""
        return _check_inline_keyboard(self.structured("reply_markup", "reply keyboard markup"))

    def upload(self, name: str) -> JSON | str | None:
        """A multipart upload (dict) or a file_id/URL string."""
        value = self.values.get(name)
        return value if isinstance(value, dict | str) else None


def _utf16_len(text: str) -> int:
    """Telegram counts entity offsets in UTF-16 code units (an emoji is two)."""
    return len(text.encode("utf-16-le")) // 2


def _command_entities(text: str) -> list[JSON]:
    entities = []
    for match in COMMAND_RE.finditer(text):
        entities.append(
            {
                "offset": _utf16_len(text[: match.start()]),
                "length": _utf16_len(match.group(0)),
                "type": "bot_command",
            }
        )
    return entities


# --------------------------------------------------------------------------- formatting


def _visible_text(text: str, parse_mode: str | None) -> str:
    """The text as the user sees it; Telegram's "can't parse entities" errors when malformed."""
    if not parse_mode:
        return text
    mode = parse_mode.lower()
    if mode == "html":
        return _strip_html(text)
    if mode == "markdownv2":
        return _strip_markdown_v2(text)
    if mode == "markdown":
        return (
            re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
            .replace("*", "")
            .replace("_", "")
            .replace("`", "")
        )
    raise _bad(f"unsupported parse_mode {parse_mode}")


def _entities_error(message: str) -> BotAPIError:
    return _bad(f"can't parse entities: {message}")


def _strip_html(text: str) -> str:
    out: list[str] = []
    stack: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        offset = len(text[:i].encode())
        if char == "<":
            end = text.find(">", i)
            if end == -1:
                raise _entities_error(f"Unclosed start tag at byte offset {offset}")
            inner = text[i + 1 : end]
            closing = inner.startswith("/")
            words = (inner[1:] if closing else inner).split()
            name = words[0].lower() if words else ""
            if not closing:
                if name not in HTML_TAGS:
                    raise _entities_error(f'Unsupported start tag "{name}" at byte offset {offset}')
                stack.append(name)
            elif not stack:
                raise _entities_error(f"Unexpected end tag at byte offset {offset}")
            elif name and name != stack[-1]:
                raise _entities_error(
                    f'Unmatched end tag at byte offset {offset}, expected "</{stack[-1]}>", '
                    f'found "</{name}>"'
                )
            else:
                stack.pop()
            i = end + 1
        elif char == "&":
            entity = re.match(r"&(?:lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);", text[i:])
            if entity:
                out.append(html.unescape(entity.group(0)))
                i += len(entity.group(0))
            else:  # Telegram keeps an unknown "&..." as typed
                out.append(char)
                i += 1
        else:
            out.append(char)
            i += 1
    if stack:
        raise _entities_error(f'Can\'t find end tag corresponding to start tag "{stack[-1]}"')
    return "".join(out)


def _strip_markdown_v2(text: str) -> str:
    out: list[str] = []
    i = 0
    in_code = False
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        if char == "`":
            in_code = not in_code
            i += 1
            continue
        if in_code:
            out.append(char)
        elif char == "]" and text[i + 1 : i + 2] == "(":
            close = text.find(")", i)  # a link's URL is not shown and needs no escaping
            if close == -1:
                offset = len(text[:i].encode())
                raise _entities_error(f"Can't find end of a URL at byte offset {offset}")
            i = close
        elif char in MDV2_NEVER_MARKUP:
            raise _entities_error(
                f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
            )
        elif char not in MDV2_MARKUP:
            out.append(char)
        i += 1
    return "".join(out)


def _without_reply(message: JSON) -> JSON:
    """A message as quoted in ``reply_to_message``: Telegram nests only one level."""
    return {k: v for k, v in message.items() if k != "reply_to_message"}


def _check_inline_keyboard(markup: Any) -> JSON | None:
    """Validate ``reply_markup``; the inline keyboard to store on the message, if any."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise _bad("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" not in markup:
        # ReplyKeyboardMarkup / ReplyKeyboardRemove / ForceReply: Telegram accepts them
        # but never echoes them in Message.reply_markup.
        if not any(k in markup for k in ("keyboard", "remove_keyboard", "force_reply")):
            raise _bad("can't parse reply keyboard markup JSON object")
        return None
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise _bad('field "inline_keyboard" must be an Array of Arrays')
    for row in rows:
        for button in row:
            if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                raise _bad(
                    'can\'t parse inline keyboard button: Field "text" must be of type String'
                )
            if "callback_data" in button:
                data = button["callback_data"]
                size = len(str(data).encode())
                # The limit counts UTF-8 bytes: 33 Cyrillic letters are already too many.
                if not isinstance(data, str) or not 1 <= size <= MAX_CALLBACK_DATA_BYTES:
                    raise _bad("BUTTON_DATA_INVALID")
            elif "url" in button:
                if not re.match(r"(https?|tg)://\S+\Z", str(button["url"])):
                    raise _bad("BUTTON_URL_INVALID")
            elif not any(
                k.endswith(("_data", "url", "query", "web_app", "game", "pay", "text"))
                for k in button
                if k != "text"
            ):
                raise _bad("text buttons are unallowed in the inline keyboard")
    return {"inline_keyboard": rows}


# --------------------------------------------------------------------------- the emulator


class TelegramEmulator(Emulator):
    """The Bot API for one bot, plus the Telegram users who talk to it."""

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
    ) -> None:
        super().__init__(clock=clock)
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
            raise _bad("chat_id is empty")
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
            raise _bad("chat not found")
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

    # -- Bot API: identity and webhook ------------------------------------------------

    @api("getMe", kind="read")
    def get_me(self, request: Request, token: str) -> Response:
        return _ok(
            {
                **self.bot_user,
                "can_join_groups": True,
                "can_read_all_group_messages": not self.group_privacy,
                "supports_inline_queries": False,
                "can_connect_to_business": False,
                "has_main_web_app": False,
            }
        )

    @api("logOut", kind="write")
    def log_out(self, request: Request, token: str) -> Response:
        return _ok(True)

    @api("deleteWebhook", kind="write")
    def delete_webhook(self, request: Request, token: str) -> Response:
        params = Params(request)
        with self.lock:
            self.webhook_url = ""
            if params.flag("drop_pending_updates"):
                if self.updates:
                    self.confirmed_offset = max(self.confirmed_offset, self.next_update_id)
                self.updates.clear()
            self.cond.notify_all()
        return _ok(True)

    @api("setWebhook", kind="write")
    def set_webhook(self, request: Request, token: str) -> Response:
        params = Params(request)
        url = params.text("url", "") or ""
        if url and not url.startswith("https://"):
            raise _bad("bad webhook: HTTPS url must be provided for webhook")
        with self.lock:
            self.webhook_url = url
            self.cond.notify_all()  # a waiting poll is now in conflict with the webhook
        return _ok(True)

    @api("getWebhookInfo", kind="read")
    def get_webhook_info(self, request: Request, token: str) -> Response:
        with self.lock:
            return _ok(
                {
                    "url": self.webhook_url,
                    "has_custom_certificate": False,
                    "pending_update_count": len(self.updates),
                    "allowed_updates": list(self.allowed_updates),
                }
            )

    # -- Bot API: getUpdates -----------------------------------------------------------

    def _confirm(self, offset: int) -> None:
        if offset > 0:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
            if offset > self.confirmed_offset:
                self.confirmed_offset = offset
                self.cond.notify_all()
        elif offset < 0:
            # "-N": the last N updates; everything earlier is forgotten.
            self.updates = self.updates[offset:]
            if self.updates:
                self.confirmed_offset = max(self.confirmed_offset, self.updates[0]["update_id"])
            self.cond.notify_all()

    @api("getUpdates", kind="read")
    def get_updates(self, request: Request, token: str) -> Response:
        params = Params(request)
        offset = params.integer("offset", 0) or 0
        limit = min(max(params.integer("limit", 100) or 100, 1), 100)
        timeout = max(params.number("timeout", 0.0), 0.0)
        allowed = params.structured("allowed_updates", "allowed_updates")
        deadline = time.monotonic() + timeout
        with self.lock:
            if self.webhook_url:
                raise BotAPIError(409, WEBHOOK_ACTIVE)
            # A newer poll terminates an older one still waiting (two bot instances).
            self._poll_generation += 1
            generation = self._poll_generation
            self.cond.notify_all()
            if isinstance(allowed, list):  # absent keeps the previous setting; [] means default
                self.allowed_updates = [str(a) for a in allowed] or list(DEFAULT_ALLOWED)
            self._confirm(offset)
            while True:
                if generation != self._poll_generation:
                    raise BotAPIError(409, TERMINATED)
                if self.webhook_url:
                    raise BotAPIError(409, WEBHOOK_ACTIVE)
                if self.updates:
                    return _ok([_copy(u) for u in self.updates[:limit]])
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return _ok([])
                self._waiting_polls += 1
                self.cond.notify_all()
                try:
                    self.cond.wait(remaining)
                finally:
                    self._waiting_polls -= 1

    # -- Bot API: messages --------------------------------------------------------------

    def _bot_message(self, chat: JSON, extra: JSON, params: Params) -> JSON:
        """Store a message the bot sends (everything validated first: no id is burnt)."""
        keyboard = params.inline_keyboard()
        reply_to = params.integer("reply_to_message_id")
        reply_parameters = params.structured("reply_parameters", "reply parameters")
        if isinstance(reply_parameters, dict):
            reply_to = reply_parameters.get("message_id", reply_to)
        original = None
        if reply_to is not None:
            original = self._find_message(chat["id"], int(reply_to))
            if original is None:
                raise _bad("message to be replied not found")
        message: JSON = {
            "message_id": self._new_message_id(chat["id"]),
            "from": dict(self.bot_user),
            "chat": dict(chat),
            "date": self._now(),
            **extra,
        }
        if original is not None:
            message["reply_to_message"] = _without_reply(original)
        if keyboard is not None:
            message["reply_markup"] = keyboard
        self._store(message)
        self.bot_message_ids.setdefault(chat["id"], []).append(message["message_id"])
        self.cond.notify_all()
        return message

    def _caption(self, params: Params) -> JSON:
        caption = params.text("caption")
        if not caption:
            return {}
        visible = _visible_text(caption, params.text("parse_mode"))
        if len(visible) > MAX_CAPTION:
            raise _bad("message caption is too long")
        return {"caption": visible}

    @api("sendMessage", kind="write")
    def send_message(self, request: Request, token: str) -> Response:
        params = Params(request)
        with self.lock:
            chat = self._chat(params.values.get("chat_id"))
            text = params.text("text") or ""
            visible = _visible_text(text, params.text("parse_mode")).strip()
            if not visible:
                raise _bad("message text is empty")
            if len(visible) > MAX_TEXT:
                raise _bad("message is too long")
            self._check_can_write(chat)
            return _ok(self._bot_message(chat, {"text": visible}, params))

    def _editable(self, params: Params) -> JSON:
        if params.has("inline_message_id"):
            raise _bad("MESSAGE_ID_INVALID")
        chat = self._chat(params.values.get("chat_id"))
        message = self._find_message(chat["id"], params.integer("message_id"))
        if message is None:
            raise _bad("message to edit not found")
        if message["from"]["id"] != self.bot_user["id"]:
            raise _bad("message can't be edited")
        return message

    def _apply_edit(self, message: JSON, changes: JSON, keyboard: JSON | None) -> JSON:
        before = {k: message.get(k) for k in (*changes, "reply_markup")}
        after = {**changes, "reply_markup": keyboard}
        if before == after:
            raise _bad(NOT_MODIFIED[len("Bad Request: ") :])
        for key, value in changes.items():
            if value is None:
                message.pop(key, None)
            else:
                message[key] = value
        # Telegram drops the inline keyboard when an edit does not repeat it.
        if keyboard is None:
            message.pop("reply_markup", None)
        else:
            message["reply_markup"] = keyboard
        message["edit_date"] = self._now()
        self.cond.notify_all()
        return message

    @api("editMessageText", kind="write")
    def edit_message_text(self, request: Request, token: str) -> Response:
        params = Params(request)
        with self.lock:
            message = self._editable(params)
            visible = _visible_text(params.text("text") or "", params.text("parse_mode")).strip()
            if not visible:
                raise _bad("message text is empty")
            if len(visible) > MAX_TEXT:
                raise _bad("MESSAGE_TOO_LONG")
            if "text" not in message:
                raise _bad("there is no text in the message to edit")
            keyboard = params.inline_keyboard()
            return _ok(self._apply_edit(message, {"text": visible}, keyboard))

    @api("editMessageCaption", kind="write")
    def edit_message_caption(self, request: Request, token: str) -> Response:
        params = Params(request)
        with self.lock:
            message = self._editable(params)
            if "text" in message:
                raise _bad("there is no caption in the message to edit")
            keyboard = params.inline_keyboard()
            caption = self._caption(params).get("caption")  # None removes the caption
            return _ok(self._apply_edit(message, {"caption": caption}, keyboard))

    @api("editMessageReplyMarkup", kind="write")
    def edit_message_reply_markup(self, request: Request, token: str) -> Response:
        params = Params(request)
        with self.lock:
            message = self._editable(params)
            keyboard = params.inline_keyboard()
            return _ok(self._apply_edit(message, {}, keyboard))

    @api("deleteMessage", kind="write")
    def delete_message(self, request: Request, token: str) -> Response:
        params = Params(request)
        with self.lock:
            chat = self._chat(params.values.get("chat_id"))
            message_id = params.integer("message_id")
            if self._find_message(chat["id"], message_id) is None:
                raise _bad("message to delete not found")
            del self.messages[chat["id"]][message_id]  # type: ignore[arg-type]
            ids = self.bot_message_ids.get(chat["id"], [])
            if message_id in ids:
                ids.remove(message_id)
            self.cond.notify_all()
            return _ok(True)

    @api("answerCallbackQuery", kind="write")
    def answer_callback_query(self, request: Request, token: str) -> Response:
        params = Params(request)
        with self.lock:
            query_id = params.text("callback_query_id") or ""
            query = self.callback_queries.get(query_id)
            if query is None or query.get("answered"):
                raise _bad(QUERY_INVALID[len("Bad Request: ") :])
            text = params.text("text")
            if text is not None and len(text) > 200:
                raise _bad("MESSAGE_TOO_LONG")
            query["answered"] = True
            self.callback_answers.append(
                {
                    "callback_query_id": query_id,
                    "user_id": query["user_id"],
                    "data": query["data"],
                    "text": text,
                    "show_alert": params.flag("show_alert"),
                    "url": params.text("url"),
                    "cache_time": params.integer("cache_time", 0),
                }
            )
            self.cond.notify_all()
            return _ok(True)

    @api("sendChatAction", kind="write")
    def send_chat_action(self, request: Request, token: str) -> Response:
        params = Params(request)
        with self.lock:
            chat = self._chat(params.values.get("chat_id"))
            action = params.text("action") or ""
            if action not in CHAT_ACTIONS:
                raise _bad("wrong parameter action in request")
            self._check_can_write(chat)
            self.chat_actions.append({"chat_id": chat["id"], "action": action, "date": self._now()})
            return _ok(True)

    # -- Bot API: commands -----------------------------------------------------------------

    @staticmethod
    def _commands_key(params: Params) -> str:
        scope = params.structured("scope", "scope") or {"type": "default"}
        return json.dumps([scope, params.text("language_code", "") or ""], sort_keys=True)

    @api("setMyCommands", kind="write")
    def set_my_commands(self, request: Request, token: str) -> Response:
        params = Params(request)
        commands = params.structured("commands", "commands")
        if not isinstance(commands, list) or len(commands) > 100:
            too_many = isinstance(commands, list)
            raise _bad("BOT_COMMANDS_TOO_MUCH" if too_many else "commands is empty")
        for command in commands:
            if not isinstance(command, dict) or not BOT_COMMAND_NAME.match(
                str(command.get("command", ""))
            ):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
        with self.lock:
            self.commands[self._commands_key(params)] = [
                {"command": c["command"], "description": c["description"]} for c in commands
            ]
        return _ok(True)

    @api("deleteMyCommands", kind="write")
    def delete_my_commands(self, request: Request, token: str) -> Response:
        params = Params(request)
        with self.lock:
            self.commands.pop(self._commands_key(params), None)
        return _ok(True)

    @api("getMyCommands", kind="read")
    def get_my_commands(self, request: Request, token: str) -> Response:
        params = Params(request)
        with self.lock:
            return _ok(list(self.commands.get(self._commands_key(params), [])))

    # -- Bot API: files -----------------------------------------------------------------

    def _store_file(
        self, content: bytes, *, kind: str, file_name: str | None, mime_type: str | None
    ) -> JSON:
        number = self._next_seq()
        prefix = {"photo": "AgACAgIAAxkBAAI", "document": "BQACAgIAAxkBAAI"}[kind]
        folder = {"photo": "photos", "document": "documents"}[kind]
        extension = ""
        if file_name and "." in file_name:
            extension = "." + file_name.rsplit(".", 1)[1]
        elif kind == "photo":
            extension = ".jpg"
        stored = {
            "file_id": f"{prefix}{number:08d}",
            "file_unique_id": f"AgAD{number:06d}",
            "file_size": len(content),
            "file_path": f"{folder}/file_{number}{extension}",
            "file_name": file_name,
            "mime_type": mime_type,
            "kind": kind,
            "content": content,
        }
        self.files[str(stored["file_id"])] = stored
        return stored

    def _file_from_param(self, value: JSON | str | None, kind: str) -> JSON:
        if isinstance(value, dict):
            content = value.get("content", b"")
            if not content:
                raise _bad("file must be non-empty")
            return self._store_file(
                content,
                kind=kind,
                file_name=value.get("filename"),
                mime_type=value.get("content_type")
                or mimetypes.guess_type(value.get("filename") or "")[0],
            )
        if not value:
            raise _bad(f"there is no {kind} in the request")
        if value in self.files:
            return self.files[value]
        if value.startswith(("http://", "https://")):
            raise _bad("failed to get HTTP URL content")  # no internet in the sandbox
        raise _bad("wrong file identifier/HTTP URL specified")

    @staticmethod
    def _document_object(stored: JSON) -> JSON:
        document = {
            "file_id": stored["file_id"],
            "file_unique_id": stored["file_unique_id"],
            "file_size": stored["file_size"],
        }
        if stored.get("file_name"):
            document["file_name"] = stored["file_name"]
        if stored.get("mime_type"):
            document["mime_type"] = stored["mime_type"]
        return document

    @staticmethod
    def _photo_object(stored: JSON) -> list[JSON]:
        return [
            {
                "file_id": stored["file_id"],
                "file_unique_id": stored["file_unique_id"],
                "file_size": stored["file_size"],
                "width": stored.get("width", 800),
                "height": stored.get("height", 600),
            }
        ]

    @api("sendDocument", kind="write")
    def send_document_api(self, request: Request, token: str) -> Response:
        params = Params(request)
        with self.lock:
            chat = self._chat(params.values.get("chat_id"))
            caption = self._caption(params)
            self._check_can_write(chat)
            stored = self._file_from_param(params.upload("document"), "document")
            extra = {"document": self._document_object(stored), **caption}
            return _ok(self._bot_message(chat, extra, params))

    @api("sendPhoto", kind="write")
    def send_photo_api(self, request: Request, token: str) -> Response:
        params = Params(request)
        with self.lock:
            chat = self._chat(params.values.get("chat_id"))
            caption = self._caption(params)
            self._check_can_write(chat)
            stored = self._file_from_param(params.upload("photo"), "photo")
            if stored["kind"] != "photo":
                raise _bad("wrong file identifier/HTTP URL specified")
            extra = {"photo": self._photo_object(stored), **caption}
            return _ok(self._bot_message(chat, extra, params))

    @api("getFile", kind="read")
    def get_file(self, request: Request, token: str) -> Response:
        params = Params(request)
        with self.lock:
            file_id = params.text("file_id") or ""
            stored = self.files.get(file_id)
            if stored is None:
                raise _bad("wrong file_id or the file is temporarily unavailable")
            if stored["file_size"] > MAX_DOWNLOAD_BYTES:
                raise _bad("file is too big")
            return _ok(
                {
                    "file_id": stored["file_id"],
                    "file_unique_id": stored["file_unique_id"],
                    "file_size": stored["file_size"],
                    "file_path": stored["file_path"],
                }
            )

    @route("GET", rf"/file/bot{TOKEN_IN_PATH}/(?P<file_path>.+)", kind="read")
    def download_file(self, request: Request, token: str, file_path: str) -> Response:
        with self.lock:
            stored = next((f for f in self.files.values() if f["file_path"] == file_path), None)
        if stored is None:
            raise BotAPIError(404, "Not Found")
        mime = stored.get("mime_type") or "application/octet-stream"
        return Response(200, stored["content"], {"Content-Type": mime})

    @route("GET", rf"/bot{TOKEN_IN_PATH}/[^/]+")
    @route("POST", rf"/bot{TOKEN_IN_PATH}/[^/]+")
    def unknown_method(self, request: Request, token: str) -> Response:
        raise BotAPIError(404, "Not Found")

    # -- control side: users act ----------------------------------------------------------

    def _user(self, user_id: int, first_name: str | None, username: str | None) -> JSON:
        user = self.users.get(user_id)
        if user is None:
            user = {
                "id": user_id,
                "is_bot": False,
                "first_name": first_name or f"User{user_id}",
                "language_code": "ru",
            }
            self.users[user_id] = user
        if first_name:
            user["first_name"] = first_name
        if username:
            user["username"] = username
        return user

    def _user_chat(
        self, user: JSON, chat_id: int | None, chat_type: str, title: str | None
    ) -> JSON:
        if chat_id is None or chat_id == user["id"]:
            chat = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
            if "username" in user:
                chat["username"] = user["username"]
            self.chats[user["id"]] = chat
            return chat
        existing = self.chats.get(chat_id)
        if existing is None:
            if chat_type not in ("group", "supergroup"):
                raise ValueError(f"chat {chat_id} needs chat_type 'group' or 'supergroup'")
            if chat_id >= 0:
                raise ValueError(f"group chat ids are negative, got {chat_id}")
            existing = {"id": chat_id, "type": chat_type, "title": title or f"Group {chat_id}"}
            self.chats[chat_id] = existing
        elif title:
            existing["title"] = title
        return existing

    def open_chat(
        self, user_id: int, *, first_name: str | None = None, username: str | None = None
    ) -> JSON:
        """The user's private chat with the bot exists (they pressed Start); returns the Chat."""
        with self.lock:
            user = self._user(user_id, first_name, username)
            return dict(self._user_chat(user, None, "private", None))

    def _reaches_bot(self, chat: JSON, message: JSON) -> bool:
        """Privacy mode: in groups a bot only sees commands, mentions and replies to itself."""
        if chat["type"] == "private" or not self.group_privacy:
            return True
        text = message.get("text") or message.get("caption") or ""
        replied = message.get("reply_to_message", {}).get("from", {}).get("id")
        return (
            text.startswith("/")
            or f"@{self.bot_user['username']}".lower() in text.lower()
            or replied == self.bot_user["id"]
        )

    def _user_message(
        self,
        user_id: int,
        content: JSON,
        *,
        chat_id: int | None,
        chat_type: str,
        title: str | None,
        first_name: str | None,
        username: str | None,
        date: int | None,
        reply_to_message_id: int | None,
    ) -> JSON:
        user = self._user(user_id, first_name, username)
        chat = self._user_chat(user, chat_id, chat_type, title)
        # Writing to a bot you blocked means pressing "Restart", which unblocks it.
        if chat["type"] == "private":
            self.blocked.discard(user_id)
        message: JSON = {
            "message_id": self._new_message_id(chat["id"]),
            "from": dict(user),
            "chat": dict(chat),
            "date": int(date) if date is not None else self._now(),
            **content,
        }
        if reply_to_message_id is not None:
            original = self._find_message(chat["id"], reply_to_message_id)
            if original is None:
                raise LookupError(f"no message {reply_to_message_id} in chat {chat['id']}")
            message["reply_to_message"] = _without_reply(original)
        self._store(message)
        if self._reaches_bot(chat, message):
            self._push_update("message", message)
        else:
            self.dropped_updates += 1
        return _copy(message)

    def send_text(
        self,
        user_id: int,
        text: str,
        *,
        chat_id: int | None = None,
        chat_type: str = "private",
        title: str | None = None,
        first_name: str | None = None,
        username: str | None = None,
        date: int | None = None,
        reply_to_message_id: int | None = None,
    ) -> JSON:
        """The user writes ``text`` (to the bot, or in group ``chat_id``); returns the Message."""
        content: JSON = {"text": text}
        entities = _command_entities(text)
        if entities:
            content["entities"] = entities
        with self.lock:
            return self._user_message(
                user_id,
                content,
                chat_id=chat_id,
                chat_type=chat_type,
                title=title,
                first_name=first_name,
                username=username,
                date=date,
                reply_to_message_id=reply_to_message_id,
            )

    def edit_text(
        self, user_id: int, message_id: int, new_text: str, *, chat_id: int | None = None
    ) -> JSON:
        """The user edits their message: an ``edited_message`` update; returns the Message."""
        with self.lock:
            chat_key = user_id if chat_id is None else chat_id
            message = self._find_message(chat_key, message_id)
            if message is None or message["from"]["id"] != user_id:
                raise LookupError(f"user {user_id} has no message {message_id} in chat {chat_key}")
            message["text"] = new_text
            message["edit_date"] = self._now()
            entities = _command_entities(new_text)
            if entities:
                message["entities"] = entities
            else:
                message.pop("entities", None)
            self._push_update("edited_message", message)
            return _copy(message)

    def send_document(
        self,
        user_id: int,
        filename: str,
        content: bytes,
        mime_type: str | None = None,
        caption: str | None = None,
        *,
        chat_id: int | None = None,
        chat_type: str = "private",
        first_name: str | None = None,
        username: str | None = None,
    ) -> JSON:
        """The user sends a file; the bot can getFile and download it. Returns the Message."""
        with self.lock:
            stored = self._store_file(
                content,
                kind="document",
                file_name=filename,
                mime_type=mime_type or mimetypes.guess_type(filename)[0],
            )
            body: JSON = {"document": self._document_object(stored)}
            if caption:
                body["caption"] = caption
            return self._user_message(
                user_id,
                body,
                chat_id=chat_id,
                chat_type=chat_type,
                title=None,
                first_name=first_name,
                username=username,
                date=None,
                reply_to_message_id=None,
            )

    def send_photo(
        self,
        user_id: int,
        content: bytes,
        caption: str | None = None,
        *,
        width: int = 1280,
        height: int = 960,
        chat_id: int | None = None,
        chat_type: str = "private",
        first_name: str | None = None,
        username: str | None = None,
    ) -> JSON:
        """The user sends a photo (one size, stored as given). Returns the Message."""
        with self.lock:
            stored = self._store_file(content, kind="photo", file_name=None, mime_type="image/jpeg")
            stored.update(width=width, height=height)
            body: JSON = {"photo": self._photo_object(stored)}
            if caption:
                body["caption"] = caption
            return self._user_message(
                user_id,
                body,
                chat_id=chat_id,
                chat_type=chat_type,
                title=None,
                first_name=first_name,
                username=username,
                date=None,
                reply_to_message_id=None,
            )

    def press_button(
        self, user_id: int, message_id: int, callback_data: str, chat_id: int | None = None
    ) -> JSON:
        """The user taps an inline button of a bot message: a ``callback_query`` update.

        Raises ``LookupError`` when the message (as it is now, after edits) has no such button.
        """
        with self.lock:
            chat_key = user_id if chat_id is None else chat_id
            message = self._find_message(chat_key, message_id)
            if message is None or message["from"]["id"] != self.bot_user["id"]:
                raise LookupError(f"no bot message {message_id} in chat {chat_key}")
            rows = message.get("reply_markup", {}).get("inline_keyboard", [])
            buttons = [b.get("callback_data") for row in rows for b in row]
            if callback_data not in buttons:
                raise LookupError(
                    f"message {message_id} in chat {chat_key} has no button {callback_data!r};"
                    f" its buttons: {[b for b in buttons if b is not None]}"
                )
            user = self._user(user_id, None, None)
            query_id = str(4_382_000_000_000_000_000 + self._next_seq())
            query = {
                "id": query_id,
                "from": dict(user),
                "message": _copy(message),
                "chat_instance": str(-(7_755_010_283_474_538_001 + abs(chat_key))),
                "data": callback_data,
            }
            self.callback_queries[query_id] = {
                "user_id": user_id,
                "data": callback_data,
                "answered": False,
            }
            self._push_update("callback_query", query)
            return _copy(query)

    def block_bot(self, user_id: int) -> None:
        """The user blocks the bot: sends to their chat get 403 until they write again."""
        with self.lock:
            self.blocked.add(user_id)

    def unblock_bot(self, user_id: int) -> None:
        with self.lock:
            self.blocked.discard(user_id)

    def remove_bot_from_chat(self, chat_id: int) -> None:
        """The bot is kicked from a group: sends there get 403."""
        with self.lock:
            self.blocked.add(chat_id)

    # -- control side: observing -----------------------------------------------------------

    def _sent_now(self, chat_id: int) -> list[JSON]:
        stored = self.messages.get(chat_id, {})
        ids = self.bot_message_ids.get(chat_id, [])
        return [_copy(stored[i]) for i in ids if i in stored]

    def sent(self, chat_id: int) -> list[dict[str, Any]]:
        """What the bot sent to ``chat_id``, oldest first, as it is now (after edits)."""
        with self.lock:
            return self._sent_now(chat_id)

    def chat_history(self, chat_id: int) -> list[dict[str, Any]]:
        """Every message of the chat, the users' and the bot's, by message id."""
        with self.lock:
            stored = self.messages.get(chat_id, {})
            return [_copy(stored[i]) for i in sorted(stored)]

    def wait_for_sent(
        self,
        chat_id: int,
        count: int = 1,
        timeout: float = 5.0,
        predicate: Callable[[dict[str, Any]], bool] | None = None,
    ) -> list[dict[str, Any]]:
        """Block until the bot's messages in ``chat_id`` matching ``predicate`` number ``count``.

        Returns those messages; raises ``TelegramTimeout`` listing what was sent.
        """
        matches: list[JSON] = []

        def ready() -> bool:
            nonlocal matches
            matches = [m for m in self._sent_now(chat_id) if predicate is None or predicate(m)]
            return len(matches) >= count

        with self.cond:
            if not self.cond.wait_for(ready, timeout):
                texts = [m.get("text", m.get("caption")) for m in self._sent_now(chat_id)]
                raise TelegramTimeout(
                    f"chat {chat_id}: wanted {count} matching bot message(s) within {timeout}s, "
                    f"got {len(matches)}; the bot sent: {texts}"
                )
            return matches

    def wait_for_answers(self, count: int = 1, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Block until ``count`` callback queries have been answered."""
        with self.cond:
            if not self.cond.wait_for(lambda: len(self.callback_answers) >= count, timeout):
                raise TelegramTimeout(
                    f"wanted {count} answered callback queries, got {len(self.callback_answers)}"
                )
            return list(self.callback_answers)

    def wait_until_confirmed(self, update_id: int, timeout: float = 5.0) -> None:
        """Block until the bot confirmed ``update_id`` (called getUpdates with a higher offset)."""
        with self.cond:
            if not self.cond.wait_for(lambda: self.confirmed_offset > update_id, timeout):
                raise TelegramTimeout(
                    f"update {update_id} not confirmed within {timeout}s "
                    f"(confirmed offset {self.confirmed_offset})"
                )

    def wait_for_poll(self, timeout: float = 5.0) -> None:
        """Block until a getUpdates long poll is waiting for updates."""
        with self.cond:
            if not self.cond.wait_for(lambda: self._waiting_polls > 0, timeout):
                raise TelegramTimeout(f"no getUpdates long poll started within {timeout}s")

    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates created and not yet confirmed by the bot (what getUpdates would return)."""
        with self.lock:
            return _copy(self.updates)

    def file_content(self, file_id: str) -> bytes:
        with self.lock:
            return bytes(self.files[file_id]["content"])

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

    # -- HTTP control side -----------------------------------------------------------------

    @staticmethod
    def _control_body(request: Request) -> JSON:
        if request.content_type == "application/json":
            body = request.json() or {}
        else:
            body = request.form()
        if not isinstance(body, dict):
            raise HTTPError(Response.json({"error": "expected a JSON object"}, 400))
        return body

    @staticmethod
    def _control_call(action: Callable[[], Any], status: int = 201) -> Response:
        try:
            return Response.json(action(), status)
        except (LookupError, ValueError) as exc:
            return Response.json({"error": str(exc)}, 404 if isinstance(exc, LookupError) else 400)

    @staticmethod
    def _optional_int(value: Any) -> int | None:
        return None if value in (None, "") else int(value)

    @route("POST", r"/_sandbox/users/(?P<user_id>\d+)/messages")
    def _control_send_text(self, request: Request, user_id: str) -> Response:
        body = self._control_body(request)
        if not isinstance(body.get("text"), str):
            return Response.json({"error": "text is required"}, 400)
        return self._control_call(
            lambda: self.send_text(
                int(user_id),
                body["text"],
                chat_id=self._optional_int(body.get("chat_id")),
                chat_type=str(body.get("chat_type", "private")),
                title=body.get("title"),
                first_name=body.get("first_name"),
                username=body.get("username"),
                date=self._optional_int(body.get("date")),
                reply_to_message_id=self._optional_int(body.get("reply_to_message_id")),
            )
        )

    @route("POST", r"/_sandbox/users/(?P<user_id>\d+)/edits")
    def _control_edit_text(self, request: Request, user_id: str) -> Response:
        body = self._control_body(request)
        return self._control_call(
            lambda: self.edit_text(
                int(user_id),
                int(body["message_id"]),
                str(body["text"]),
                chat_id=self._optional_int(body.get("chat_id")),
            )
        )

    @staticmethod
    def _upload(body: JSON, part: str) -> tuple[bytes, str | None, str | None]:
        upload = body.get(part)
        if isinstance(upload, dict):
            return upload["content"], upload.get("filename"), upload.get("content_type")
        if "content_base64" not in body:
            raise ValueError(f"send a file part {part!r} or content_base64")
        return base64.b64decode(body["content_base64"]), body.get("filename"), body.get("mime_type")

    @route("POST", r"/_sandbox/users/(?P<user_id>\d+)/documents")
    def _control_send_document(self, request: Request, user_id: str) -> Response:
        body = self._control_body(request)

        def act() -> JSON:
            content, filename, mime = self._upload(body, "document")
            return self.send_document(
                int(user_id),
                filename or "file.bin",
                content,
                body.get("mime_type") or mime,
                body.get("caption") or None,
                chat_id=self._optional_int(body.get("chat_id")),
            )

        return self._control_call(act)

    @route("POST", r"/_sandbox/users/(?P<user_id>\d+)/photos")
    def _control_send_photo(self, request: Request, user_id: str) -> Response:
        body = self._control_body(request)

        def act() -> JSON:
            content, _, _ = self._upload(body, "photo")
            return self.send_photo(
                int(user_id),
                content,
                body.get("caption") or None,
                chat_id=self._optional_int(body.get("chat_id")),
            )

        return self._control_call(act)

    @route("POST", r"/_sandbox/users/(?P<user_id>\d+)/press")
    def _control_press(self, request: Request, user_id: str) -> Response:
        body = self._control_body(request)
        return self._control_call(
            lambda: self.press_button(
                int(user_id),
                int(body["message_id"]),
                str(body["callback_data"]),
                chat_id=self._optional_int(body.get("chat_id")),
            )
        )

    @route("POST", r"/_sandbox/users/(?P<user_id>\d+)/chat")
    def _control_open_chat(self, request: Request, user_id: str) -> Response:
        body = self._control_body(request)
        return self._control_call(
            lambda: self.open_chat(
                int(user_id), first_name=body.get("first_name"), username=body.get("username")
            )
        )

    @route("POST", r"/_sandbox/users/(?P<user_id>\d+)/block")
    def _control_block(self, request: Request, user_id: str) -> Response:
        self.block_bot(int(user_id))
        return Response.empty()

    @route("DELETE", r"/_sandbox/users/(?P<user_id>\d+)/block")
    def _control_unblock(self, request: Request, user_id: str) -> Response:
        self.unblock_bot(int(user_id))
        return Response.empty()

    @route("GET", r"/_sandbox/chats/(?P<chat_id>-?\d+)/sent")
    def _control_sent(self, request: Request, chat_id: str) -> Response:
        count = request.arg("count")
        if count is None:
            return Response.json(self.sent(int(chat_id)))
        timeout = float(request.arg("timeout", "5") or 5)
        try:
            return Response.json(self.wait_for_sent(int(chat_id), int(count), timeout))
        except TelegramTimeout as exc:
            return Response.json({"error": str(exc)}, 408)

    @route("GET", r"/_sandbox/chats/(?P<chat_id>-?\d+)/messages")
    def _control_history(self, request: Request, chat_id: str) -> Response:
        return Response.json(self.chat_history(int(chat_id)))

    @route("GET", r"/_sandbox/callback_answers")
    def _control_answers(self, request: Request) -> Response:
        with self.lock:
            return Response.json(list(self.callback_answers))

    @route("GET", r"/_sandbox/updates")
    def _control_updates(self, request: Request) -> Response:
        with self.lock:
            return Response.json(
                {"pending": self.pending_updates(), "confirmed_offset": self.confirmed_offset}
            )

    @route("GET", r"/_sandbox/files/(?P<file_id>[^/]+)")
    def _control_file(self, request: Request, file_id: str) -> Response:
        with self.lock:
            stored = self.files.get(file_id)
        if stored is None:
            return Response.json({"error": f"no file {file_id}"}, 404)
        mime = stored.get("mime_type") or "application/octet-stream"
        return Response(200, stored["content"], {"Content-Type": mime})

    @route("POST", r"/_sandbox/rate_limit")
    def _control_rate_limit(self, request: Request) -> Response:
        body = self._control_body(request)
        self.rate_limit_next(
            int(body.get("retry_after", 1)), int(body.get("count", 1)), str(body.get("match", ""))
        )
        return Response.json({"retry_after": self.retry_after}, 201)

    @route("POST", r"/_sandbox/webhook")
    def _control_webhook(self, request: Request) -> Response:
        body = self._control_body(request)
        with self.lock:
            self.webhook_url = str(body.get("url", ""))
            self.cond.notify_all()
        return Response.json({"url": self.webhook_url}, 201)
