"""The composition root: the service clients built from the config, once, in one place.

``build_clients(config)`` makes the amoCRM, Google and Telegram clients and the one
``OutageWatch``; the commands, the daemon and the bot are handed what they need from
it and build no client of their own. It is the only module that imports the three
adapters together (tests/test_layers.py checks that). Each adapter takes its base URL
and secret explicitly; production and the sandbox run this same code, only the URLs in
the config differ.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sheetledger.bot.app import ExpenseBot
from sheetledger.bot.expenses import ExpenseBook
from sheetledger.bot.identity import make_bot
from sheetledger.config import Cabinet, Config
from sheetledger.crm.amocrm import AmoClient
from sheetledger.errors import ConfigError
from sheetledger.ledger.cabinet_files import recorded_ids
from sheetledger.ledger.drive import DriveFiles
from sheetledger.ledger.google import connect, session_of, user_session
from sheetledger.ledger.sheets import SHEETS_RETRY, LedgerSheets
from sheetledger.ledger.tabs import (
    CABINET_BANK,
    CABINET_ORDERS,
    CABINET_PAYMENTS,
    DIMENSIONS,
    HANDOVER,
    HANDOVER_LOG,
    MASTER_TABS,
    PROFIT,
    REQUESTS,
    TabSchema,
    pnl_schema,
)
from sheetledger.logs import register_secrets
from sheetledger.notify.outbox import OrderNotifier
from sheetledger.notify.sms import SMS_RETRY, SmsGateway, build_gateway
from sheetledger.notify.telegram import FetchBill, TelegramNotices
from sheetledger.orders.book import OrderBook
from sheetledger.outage import OutageWatch
from sheetledger.retry import RetryPolicy
from sheetledger.store import LocalState

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    import gspread
    from telegram import Bot

# A person waits for the bot's reply: back off a little, then let the outbox keep the row.
BOT_SHEETS_RETRY = RetryPolicy(attempts=5, base=0.25, cap=0.5)


@dataclass(frozen=True)
class Clients:
    """The three services' clients and the watch they report outages to."""

    crm: AmoClient
    google: gspread.Client
    telegram: Bot
    outages: OutageWatch = field(default_factory=OutageWatch)


def build_clients(config: Config, *, outages: OutageWatch | None = None) -> Clients:
    """Every client of ``config``; no request is made until one is used."""
    register_config_secrets(config)
    return Clients(
        crm=build_crm(config),
        google=build_google(config),
        telegram=make_bot(config.telegram),
        outages=outages or OutageWatch(),
    )


def register_config_secrets(config: Config) -> None:
    """Teach the log filter every secret of the config, so none is ever printed."""
    values = []
    for secret in config.secrets().values():
        if secret.present:
            value = secret.reveal()
            values.append(value)
            if value.lstrip().startswith("{"):
                try:
                    info = json.loads(value)
                except ValueError:
                    continue
                values.extend(str(info.get(k, "")) for k in ("private_key", "private_key_id"))
    register_secrets(values)


def service_account_info(config: Config) -> dict[str, Any]:
    try:
        info = json.loads(config.google.service_account.reveal())
    except ValueError as exc:
        raise ConfigError(
            str(config.source or "config"),
            [
                "google.service_account: not a JSON service-account key "
                f"({config.google.service_account.source})"
            ],
        ) from exc
    if not isinstance(info, dict) or "client_email" not in info or "private_key" not in info:
        raise ConfigError(
            str(config.source or "config"),
            [
                "google.service_account: the JSON has no client_email/private_key "
                "(is it a service-account key?)"
            ],
        )
    return info


def build_crm(config: Config, *, timeout: float | None = None, attempts: int = 5) -> AmoClient:
    """The amoCRM client; ``check`` asks for a shorter ``timeout`` and a single attempt."""
    return AmoClient(
        config.amocrm.base_url,
        config.amocrm.token.reveal(),
        requests_per_second=config.amocrm.requests_per_second,
        timeout=min(config.amocrm.timeout_seconds, timeout or config.amocrm.timeout_seconds),
        max_attempts=attempts,
    )


def build_google(config: Config) -> gspread.Client:
    return connect(
        service_account_info(config),
        api_base_url=config.google.api_base_url,
        drive_base_url=config.google.drive_base_url,
        timeout=config.google.timeout_seconds,
    )


def oauth_user_info(config: Config) -> dict[str, Any] | None:
    """The person's OAuth credentials (``sheetledger auth google``), None when not set up."""
    user = config.google.oauth_user
    if user is None:
        return None
    try:
        info = json.loads(user.credentials.reveal())
    except ValueError as exc:
        raise ConfigError(
            str(config.source or "config"),
            [f"google.oauth_user.credentials: not JSON ({user.credentials.source})"],
        ) from exc
    if not isinstance(info, dict) or "refresh_token" not in info:
        raise ConfigError(
            str(config.source or "config"),
            [
                "google.oauth_user.credentials: no refresh_token in it "
                "(run `sheetledger auth google` again)"
            ],
        )
    return info


def build_drive(
    config: Config, google: gspread.Client, *, retry: RetryPolicy = SHEETS_RETRY
) -> DriveFiles:
    """Drive for the bills: as the person when ``google.oauth_user`` is set, else as the
    service account (then the folder must be in a shared drive)."""
    person = build_user_drive(config, retry=retry)
    if person is not None:
        return person
    return DriveFiles(session_of(google), timeout=config.google.timeout_seconds, retry=retry)


def build_user_drive(
    config: Config, *, retry: RetryPolicy = SHEETS_RETRY, setting: str = "orders.drive_folder_id"
) -> DriveFiles | None:
    """Drive as the person of ``google.oauth_user``; None when it is not set up."""
    info = oauth_user_info(config)
    if info is None:
        return None
    session = user_session(
        info,
        api_base_url=config.google.api_base_url,
        drive_base_url=config.google.drive_base_url,
        timeout=config.google.timeout_seconds,
    )
    return DriveFiles(session, timeout=config.google.timeout_seconds, retry=retry, setting=setting)


def master_tabs(config: Config) -> dict[str, tuple[str, TabSchema]]:
    tabs = {schema.key: (getattr(config.google.tabs, schema.key), schema) for schema in MASTER_TABS}
    return tabs | report_tabs(config)


def report_tabs(config: Config) -> dict[str, tuple[str, TabSchema]]:
    """The management table's tabs (sheetledger.reports); P&L has a column per category."""
    pnl = pnl_schema(tuple(c.name for c in config.expenses.categories))
    titles = config.google.tabs
    return {
        "profit": (titles.profit, PROFIT),
        "pnl": (titles.pnl, pnl),
        "dimensions": (titles.dimensions, DIMENSIONS),
    }


def master_ledger(
    config: Config, client: gspread.Client, *, retry: RetryPolicy = SHEETS_RETRY
) -> LedgerSheets:
    return LedgerSheets(
        client, config.google.spreadsheet_id, master_tabs(config), config.tz, retry=retry
    )


CABINET_TITLES = {
    "cabinet_payments": "Payments",
    "handover": "Cash handover",
    "handover_log": "Handover log",
    "cabinet_bank": "Bank",
    "cabinet_orders": "Orders",
    "requests": "Requests",
}


def cabinet_tabs(cabinet: Cabinet) -> dict[str, tuple[str, TabSchema]]:
    tabs: dict[str, tuple[str, TabSchema]] = {}
    if cabinet.methods:
        tabs["cabinet_payments"] = (CABINET_TITLES["cabinet_payments"], CABINET_PAYMENTS)
    if cabinet.handover:
        tabs["handover"] = (CABINET_TITLES["handover"], HANDOVER)
        tabs["handover_log"] = (CABINET_TITLES["handover_log"], HANDOVER_LOG)
    if cabinet.bank:
        tabs["cabinet_bank"] = (CABINET_TITLES["cabinet_bank"], CABINET_BANK)
    if cabinet.orders:
        tabs["cabinet_orders"] = (CABINET_TITLES["cabinet_orders"], CABINET_ORDERS)
    if cabinet.requests:
        tabs["requests"] = (CABINET_TITLES["requests"], REQUESTS)
    return tabs


def cabinet_ledgers(config: Config, client: gspread.Client) -> dict[str, LedgerSheets]:
    """One ``LedgerSheets`` per cabinet of the config that has a spreadsheet, by name.

    A cabinet without ``spreadsheet_id`` is the one ``sheetledger init`` created (its ID in
    state.db); one not created yet is left out (``uncreated_cabinets``)."""
    ids = cabinet_ids(config)
    return {
        cabinet.name: LedgerSheets(client, ids[cabinet.name], cabinet_tabs(cabinet), config.tz)
        for cabinet in config.google.cabinets
        if cabinet.name in ids
    }


def cabinet_ids(config: Config) -> dict[str, str]:
    """Each cabinet's spreadsheet ID: the config's, else the one init recorded in state.db."""
    ids = {c.name: c.spreadsheet_id for c in config.google.cabinets if c.spreadsheet_id}
    pending = [c.name for c in config.google.cabinets if not c.spreadsheet_id]
    path = config.state_dir / "state.db"
    if pending and path.exists():  # a look, never a new state.db (``check`` makes none)
        store = LocalState(path)
        try:
            ids |= recorded_ids(store, pending)
        finally:
            store.close()
    return ids


def uncreated_cabinets(config: Config) -> list[Cabinet]:
    """The cabinets with no spreadsheet yet: no ``spreadsheet_id``, none made by init."""
    ids = cabinet_ids(config)
    return [c for c in config.google.cabinets if c.name not in ids]


def open_state(config: Config) -> LocalState:
    return LocalState(config.state_dir / "state.db")


def build_bot(config: Config, clients: Clients, state: LocalState, **options: Any) -> ExpenseBot:
    """The Telegram bot on the root's clients: its own ledger handle, the shared watch."""
    ledger = master_ledger(config, clients.google, retry=BOT_SHEETS_RETRY)
    book = ExpenseBook(ledger, state, watch=clients.outages)
    options.setdefault("desk", OrderBook(ledger, state))
    bills = options.setdefault("bills", build_drive(config, clients.google, retry=BOT_SHEETS_RETRY))
    options.setdefault(
        "news", build_order_news(config, state, watch=clients.outages, fetch_bill=bills.fetch)
    )
    return ExpenseBot(
        config, book, state, telegram=clients.telegram, watch=clients.outages, **options
    )


def build_sms(config: Config, *, retry: RetryPolicy = SMS_RETRY) -> SmsGateway | None:
    """The SMS gateway of ``orders.sms`` (sms.ru or SMSC), or None when SMS is off."""
    if config.orders.sms is None:
        return None
    return build_gateway(config.orders.sms, retry=retry)


def build_order_news(
    config: Config,
    store: LocalState,
    *,
    watch: OutageWatch | None = None,
    fetch_bill: FetchBill | None = None,
    sms: SmsGateway | None = None,
    now: Callable[[], datetime] | None = None,
) -> OrderNotifier:
    """The production ``OrderNews``: the notifications' outbox in ``store`` (state.db).

    ``fetch_bill`` (link -> file name and bytes, from the Drive adapter) attaches the bill to
    the accountant's card; without it the card carries the link. ``sms`` defaults to the
    gateway of ``orders.sms``; ``now`` to the wall clock (the sandbox's tests drive theirs).
    """
    options = {"now": now} if now is not None else {}
    return OrderNotifier(
        config,
        store,
        telegram=TelegramNotices(config.telegram, fetch_bill=fetch_bill),
        sms=sms if sms is not None else build_sms(config),
        watch=watch,
        **options,
    )
