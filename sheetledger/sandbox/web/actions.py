"""What a person does on the page, played through the emulators' own control side.

Each action is the in-process twin of a ``/_sandbox/`` control route the tests use: a
tick or a typed cell goes through the Sheets emulator's ``tick``/``type_cell`` (the same
validation, protection and formats as the API), a chat message through the Telegram
emulator's ``send_text`` (an update the bot polls), a deal through amoCRM's ``add_lead``/
``update_lead`` (the API's validation). A refused action raises ``ActionError`` with a
sentence for the page; nothing is half done.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from sheetledger.sandbox.amocrm import AmoValidationFailed
from sheetledger.sandbox.runner import Sandbox
from sheetledger.sandbox.telegram.files import image_size

__all__ = ["Action", "ActionError", "perform"]

MAX_UPLOAD = 20 * 1024 * 1024  # what a person may send the bot from the page


class Action(StrEnum):
    SHEET_TICK = "sheet_tick"
    SHEET_TYPE = "sheet_type"
    SHEET_SORT = "sheet_sort"
    TG_TEXT = "tg_text"
    TG_PRESS = "tg_press"
    TG_FILE = "tg_file"
    AMO_PAYMENT = "amo_payment"
    AMO_CREATE = "amo_create"


class ActionError(ValueError):
    """The action was refused; the message says why, for the person."""


def _text(body: Mapping[str, Any], key: str, *, required: bool = True) -> str:
    value = body.get(key)
    text = "" if value is None else str(value).strip()
    if required and not text:
        raise ActionError(f"не заполнено поле «{key}»")
    return text


def _int(body: Mapping[str, Any], key: str) -> int:
    try:
        return int(str(body.get(key)).strip())
    except ValueError as exc:
        raise ActionError(f"«{key}» должно быть целым числом") from exc


def _amount(text: str) -> str:
    """A sum as a person types it (``3 500,50``) as amoCRM's numeric text (``3500.50``)."""
    cleaned = text.replace("\u00a0", "").replace(" ", "").replace("₽", "").replace(",", ".")
    try:
        value = Decimal(cleaned)
    except InvalidOperation as exc:
        raise ActionError(f"«{text}» — не сумма") from exc
    if value < 0 or not value.is_finite():
        raise ActionError(f"«{text}» — не сумма")
    return format(value.normalize(), "f")


# --------------------------------------------------------------------------- sheets


def _sheet_tick(box: Sandbox, body: Mapping[str, Any]) -> str:
    a1 = _text(body, "a1")
    checked = bool(body.get("checked"))
    box.sheets.tick(_text(body, "book"), a1, checked)
    return f"{a1}: флажок {'поставлен' if checked else 'снят'}"


def _sheet_type(box: Sandbox, body: Mapping[str, Any]) -> str:
    a1 = _text(body, "a1")
    value = _text(body, "value", required=False)
    box.sheets.type_cell(_text(body, "book"), a1, value or None)
    return f"{a1}: записано «{value}»" if value else f"{a1}: очищено"


def _sheet_sort(box: Sandbox, body: Mapping[str, Any]) -> str:
    book, tab, column = _text(body, "book"), _text(body, "tab"), _text(body, "column")
    ascending = bool(body.get("ascending", True))
    with box.sheets.lock:
        model = box.sheets.spreadsheets.get(book)
        sheet = model.sheet_by_title(tab) if model else None
        header_rows = sheet.frozen_rows if sheet is not None else 1
    box.sheets.sort_range(book, tab, column, ascending=ascending, header_rows=header_rows)
    return f"лист «{tab}» отсортирован по столбцу {column} ({'А→Я' if ascending else 'Я→А'})"


# --------------------------------------------------------------------------- telegram


def _tg_text(box: Sandbox, body: Mapping[str, Any]) -> str:
    user = _int(body, "user")
    text = _text(body, "text")
    first_name = _text(body, "first_name", required=False) or None
    box.telegram.send_text(user, text, first_name=first_name)
    return f"отправлено боту: «{text}»"


def _tg_press(box: Sandbox, body: Mapping[str, Any]) -> str:
    data = _text(body, "callback")
    box.telegram.press_button(_int(body, "user"), _int(body, "message"), data)
    return "кнопка нажата"


def _tg_file(box: Sandbox, body: Mapping[str, Any]) -> str:
    user = _int(body, "user")
    name = _text(body, "filename")
    try:
        content = base64.b64decode(_text(body, "content_base64"), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ActionError("файл не прочитан") from exc
    if not content or len(content) > MAX_UPLOAD:
        raise ActionError("файл пустой или больше 20 МБ")
    caption = _text(body, "caption", required=False) or None
    first_name = _text(body, "first_name", required=False) or None
    mime = _text(body, "mime_type", required=False)
    if mime.startswith("image/") and image_size(content) is not None:
        box.telegram.send_photo(user, content, caption, first_name=first_name)
        return f"фото «{name}» отправлено боту"
    box.telegram.send_document(user, name, content, mime or None, caption, first_name=first_name)
    return f"файл «{name}» отправлен боту"


# --------------------------------------------------------------------------- amoCRM


def _slot_values(box: Sandbox, slot: Mapping[str, Any], body: Mapping[str, Any]) -> list[Any]:
    amount = _text(body, "amount", required=False)
    method = _text(body, "method", required=False)
    day = _text(body, "date", required=False)
    out: list[Any] = [
        {"field_id": slot["amount"], "values": [{"value": _amount(amount)}] if amount else None},
        {"field_id": slot["method"], "values": [{"value": method}] if method else None},
        {"field_id": slot["date"], "values": [{"value": day}] if day else None},
    ]
    return out


def _amo_payment(box: Sandbox, body: Mapping[str, Any]) -> str:
    lead_id = _int(body, "lead")
    slots = box.info.get("amocrm", {}).get("slots", [])
    index = _int(body, "slot")
    if not 0 <= index < len(slots):
        raise ActionError(f"нет платежа №{index + 1}")
    box.amo.update_lead(lead_id, {"custom_fields_values": _slot_values(box, slots[index], body)})
    return f"сделка #{lead_id}: «{slots[index].get('name', 'платёж')}» сохранён"


def _amo_create(box: Sandbox, body: Mapping[str, Any]) -> str:
    amo = box.info.get("amocrm", {})
    fields = amo.get("fields", {})
    values: list[Any] = []
    contract = _text(body, "contract_no", required=False)
    if contract and "contract_no" in fields:
        values.append({"field_id": fields["contract_no"], "values": [{"value": contract}]})
    for key in ("product", "salon", "city"):
        chosen = _text(body, key, required=False)
        if chosen and key in fields:
            values.append({"field_id": fields[key], "values": [{"value": chosen}]})
    slots = amo.get("slots") or []
    if slots and _text(body, "amount", required=False):
        values += [v for v in _slot_values(box, slots[0], body) if v["values"]]
    price = _text(body, "price", required=False)
    lead = box.amo.add_lead(
        _text(body, "name"),
        price=int(Decimal(_amount(price))) if price else 0,
        pipeline_id=int(amo.get("pipeline_id") or 0) or None,
        status_id=_int(body, "status_id") if body.get("status_id") else None,
        responsible_user_id=(
            _int(body, "responsible_user_id") if body.get("responsible_user_id") else None
        ),
        custom_fields_values=values or None,
    )
    return f"создана сделка #{lead['id']} «{lead['name']}»"


_HANDLERS: dict[Action, Callable[[Sandbox, Mapping[str, Any]], str]] = {
    Action.SHEET_TICK: _sheet_tick,
    Action.SHEET_TYPE: _sheet_type,
    Action.SHEET_SORT: _sheet_sort,
    Action.TG_TEXT: _tg_text,
    Action.TG_PRESS: _tg_press,
    Action.TG_FILE: _tg_file,
    Action.AMO_PAYMENT: _amo_payment,
    Action.AMO_CREATE: _amo_create,
}


def perform(box: Sandbox, body: Mapping[str, Any]) -> str:
    """Do the action ``body["action"]``; returns what was done, raises ``ActionError``."""
    try:
        action = Action(str(body.get("action")))
    except ValueError as exc:
        raise ActionError(f"неизвестное действие {body.get('action')!r}") from exc
    try:
        return _HANDLERS[action](box, body)
    except AmoValidationFailed as exc:
        raise ActionError(f"amoCRM не принял: {exc}") from exc
    except (KeyError, LookupError) as exc:
        raise ActionError(f"не найдено: {exc}") from exc
    except ValueError as exc:  # the emulators' refusals (a protected cell, a bad photo...)
        if isinstance(exc, ActionError):
            raise
        raise ActionError(str(exc)) from exc
