"""What the notification tests share: orders, a config with SMS, the sandbox's pieces."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from sheetledger.config import Config, Secret, SmsConfig, TelegramUser, load_config
from sheetledger.orders.model import Order, OrderDraft, order_id
from sheetledger.sandbox.clock import ManualClock
from sheetledger.sandbox.runner import ACCOUNTANT_ID, SUPPLY_ID, Sandbox

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = load_config(ROOT / "config.yaml", require_secrets=False)
PHONE = "79120000002"


def make_order(
    n: int = 1,
    *,
    amount: str = "12000",
    supplier: str = "ООО «Фурнитура-Опт»",
    due: date | None = date(2026, 12, 10),
    created: datetime = datetime(2026, 12, 2, 10, 0, tzinfo=UTC),
    bill_link: str = "https://drive.google.com/file/d/1AbC/view",
) -> Order:
    source = f"tg:{SUPPLY_ID}:{1000 + n}"
    draft = OrderDraft(
        source=source,
        requested_by="Павел (снабжение)",
        amount=Decimal(amount),
        supplier=supplier,
        purpose="фурнитура",
        category="Материалы",
        due=due,
        bill_no="77",
        contract_no="1045",
        bill_link=bill_link,
        requester_chat=SUPPLY_ID,
    )
    return Order(order_id(source, created.date()), created, draft)


def sms_config(**changes: Any) -> SmsConfig:
    values: dict[str, Any] = {"api_key": Secret("KEY-1", "test"), "phones": (PHONE,)}
    return SmsConfig(**(values | changes))


def pure_config(sms: SmsConfig | None = None, **orders: Any) -> Config:
    """The example config with an accountant and a supply manager, and ``orders.sms``."""
    users = (
        TelegramUser(id=ACCOUNTANT_ID, name="Ирина", roles=("accountant",)),  # type: ignore[arg-type]
        TelegramUser(id=SUPPLY_ID, name="Павел", roles=("supply",)),  # type: ignore[arg-type]
    )
    telegram = EXAMPLE.telegram.model_copy(update={"users": users})
    order_config = EXAMPLE.orders.model_copy(update={"sms": sms, **orders})
    return EXAMPLE.model_copy(update={"telegram": telegram, "orders": order_config})


def edit_config(box: Sandbox, change: Callable[[dict[str, Any]], None]) -> Config:
    data = yaml.safe_load(box.config_path.read_text(encoding="utf-8"))
    change(data)
    box.config_path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return box.load_config()


def clock_now(clock: ManualClock) -> Callable[[], datetime]:
    return lambda: datetime.fromtimestamp(clock(), UTC)
