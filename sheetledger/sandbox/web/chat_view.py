"""The Telegram view: each person's private chat with the bot, as their phone shows it.

On the left, the configured people (with their roles) and a stranger the bot must not
serve; on the right, the chat: the person's messages, the bot's replies with their inline
buttons (pressing one is an action), documents and photos (the digest's pictures), and a
box to write or send a file as that person (``actions.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sheetledger.sandbox.runner import Sandbox
from sheetledger.sandbox.web.html import Markup, h, link

__all__ = ["STRANGER_ID", "Person", "chat_fingerprint", "chat_view", "people"]

STRANGER_ID = 100000099  # not in the config: the bot must not answer them
ROLE_NAMES = {
    "owner": "владелец",
    "accountant": "бухгалтер",
    "cashier": "кассир",
    "supply": "снабжение",
    "admin": "админ",
}


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    roles: tuple[str, ...]

    @property
    def first_name(self) -> str:
        return self.name.split(" ")[0]

    @property
    def role_text(self) -> str:
        if not self.roles:
            return "нет в конфиге"
        return ", ".join(ROLE_NAMES.get(r, r) for r in self.roles)


def people(box: Sandbox) -> list[Person]:
    """The configured users (``telegram.users``), then the stranger."""
    configured = [
        Person(int(u["id"]), str(u.get("name") or u["id"]), tuple(u.get("roles") or ()))
        for u in box.info.get("telegram", {}).get("users", [])
    ]
    return [*configured, Person(STRANGER_ID, "Незнакомец", ())]


def chat_fingerprint(box: Sandbox) -> str:
    tg = box.telegram
    with tg.lock:
        sent = sum(tg.next_message_id.values())
        writes = tg.counters.by_kind.get("write", 0)
        return (
            f"{tg.next_update_id}:{sent}:{writes}:{tg.dropped_updates}:{len(tg.callback_answers)}"
        )


def _file_link(file_id: str) -> str:
    return link(file=file_id)


def _size(count: Any) -> str:
    number = int(count or 0)
    return f"{number / 1024:.1f} КБ" if number >= 1024 else f"{number} Б"


def _bubble(message: dict[str, Any], bot_id: int, person: Person) -> Markup:
    mine = message.get("from", {}).get("id") != bot_id
    parts: list[Any] = []
    quoted = message.get("reply_to_message")
    if quoted:
        text = quoted.get("text") or quoted.get("caption") or "вложение"
        parts.append(h("div", {"class": "quote"}, text[:80]))
    photo = message.get("photo")
    if photo:
        largest = max(photo, key=lambda p: p.get("width", 0))
        parts.append(
            h(
                "a",
                {"href": _file_link(largest["file_id"]), "target": "_blank", "data-file": "1"},
                h(
                    "img",
                    {"class": "photo", "alt": "фото", "data-src": _file_link(largest["file_id"])},
                ),
            )
        )
    document = message.get("document")
    if document:
        parts.append(
            h(
                "a",
                {
                    "class": "document",
                    "href": _file_link(document["file_id"]),
                    "target": "_blank",
                    "data-file": "1",
                },
                f"📄 {document.get('file_name') or 'файл'} · {_size(document.get('file_size'))}",
            )
        )
    text = message.get("text") or message.get("caption")
    if text:
        parts.append(h("div", {"class": "text"}, text))
    keyboard = (message.get("reply_markup") or {}).get("inline_keyboard") or []
    if keyboard:
        rows = []
        for row in keyboard:
            buttons = []
            for button in row:
                data = button.get("callback_data")
                buttons.append(
                    h(
                        "button",
                        {
                            "class": "inline act-button",
                            "data-action": "tg_press",
                            "data-user": person.id,
                            "data-message": message["message_id"],
                            "data-callback": data,
                            "disabled": data is None,
                            "title": button.get("url"),
                        },
                        button.get("text", "?"),
                    )
                )
            rows.append(h("div", {"class": "keys"}, buttons))
        parts.append(h("div", {"class": "keyboard"}, rows))
    stamp = datetime.fromtimestamp(int(message.get("date") or 0)).strftime("%d.%m %H:%M")
    meta = stamp + (" · изменено" if message.get("edit_date") else "")
    parts.append(h("div", {"class": "meta"}, meta))
    return h(
        "div",
        {"class": "bubble " + ("mine" if mine else "bot"), "data-message": message["message_id"]},
        parts,
    )


def chat_view(box: Sandbox, user_id: int | None) -> Markup:
    everyone = people(box)
    person = next((p for p in everyone if p.id == user_id), everyone[0])
    tg = box.telegram
    history = tg.chat_history(person.id)
    with tg.lock:
        counts = {p.id: len(tg.messages.get(p.id, {})) for p in everyone}
        bot_id = int(tg.bot_user["id"])
        bot_name = f"@{tg.bot_user.get('username', 'bot')}"
    side = [
        h(
            "a",
            {
                "class": "person" + (" current" if p.id == person.id else ""),
                "href": link(view="telegram", user=p.id),
                "data-nav": "1",
                "data-user": p.id,
            },
            h("b", {}, p.name),
            h("small", {}, f"{p.role_text} · {counts[p.id]} сообщ."),
        )
        for p in everyone
    ]
    bubbles = [_bubble(m, bot_id, person) for m in history]
    compose = h(
        "form",
        {
            "class": "compose act",
            "data-action": "tg_text",
            "data-user": person.id,
            "data-first-name": person.first_name,
        },
        h(
            "input",
            {
                "name": "text",
                "id": "chat-text",
                "autocomplete": "off",
                "placeholder": f"Сообщение боту от имени: {person.name}",
            },
        ),
        h("button", {"type": "submit"}, "Отправить"),
    )
    upload = h(
        "form",
        {
            "class": "upload act",
            "data-action": "tg_file",
            "data-user": person.id,
            "data-first-name": person.first_name,
        },
        h("label", {}, "Файл или фото: ", h("input", {"type": "file", "name": "file"})),
        h("input", {"name": "caption", "placeholder": "подпись (необязательно)"}),
        h("button", {"type": "submit"}, "Отправить файл"),
    )
    return h(
        "div",
        {"class": "telegram"},
        h("aside", {"class": "people"}, h("h3", {}, "Чаты с ботом"), side),
        h(
            "section",
            {"class": "chat", "data-user": person.id},
            h("header", {}, h("b", {}, person.name), h("small", {}, f" — чат с {bot_name}")),
            h(
                "div",
                {"class": "messages", "id": "messages"},
                bubbles or h("p", {"class": "empty"}, "Сообщений пока нет."),
            ),
            compose,
            upload,
        ),
    )
