"""Bot API methods without files: identity, webhook, getUpdates, messages, callbacks, commands."""

from __future__ import annotations

import json
import re
import time

from sheetledger.sandbox.server import Request, Response, route
from sheetledger.sandbox.telegram.entities import visible_text
from sheetledger.sandbox.telegram.markup import inline_keyboard
from sheetledger.sandbox.telegram.state import DEFAULT_ALLOWED, TelegramState
from sheetledger.sandbox.telegram.wire import (
    JSON,
    NOT_MODIFIED,
    QUERY_INVALID,
    TERMINATED,
    TOKEN_IN_PATH,
    WEBHOOK_ACTIVE,
    BotAPIError,
    Params,
    api,
    bad,
    copy_json,
    ok,
)

MAX_TEXT = 4096
# fmt: off
CHAT_ACTIONS = frozenset({
    "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
    "upload_document", "choose_sticker", "find_location", "record_video_note",
    "upload_video_note",
})
# fmt: on
BOT_COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}\Z")


class BotMethods(TelegramState):
    """What the bot calls, files aside."""

    # -- Bot API: identity and webhook ------------------------------------------------

    @api("getMe", kind="read")
    def get_me(self, request: Request, token: str) -> Response:
        return ok(
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
        return ok(True)

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
        return ok(True)

    @api("setWebhook", kind="write")
    def set_webhook(self, request: Request, token: str) -> Response:
        params = Params(request)
        url = params.text("url", "") or ""
        if url and not url.startswith("https://"):
            raise bad("bad webhook: HTTPS url must be provided for webhook")
        with self.lock:
            self.webhook_url = url
            self.cond.notify_all()  # a waiting poll is now in conflict with the webhook
        return ok(True)

    @api("getWebhookInfo", kind="read")
    def get_webhook_info(self, request: Request, token: str) -> Response:
        with self.lock:
            return ok(
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
                    return ok([copy_json(u) for u in self.updates[:limit]])
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return ok([])
                self._waiting_polls += 1
                self.cond.notify_all()
                try:
                    self.cond.wait(remaining)
                finally:
                    self._waiting_polls -= 1

    # -- Bot API: messages --------------------------------------------------------------

    @api("sendMessage", kind="write")
    def send_message(self, request: Request, token: str) -> Response:
        params = Params(request)
        with self.lock:
            chat = self._chat(params.values.get("chat_id"))
            text = params.text("text") or ""
            visible = visible_text(text, params.text("parse_mode")).strip()
            if not visible:
                raise bad("message text is empty")
            if len(visible) > MAX_TEXT:
                raise bad("message is too long")
            self._check_can_write(chat)
            return ok(self._bot_message(chat, {"text": visible}, params))

    def _editable(self, params: Params) -> JSON:
        if params.has("inline_message_id"):
            raise bad("MESSAGE_ID_INVALID")
        chat = self._chat(params.values.get("chat_id"))
        message = self._find_message(chat["id"], params.integer("message_id"))
        if message is None:
            raise bad("message to edit not found")
        if message["from"]["id"] != self.bot_user["id"]:
            raise bad("message can't be edited")
        return message

    def _apply_edit(self, message: JSON, changes: JSON, keyboard: JSON | None) -> JSON:
        before = {k: message.get(k) for k in (*changes, "reply_markup")}
        after = {**changes, "reply_markup": keyboard}
        if before == after:
            raise bad(NOT_MODIFIED[len("Bad Request: ") :])
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
            visible = visible_text(params.text("text") or "", params.text("parse_mode")).strip()
            if not visible:
                raise bad("message text is empty")
            if len(visible) > MAX_TEXT:
                raise bad("MESSAGE_TOO_LONG")
            if "text" not in message:
                raise bad("there is no text in the message to edit")
            keyboard = inline_keyboard(params)
            return ok(self._apply_edit(message, {"text": visible}, keyboard))

    @api("editMessageCaption", kind="write")
    def edit_message_caption(self, request: Request, token: str) -> Response:
        params = Params(request)
        with self.lock:
            message = self._editable(params)
            if "text" in message:
                raise bad("there is no caption in the message to edit")
            keyboard = inline_keyboard(params)
            caption = self._caption(params).get("caption")  # None removes the caption
            return ok(self._apply_edit(message, {"caption": caption}, keyboard))

    @api("editMessageReplyMarkup", kind="write")
    def edit_message_reply_markup(self, request: Request, token: str) -> Response:
        params = Params(request)
        with self.lock:
            message = self._editable(params)
            keyboard = inline_keyboard(params)
            return ok(self._apply_edit(message, {}, keyboard))

    @api("deleteMessage", kind="write")
    def delete_message(self, request: Request, token: str) -> Response:
        params = Params(request)
        with self.lock:
            chat = self._chat(params.values.get("chat_id"))
            message_id = params.integer("message_id")
            if self._find_message(chat["id"], message_id) is None:
                raise bad("message to delete not found")
            del self.messages[chat["id"]][message_id]  # type: ignore[arg-type]
            ids = self.bot_message_ids.get(chat["id"], [])
            if message_id in ids:
                ids.remove(message_id)
            self.cond.notify_all()
            return ok(True)

    @api("answerCallbackQuery", kind="write")
    def answer_callback_query(self, request: Request, token: str) -> Response:
        params = Params(request)
        with self.lock:
            query_id = params.text("callback_query_id") or ""
            query = self.callback_queries.get(query_id)
            if query is None or query.get("answered"):
                raise bad(QUERY_INVALID[len("Bad Request: ") :])
            text = params.text("text")
            if text is not None and len(text) > 200:
                raise bad("MESSAGE_TOO_LONG")
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
            return ok(True)

    @api("sendChatAction", kind="write")
    def send_chat_action(self, request: Request, token: str) -> Response:
        params = Params(request)
        with self.lock:
            chat = self._chat(params.values.get("chat_id"))
            action = params.text("action") or ""
            if action not in CHAT_ACTIONS:
                raise bad("wrong parameter action in request")
            self._check_can_write(chat)
            self.chat_actions.append({"chat_id": chat["id"], "action": action, "date": self._now()})
            return ok(True)

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
            raise bad("BOT_COMMANDS_TOO_MUCH" if too_many else "commands is empty")
        for command in commands:
            if not isinstance(command, dict) or not BOT_COMMAND_NAME.match(
                str(command.get("command", ""))
            ):
                raise bad("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise bad("BOT_COMMAND_DESCRIPTION_INVALID")
        with self.lock:
            self.commands[self._commands_key(params)] = [
                {"command": c["command"], "description": c["description"]} for c in commands
            ]
        return ok(True)

    @api("deleteMyCommands", kind="write")
    def delete_my_commands(self, request: Request, token: str) -> Response:
        params = Params(request)
        with self.lock:
            self.commands.pop(self._commands_key(params), None)
        return ok(True)

    @api("getMyCommands", kind="read")
    def get_my_commands(self, request: Request, token: str) -> Response:
        params = Params(request)
        with self.lock:
            return ok(list(self.commands.get(self._commands_key(params), [])))

    @route("GET", rf"/bot{TOKEN_IN_PATH}/[^/]+")
    @route("POST", rf"/bot{TOKEN_IN_PATH}/[^/]+")
    def unknown_method(self, request: Request, token: str) -> Response:
        raise BotAPIError(404, "Not Found")
