"""The amoCRM view: the deals of the synced pipelines by status, and a deal card.

The board shows each status as a column (name, count, budget), newest change first; a
deal card shows its fields (payment slots, confirmed total, whatever the account holds)
and the notes timeline newest first, as a manager scrolls the history. Forms on the card
and under the board change a payment slot or create a deal (``actions.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from sheetledger.sandbox.runner import Sandbox
from sheetledger.sandbox.web.html import Markup, h, link

__all__ = ["crm_fingerprint", "crm_view", "rub"]

CARDS_PER_STATUS = 25


@dataclass(frozen=True)
class Field:
    id: int
    name: str
    kind: str
    options: tuple[str, ...]
    api_only: bool


@dataclass(frozen=True)
class Note:
    when: int
    author: str
    kind: str
    text: str


@dataclass(frozen=True)
class Deal:
    id: int
    name: str
    price: int
    status_id: int
    pipeline_id: int
    manager: str
    created_at: int
    updated_at: int
    values: dict[int, Any]  # field id -> value (text of a select, unix date, number text)
    notes: tuple[Note, ...]


@dataclass(frozen=True)
class Status:
    id: int
    name: str
    colour: str


@dataclass(frozen=True)
class Account:
    tz: ZoneInfo
    statuses: tuple[Status, ...]
    fields: dict[int, Field]
    managers: dict[int, str]
    deals: tuple[Deal, ...]


def rub(value: Any) -> str:
    """``123 456 ₽`` (kopecks shown only when there are some)."""
    try:
        amount = float(value)
    except (TypeError, ValueError):
        return str(value or "")
    text = f"{amount:,.2f}".replace(",", "\u00a0").replace(".", ",")
    return text.removesuffix(",00") + "\u00a0₽"


def synced_pipelines(box: Sandbox) -> list[int]:
    """The pipelines the config syncs (``amocrm.pipelines``), read from the sandbox's config."""
    try:
        config = yaml.safe_load(Path(box.config_path).read_text(encoding="utf-8")) or {}
        wanted = [int(p) for p in config.get("amocrm", {}).get("pipelines") or []]
    except (OSError, ValueError, TypeError, yaml.YAMLError):
        wanted = []
    return wanted or [int(box.info.get("amocrm", {}).get("pipeline_id") or 0)]


def crm_fingerprint(box: Sandbox) -> str:
    amo = box.amo
    with amo.lock:
        return f"{amo._leads_version}:{len(amo._notes)}:{amo.counters.by_kind.get('write', 0)}"


def read_account(box: Sandbox, *, notes_of: int | None = None) -> Account:
    """What the view needs, copied under the emulator's lock."""
    amo = box.amo
    pipelines = set(synced_pipelines(box))
    with amo.lock:
        tz = ZoneInfo(str(amo.account.get("timezone") or "Europe/Moscow"))
        statuses: list[Status] = []
        for pipeline in sorted(amo._pipelines.values(), key=lambda p: p.get("sort", 0)):
            if pipeline["id"] in pipelines:
                statuses += [
                    Status(s["id"], s["name"], s.get("color") or "#ccc")
                    for s in sorted(pipeline["statuses"], key=lambda s: s.get("sort", 0))
                    if all(s["id"] != known.id for known in statuses)
                ]
        fields = {
            f["id"]: Field(
                f["id"],
                f["name"],
                f["type"],
                tuple(e["value"] for e in f.get("enums") or []),
                bool(f.get("is_api_only")),
            )
            for f in sorted(amo._fields.values(), key=lambda f: f.get("sort", 0))
        }
        users = {u["id"]: u["name"] for u in amo._users.values()}
        deals = []
        for lead in amo._leads.values():
            if lead["pipeline_id"] not in pipelines or lead.get("is_deleted"):
                continue
            notes: tuple[Note, ...] = ()
            if lead["id"] == notes_of:
                notes = tuple(
                    Note(
                        n["created_at"],
                        users.get(n["created_by"], str(n["created_by"])),
                        n["note_type"],
                        str((n.get("params") or {}).get("text") or n.get("params") or ""),
                    )
                    for n in (amo._notes[i] for i in amo._notes_by_lead.get(lead["id"], []))
                )
            values = {
                cf["field_id"]: cf["values"][0].get("value")
                for cf in lead.get("custom_fields_values") or []
                if cf.get("values")
            }
            deals.append(
                Deal(
                    lead["id"],
                    lead["name"],
                    int(lead.get("price") or 0),
                    lead["status_id"],
                    lead["pipeline_id"],
                    users.get(lead["responsible_user_id"], "—"),
                    lead["created_at"],
                    lead["updated_at"],
                    values,
                    notes,
                )
            )
    deals.sort(key=lambda d: (-d.updated_at, -d.id))
    return Account(tz, tuple(statuses), fields, users, tuple(deals))


def _when(account: Account, stamp: int, *, time: bool = True) -> str:
    moment = datetime.fromtimestamp(stamp, account.tz)
    return moment.strftime("%d.%m.%Y %H:%M" if time else "%d.%m.%Y")


def _value_text(account: Account, field: Field, value: Any) -> str:
    if value is None or value == "":
        return "—"
    if field.kind in ("date", "birthday", "date_time"):
        try:
            return _when(account, int(value), time=field.kind == "date_time")
        except (TypeError, ValueError):
            return str(value)
    if field.kind in ("numeric", "price", "monetary"):
        return rub(value)
    if isinstance(value, bool):
        return "да" if value else "нет"
    return str(value)


def _matches(deal: Deal, query: str) -> bool:
    text = " ".join([deal.name, str(deal.id), *map(str, deal.values.values())]).lower()
    return all(word in text for word in query.lower().split())


def _board(box: Sandbox, account: Account, query: str) -> Markup:
    confirmed = box.info.get("amocrm", {}).get("fields", {}).get("confirmed_total")
    columns = []
    for status in account.statuses:
        deals = [d for d in account.deals if d.status_id == status.id and _matches(d, query)]
        cards = [
            h(
                "a",
                {
                    "class": "deal",
                    "href": link(view="amocrm", deal=d.id, q=query),
                    "data-nav": "1",
                    "data-deal": d.id,
                },
                h("b", {}, d.name),
                h("span", {"class": "price"}, rub(d.price)),
                h("small", {}, f"{d.manager} · #{d.id}"),
                h("small", {"class": "confirmed"}, f"подтверждено {rub(d.values[confirmed])}")
                if confirmed in d.values
                else None,
            )
            for d in deals[:CARDS_PER_STATUS]
        ]
        more = len(deals) - CARDS_PER_STATUS
        columns.append(
            h(
                "section",
                {"class": "status"},
                h(
                    "header",
                    {"style": f"border-bottom-color:{status.colour}"},
                    h("b", {}, status.name),
                    h("small", {}, f"{len(deals)} сделок · {rub(sum(d.price for d in deals))}"),
                ),
                cards,
                h("p", {"class": "more"}, f"и ещё {more}… (уточните поиск)") if more > 0 else None,
            )
        )
    search = h(
        "form",
        {"class": "search", "id": "deal-search"},
        h("input", {"name": "q", "value": query, "placeholder": "Поиск: название, № договора, id"}),
        h("button", {"type": "submit"}, "Найти"),
    )
    return h("div", {}, search, h("div", {"class": "board"}, columns))


def _option(value: Any, label: str, selected: bool) -> Markup:
    return h("option", {"value": value, "selected": selected}, label)


def _slots_form(box: Sandbox, account: Account, deal: Deal) -> Markup:
    slots = box.info.get("amocrm", {}).get("slots", [])
    rows = []
    for index, slot in enumerate(slots):
        amount, method, day = (deal.values.get(slot[k]) for k in ("amount", "method", "date"))
        method_field = account.fields.get(slot["method"])
        options = [_option("", "—", not method)] + [
            _option(o, o, o == method) for o in (method_field.options if method_field else ())
        ]
        iso = datetime.fromtimestamp(int(day), account.tz).date().isoformat() if day else ""
        rows.append(
            h(
                "form",
                {
                    "class": "slot act",
                    "data-action": "amo_payment",
                    "data-lead": deal.id,
                    "data-slot": index,
                },
                h("b", {}, slot.get("name") or f"Платёж {index + 1}"),
                h(
                    "label",
                    {},
                    "Сумма",
                    h(
                        "input",
                        {
                            "name": "amount",
                            "value": amount or "",
                            "inputmode": "decimal",
                            "size": 9,
                        },
                    ),
                ),
                h("label", {}, "Тип оплаты", h("select", {"name": "method"}, options)),
                h("label", {}, "Дата", h("input", {"type": "date", "name": "date", "value": iso})),
                h("button", {"type": "submit"}, "Сохранить"),
            )
        )
    return h("div", {"class": "slots"}, h("h3", {}, "Платежи (изменить как менеджер)"), rows)


def _card(box: Sandbox, account: Account, deal: Deal, query: str) -> Markup:
    status = next((s for s in account.statuses if s.id == deal.status_id), None)
    fields = [
        h(
            "tr",
            {},
            h("th", {}, f.name + (" (только API)" if f.api_only else "")),
            h("td", {}, _value_text(account, f, deal.values.get(f.id))),
        )
        for f in account.fields.values()
    ]
    notes = [
        h(
            "li",
            {"class": "note"},
            h("div", {"class": "meta"}, f"{_when(account, n.when)} · {n.author}"),
            h("div", {"class": "text"}, n.text),
        )
        # newest first; notes of the same second by the order they were written
        for n in sorted(deal.notes, key=lambda n: n.when)[::-1]
    ]
    return h(
        "div",
        {"class": "card", "data-deal": deal.id},
        h(
            "a",
            {"href": link(view="amocrm", q=query), "data-nav": "1", "class": "back"},
            "← все сделки",
        ),
        h("h2", {}, deal.name),
        h(
            "p",
            {"class": "status-line"},
            h(
                "span",
                {"class": "badge", "style": f"background:{status.colour}" if status else None},
                status.name if status else str(deal.status_id),
            ),
            f" · бюджет {rub(deal.price)} · ответственный {deal.manager} · "
            f"создана {_when(account, deal.created_at)} · #{deal.id}",
        ),
        h(
            "div",
            {"class": "card-body"},
            h(
                "div",
                {"class": "fields"},
                h("h3", {}, "Поля сделки"),
                h("table", {}, fields),
                _slots_form(box, account, deal),
            ),
            h(
                "div",
                {"class": "timeline"},
                h("h3", {}, f"Примечания ({len(notes)}), новые сверху"),
                h("ol", {"class": "notes"}, notes) if notes else h("p", {}, "Примечаний нет."),
            ),
        ),
    )


def _create_form(box: Sandbox, account: Account) -> Markup:
    amo = box.info.get("amocrm", {})
    fields = amo.get("fields", {})
    selects = []
    for key, label in (("product", "Товар"), ("salon", "Салон"), ("city", "Город")):
        field = account.fields.get(fields.get(key, 0))
        if field is not None:
            selects.append(
                h(
                    "label",
                    {},
                    label,
                    h("select", {"name": key}, [_option(o, o, False) for o in field.options]),
                )
            )
    first_slot = (amo.get("slots") or [{}])[0]
    method_field = account.fields.get(first_slot.get("method", 0))
    regular = [s for s in account.statuses if s.id not in (142, 143)]
    return h(
        "form",
        {"class": "create act", "data-action": "amo_create"},
        h("h3", {}, "Новая сделка"),
        h("label", {}, "Название", h("input", {"name": "name", "required": True, "size": 28})),
        h(
            "label",
            {},
            "Бюджет, ₽",
            h("input", {"name": "price", "inputmode": "decimal", "size": 9}),
        ),
        h(
            "label",
            {},
            "Статус",
            h("select", {"name": "status_id"}, [_option(s.id, s.name, False) for s in regular]),
        ),
        h(
            "label",
            {},
            "Ответственный",
            h(
                "select",
                {"name": "responsible_user_id"},
                [_option(uid, name, False) for uid, name in account.managers.items()],
            ),
        ),
        h("label", {}, "№ договора", h("input", {"name": "contract_no", "size": 6})),
        selects,
        h(
            "label",
            {},
            "Предоплата, ₽",
            h("input", {"name": "amount", "inputmode": "decimal", "size": 9}),
        ),
        h(
            "label",
            {},
            "Тип оплаты",
            h(
                "select",
                {"name": "method"},
                [_option("", "—", True)]
                + [_option(o, o, False) for o in (method_field.options if method_field else ())],
            ),
        ),
        h("label", {}, "Дата", h("input", {"type": "date", "name": "date"})),
        h("button", {"type": "submit"}, "Создать сделку"),
    )


def crm_view(box: Sandbox, deal_id: int | None, query: str) -> Markup:
    account = read_account(box, notes_of=deal_id)
    deal = next((d for d in account.deals if d.id == deal_id), None)
    if deal is not None:
        return h("div", {"class": "crm"}, _card(box, account, deal, query))
    return h("div", {"class": "crm"}, _board(box, account, query), _create_form(box, account))
