"""The SMS and requests view: what the gateways delivered, and what each service was asked.

The request counters are the emulators' own (``sandbox/server.py``): reads and writes by
kind, the busiest routes, and the faults scripted or fired, so a person sees what a sync
cycle or a bot reply costs in requests.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sheetledger.sandbox.runner import Sandbox
from sheetledger.sandbox.server import Emulator
from sheetledger.sandbox.web.crm_view import rub
from sheetledger.sandbox.web.html import Markup, h

__all__ = ["service_fingerprint", "service_view"]

SERVICE_NAMES = {
    "amocrm": "amoCRM",
    "google": "Google Sheets и Drive",
    "telegram": "Telegram Bot API",
    "sms": "SMS-шлюзы (sms.ru, SMSC)",
}


def _emulators(box: Sandbox) -> list[tuple[str, Emulator]]:
    return [
        ("amocrm", box.amo),
        ("google", box.sheets),
        ("telegram", box.telegram),
        ("sms", box.sms),
    ]


def service_fingerprint(box: Sandbox) -> str:
    totals = [sum(e.counters.as_dict()["by_kind"].values()) for _, e in _emulators(box)]
    return ":".join(map(str, [*totals, len(box.sms.messages(include_tests=True))]))


def _counters(box: Sandbox) -> Markup:
    rows = []
    for key, emulator in _emulators(box):
        counts: dict[str, Any] = emulator.counters.as_dict()
        kinds = counts["by_kind"]
        routes = sorted(counts["by_route"].items(), key=lambda kv: -kv[1])[:4]
        extra = []
        if key == "amocrm":
            extra.append(f"429 от ограничителя: {getattr(emulator, 'rate_limited', 0)}")
        fired = len(emulator.faults.fired)
        if fired:
            extra.append(f"сработало сбоев: {fired}")
        rows.append(
            h(
                "tr",
                {"data-service": key},
                h("th", {}, SERVICE_NAMES[key]),
                h("td", {"class": "right"}, str(kinds.get("read", 0))),
                h("td", {"class": "right"}, str(kinds.get("write", 0))),
                h("td", {"class": "right"}, str(sum(kinds.values()))),
                h("td", {}, ", ".join(f"{name.lstrip('_')} {n}" for name, n in routes) or "—"),
                h("td", {}, "; ".join(extra) or "—"),
            )
        )
    head = h(
        "tr",
        {},
        [h("th", {}, t) for t in ("Сервис", "чтений", "записей", "всего", "частые запросы", "")],
    )
    return h("table", {"class": "plain counters"}, head, rows)


def _sms(box: Sandbox) -> Markup:
    messages = box.sms.messages(include_tests=True)
    with box.sms.lock:
        balance = box.sms.balance
    head = h(
        "tr",
        {},
        [h("th", {}, t) for t in ("Когда", "Шлюз", "Кому", "Текст", "Частей", "Цена", "Статус")],
    )
    rows = [
        h(
            "tr",
            {},
            h("td", {}, datetime.fromtimestamp(float(m["sent_at"])).strftime("%d.%m.%Y %H:%M")),
            h("td", {}, m["provider"]),
            h("td", {}, f"+{m['to']}"),
            h("td", {"class": "wrap"}, m["text"]),
            h("td", {"class": "right"}, str(m["parts"])),
            h("td", {"class": "right"}, rub(m["cost"])),
            h("td", {}, "тест" if m.get("test") else m.get("status", "")),
        )
        for m in reversed(messages)
    ]
    table = (
        h("table", {"class": "plain sms"}, head, rows)
        if rows
        else h("p", {"class": "empty"}, "SMS ещё не отправлялись.")
    )
    return h("div", {}, h("p", {}, f"Баланс счёта: {rub(balance)}"), table)


def service_view(box: Sandbox) -> Markup:
    return h(
        "div",
        {"class": "services"},
        h("h2", {}, "Запросы к сервисам"),
        h(
            "p",
            {"class": "hint"},
            "Счётчики эмуляторов с их запуска (управляющие запросы "
            "/_sandbox/ и действия на этой странице не считаются).",
        ),
        _counters(box),
        h("h2", {}, "Отправленные SMS"),
        _sms(box),
    )
