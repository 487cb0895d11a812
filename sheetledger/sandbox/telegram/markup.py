"""Reply markup as Telegram validates it: inline keyboards, button data limits."""

from __future__ import annotations

import re
from typing import Any

from sheetledger.sandbox.telegram.wire import JSON, Params, bad

MAX_CALLBACK_DATA_BYTES = 64


def inline_keyboard(params: Params) -> JSON | None:
    """``reply_markup`` validated as Telegram does; the inline keyboard, if any."""
    return check_inline_keyboard(params.structured("reply_markup", "reply keyboard markup"))


def check_inline_keyboard(markup: Any) -> JSON | None:
    """Validate ``reply_markup``; the inline keyboard to store on the message, if any."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" not in markup:
        # ReplyKeyboardMarkup / ReplyKeyboardRemove / ForceReply: Telegram accepts them
        # but never echoes them in Message.reply_markup.
        if not any(k in markup for k in ("keyboard", "remove_keyboard", "force_reply")):
            raise bad("can't parse reply keyboard markup JSON object")
        return None
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad('field "inline_keyboard" must be an Array of Arrays')
    for row in rows:
        for button in row:
            if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                raise bad(
                    'can\'t parse inline keyboard button: Field "text" must be of type String'
                )
            if "callback_data" in button:
                data = button["callback_data"]
                size = len(str(data).encode())
                # The limit counts UTF-8 bytes: 33 Cyrillic letters are already too many.
                if not isinstance(data, str) or not 1 <= size <= MAX_CALLBACK_DATA_BYTES:
                    raise bad("BUTTON_DATA_INVALID")
            elif "url" in button:
                if not re.match(r"(https?|tg)://\S+\Z", str(button["url"])):
                    raise bad("BUTTON_URL_INVALID")
            elif not any(
                k.endswith(("_data", "url", "query", "web_app", "game", "pay", "text"))
                for k in button
                if k != "text"
            ):
                raise bad("text buttons are unallowed in the inline keyboard")
    return {"inline_keyboard": rows}
