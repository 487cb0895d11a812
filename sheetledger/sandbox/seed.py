"""Deterministic sandbox accounts: what the demo, the benchmark and the tests start from.

``seed_amocrm`` builds the amoCRM account of a furniture business (one sales pipeline,
managers, the deal custom fields a real business keeps) with the emulator's in-process
helpers, and returns every id a config needs as an ``AmoSeed``. No deals: scenarios add
them through the real API.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sheetledger.sandbox.amocrm import STATUS_LOST, STATUS_WON, AmoEmulator

__all__ = [
    "AMO_CITIES",
    "AMO_LOSS_REASONS",
    "AMO_PAYMENT_METHODS",
    "AMO_PRODUCTS",
    "AMO_SALONS",
    "AmoSeed",
    "AmoSlotIds",
    "seed_amocrm",
]

# ---------------------------------------------------------------------------- amoCRM

AMO_PIPELINE = "Продажи"
AMO_STATUSES = (
    "Новая заявка",
    "Замер",
    "Договор заключен",
    "Платеж подтвержден",
    "Производство",
    "Доставка и сборка",
)
AMO_ADMIN = ("Ольга Смирнова", "owner@mebel-sandbox.ru")
AMO_MANAGERS = (
    ("Алексей Иванов", "ivanov@mebel-sandbox.ru"),
    ("Мария Петрова", "petrova@mebel-sandbox.ru"),
    ("Дмитрий Кузнецов", "kuznetsov@mebel-sandbox.ru"),
)
# The payment-type options exactly as the deal card shows them (mission: five methods).
AMO_PAYMENT_METHODS = (
    "Наличными в кассу",
    "Перевод на карту",
    "Оплата по терминалу",
    "Безналичный перевод",
    "Кредитный договор",
)
AMO_PRODUCTS = (
    "Кухонный гарнитур",
    "Шкаф-купе",
    "Диван угловой",
    "Спальный гарнитур",
    "Обеденная группа",
)
AMO_SALONS = ("Салон на Ленина", "Салон в ТЦ «Гринвич»", "Салон на Кирова")
AMO_CITIES = ("Екатеринбург", "Челябинск")
# Why a deal is closed as lost, as the account's settings list them.
AMO_LOSS_REASONS = ("Дорого", "Выбрали другую фабрику", "Не устроили сроки", "Не дозвонились")


@dataclass(frozen=True)
class AmoSlotIds:
    """The custom fields of one payment slot on the deal card."""

    name: str  # the payment's kind as the ledger shows it
    amount: int  # numeric
    method: int  # select, options AMO_PAYMENT_METHODS
    date: int  # date


@dataclass(frozen=True)
class AmoSeed:
    """Every id of the seeded account a config (or a scenario) needs."""

    account_id: int
    subdomain: str
    admin_user_id: int  # the token's user (current_user_id)
    pipeline_id: int
    statuses: Mapping[str, int]  # status name -> id, incl. 142/143 under their names
    users: Mapping[str, int]  # user name -> id (admin and managers)
    managers: tuple[int, ...]  # manager user ids, in seed order
    fields: Mapping[str, int]  # role -> field id: contract_no, contract_date, product, salon,
    #                              city, confirmed_total, costs_paid
    slots: tuple[AmoSlotIds, ...]  # prepayment, remainder
    enums: Mapping[int, Mapping[str, int]]  # select field id -> option text -> enum id

    @property
    def won_status_id(self) -> int:
        return STATUS_WON

    @property
    def lost_status_id(self) -> int:
        return STATUS_LOST

    def method_enum(self, slot_index: int, option: str) -> int:
        """The enum id of payment-type ``option`` in slot ``slot_index``'s method field."""
        return self.enums[self.slots[slot_index].method][option]


def seed_amocrm(emulator: AmoEmulator) -> AmoSeed:
    """Fill an empty ``AmoEmulator`` with the furniture business's account."""
    admin_name, admin_email = AMO_ADMIN
    admin = emulator.add_user(admin_name, admin_email, is_admin=True)
    users = {admin_name: admin["id"]}
    managers = []
    for name, email in AMO_MANAGERS:
        user = emulator.add_user(name, email, group_id=None)
        users[name] = user["id"]
        managers.append(user["id"])

    pipeline = emulator.add_pipeline(AMO_PIPELINE, AMO_STATUSES, is_main=True)
    statuses = {s["name"]: s["id"] for s in pipeline["_embedded"]["statuses"]}

    enums: dict[int, dict[str, int]] = {}

    def field(name: str, kind: str, options: tuple[str, ...] = (), api_only: bool = False) -> int:
        made = emulator.add_field(name, kind, options, is_api_only=api_only)
        if made["enums"]:
            enums[made["id"]] = {e["value"]: e["id"] for e in made["enums"]}
        return int(made["id"])

    fields = {
        "contract_no": field("Номер договора", "text"),
        "contract_date": field("Дата договора", "date"),
        "product": field("Товар", "select", AMO_PRODUCTS),
        "salon": field("Салон", "select", AMO_SALONS),
        "city": field("Город", "select", AMO_CITIES),
    }
    slots = (
        AmoSlotIds(
            name="Предоплата",
            amount=field("Сумма предоплаты", "numeric"),
            method=field("Тип оплаты (предоплата)", "select", AMO_PAYMENT_METHODS),
            date=field("Дата предоплаты", "date"),
        ),
        AmoSlotIds(
            name="Остаток",
            amount=field("Сумма остатка", "numeric"),
            method=field("Тип оплаты (остаток)", "select", AMO_PAYMENT_METHODS),
            date=field("Дата остатка", "date"),
        ),
    )
    # Only the daemon writes it: an API-only field cannot be edited by hand in the card.
    fields["confirmed_total"] = field("Подтверждено оплат", "numeric", api_only=True)
    fields["costs_paid"] = field("Оплачено поставщикам", "numeric", api_only=True)
    for reason in AMO_LOSS_REASONS:
        emulator.add_loss_reason(reason)

    return AmoSeed(
        account_id=int(emulator.account["id"]),
        subdomain=emulator.subdomain,
        admin_user_id=admin["id"],
        pipeline_id=pipeline["id"],
        statuses=statuses,
        users=users,
        managers=tuple(managers),
        fields=fields,
        slots=slots,
        enums=enums,
    )
