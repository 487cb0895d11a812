"""The whole sandbox: the emulators on loopback, seeded, and a config pointed at them.

``Sandbox.start(folder, seed="empty")`` starts amoCRM, Google (Sheets + Drive +
OAuth), Telegram and SMS gateway emulators on free loopback ports, seeds them (or loads the
state saved in ``folder``), and writes into ``folder``:

* ``config.yaml``   a complete config that works as it is (no environment needed);
* ``secrets/``      the amoCRM token, the bot token, the SMS key and the service-account key;
* ``sandbox.json``  base URLs, control URLs, ids and tokens, for scripts and people.

Used by ``sheetledger sandbox``, the demo, the benchmark and the end-to-end tests.
"""

from __future__ import annotations

import json
import secrets as _secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sheetledger.config import Config, load_config
from sheetledger.sandbox.amocrm import AmoEmulator
from sheetledger.sandbox.bank_statement import demo_bank_config
from sheetledger.sandbox.seed import AMO_CITIES, AMO_PAYMENT_METHODS, AMO_SALONS, seed_amocrm
from sheetledger.sandbox.server import LoopbackServer
from sheetledger.sandbox.sheets import SheetsEmulator
from sheetledger.sandbox.sms import SmsEmulator
from sheetledger.sandbox.telegram import TelegramEmulator

METHOD_OF_OPTION = dict(
    zip(AMO_PAYMENT_METHODS, ("cash", "card", "terminal", "bank", "credit"), strict=True)
)

# The sandbox's Telegram people (ids are arbitrary but stable).
OWNER_ID, ACCOUNTANT_ID, CASHIER_ID, SUPPLY_ID = 100000001, 100000002, 100000003, 100000004
ACCOUNTANT_PHONE = "79120000002"  # the accountant's mobile in the SMS emulator

TG_USERS = (
    {"id": OWNER_ID, "name": "Ольга (владелец)", "roles": ["owner"]},
    {"id": ACCOUNTANT_ID, "name": "Ирина (бухгалтер)", "roles": ["accountant"]},
    {"id": CASHIER_ID, "name": "Светлана (кассир)", "roles": ["cashier"]},
    {"id": SUPPLY_ID, "name": "Павел (снабжение)", "roles": ["supply"]},
)

CATEGORIES = (
    {
        "name": "Реклама",
        "keywords": ["реклама", "яндекс", "директ", "таргет", "авито", "вк", "маркетинг"],
    },
    {"name": "Аренда", "keywords": ["аренда", "аренду", "арендная"]},
    {"name": "Зарплата", "keywords": ["зарплата", "зп", "аванс", "премия"]},
    {"name": "Налоги", "keywords": ["налог", "налоги", "ндфл", "усн", "взносы"]},
    {
        "name": "Сервисы",
        "keywords": ["сервис", "подписка", "хостинг", "amocrm", "амо", "телефония"],
    },
    {"name": "Транспорт", "keywords": ["такси", "яндекс такси", "бензин", "доставка", "топливо"]},
    {"name": "Офис", "keywords": ["канцелярия", "вода", "кофе", "уборка"]},
    {"name": "Прочее", "keywords": []},
)


@dataclass
class Sandbox:
    folder: Path
    amo: AmoEmulator
    sheets: SheetsEmulator
    telegram: TelegramEmulator
    info: dict[str, Any]
    servers: dict[str, LoopbackServer] = field(default_factory=dict)
    sms: SmsEmulator = field(default_factory=lambda: SmsEmulator(_sms_api_key()))

    # -- life cycle -------------------------------------------------------------------

    @classmethod
    def start(
        cls,
        folder: Path,
        *,
        seed: str = "empty",
        ports: tuple[int, int, int] = (0, 0, 0),
        fresh: bool = False,
        clock: Callable[[], float] | None = None,
    ) -> Sandbox:
        """Start (or resume, when ``folder`` holds a saved sandbox) and write the config."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        saved = folder / "sandbox.json"
        resume = saved.exists() and not fresh
        info: dict[str, Any] = json.loads(saved.read_text(encoding="utf-8")) if resume else {}
        bot_token = (
            info.get("telegram", {}).get("token") or f"7000000001:{_secrets.token_urlsafe(26)[:35]}"
        )
        # A resumed sandbox keeps its token; a new one is issued after seeding (by its admin).
        amo_token = info.get("amocrm", {}).get("token")
        amo = AmoEmulator(amo_token, subdomain="mebel", clock=clock or time.time)
        sheets = SheetsEmulator()
        telegram = TelegramEmulator(bot_token, bot_username="sheetledger_sandbox_bot")
        sms_key = info.get("sms", {}).get("api_key") or _sms_api_key()
        sms = SmsEmulator(sms_key, clock=clock or time.time)
        box = cls(folder, amo, sheets, telegram, info, sms=sms)
        if resume:
            for emulator in (amo, sheets, telegram, sms):
                emulator.load(folder / "state")
        # A resumed sandbox takes its old ports when they are free, so the URLs in the
        # ledger (each deal's link) and in scripts stay right.
        saved = info.get("ports", {}) if resume else {}
        box.servers = {
            name: _serve_on(emulator, wanted or int(saved.get(name, 0)))
            for name, emulator, wanted in (
                ("amocrm", amo, ports[0]),
                ("google", sheets, ports[1]),
                ("telegram", telegram, ports[2]),
                ("sms", sms, 0),
            )
        }
        if not resume:
            box._seed_empty(bot_token)
            if seed == "demo":
                from sheetledger.sandbox.demo_seed import seed_demo

                seed_demo(box)
        box._ensure_bills_folder()
        box._write_files()
        return box

    def stop(self, *, save: bool = True) -> None:
        if save:
            self.save()
        for server in self.servers.values():
            server.stop()

    def save(self) -> None:
        for emulator in (self.amo, self.sheets, self.telegram, self.sms):
            emulator.save(self.folder / "state")

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- seeding ----------------------------------------------------------------------

    def _seed_empty(self, bot_token: str) -> None:
        seed = seed_amocrm(self.amo)
        amo_token = self.amo.issue_long_lived_token()  # a JWT, as amoCRM's settings issue it
        account = self.sheets.service_account_info("http://placeholder/token")
        email = account["client_email"]
        master = self.sheets.create_spreadsheet("Учёт — мебельная компания", shared_with=[email])
        cashbox = self.sheets.create_spreadsheet("Кабинет кассира", shared_with=[email])
        accountant = self.sheets.create_spreadsheet("Кабинет бухгалтера", shared_with=[email])
        supply = self.sheets.create_spreadsheet("Кабинет снабжения", shared_with=[email])
        slot_names = ("Предоплата", "Остаток")
        self.info = {
            "amocrm": {
                "token": amo_token,
                "subdomain": seed.subdomain,
                "pipeline_id": seed.pipeline_id,
                "statuses": dict(seed.statuses),
                "users": dict(seed.users),
                "managers": list(seed.managers),
                "fields": dict(seed.fields),
                "slots": [
                    {"name": slot_names[i], "amount": s.amount, "method": s.method, "date": s.date}
                    for i, s in enumerate(seed.slots)
                ],
                "enums": {str(k): dict(v) for k, v in seed.enums.items()},
            },
            "google": {
                "service_account_email": email,
                "spreadsheet_id": master,
                "cabinets": {"cashbox": cashbox, "accountant": accountant, "supply": supply},
            },
            "telegram": {"token": bot_token, "users": list(TG_USERS)},
            # One key for both gateways: sms.ru's api_id, SMSC's psw (login may stay empty).
            "sms": {"api_key": self.sms.api_key, "login": self.sms.login},
        }

    def _ensure_bills_folder(self) -> None:
        """A «Счета» folder in a shared drive «Бухгалтерия» the service account organizes.

        A service account cannot own files in a personal Drive, so bills go to a shared
        drive (``ledger/drive.py``). The Drive emulator's files are not part of the saved
        state, so a resumed sandbox makes the folder again (its config follows the new id).
        """
        google = self.info.setdefault("google", {})
        if google.get("bills_folder_id") in self.sheets.drive_files:
            return
        email = google.get("service_account_email") or self.sheets.service_account_email
        drive = self.sheets.create_shared_drive("Бухгалтерия", {email: "fileOrganizer"})
        google["bills_drive_id"] = drive
        google["bills_folder_id"] = self.sheets.create_folder("Счета", drive)

    # -- files ------------------------------------------------------------------------

    @property
    def urls(self) -> dict[str, str]:
        return {name: server.url for name, server in self.servers.items()}

    def config_dict(self) -> dict[str, Any]:
        amo = self.info["amocrm"]
        google = self.info["google"]
        statuses = amo["statuses"]
        config: dict[str, Any] = {
            "timezone": "Asia/Yekaterinburg",
            "state_dir": "state-daemon",
            "amocrm": {
                "base_url": self.urls["amocrm"],
                "token_file": "secrets/amocrm-token",
                "pipelines": [amo["pipeline_id"]],
                "fields": {
                    key: amo["fields"][key]
                    for key in (
                        "contract_no",
                        "contract_date",
                        "product",
                        "salon",
                        "city",
                        "confirmed_total",
                        "costs_paid",
                    )
                    if key in amo["fields"]
                },
                "payment_slots": amo["slots"],
                "methods": dict(METHOD_OF_OPTION),
                "status_rules": {
                    "on_first_confirmation": {"status_id": statuses["Платеж подтвержден"]},
                    "on_fully_paid": {"status_id": 142},
                    "on_first_paid_order": {"status_id": statuses["Производство"]},
                },
                "overlap_seconds": 300,
                "requests_per_second": 6,
            },
            "google": {
                "service_account_file": "secrets/service-account.json",
                "spreadsheet_id": google["spreadsheet_id"],
                "api_base_url": self.urls["google"],
                "drive_base_url": self.urls["google"],
                "cabinets": [
                    {
                        "name": "cashbox",
                        "title": "Касса",
                        "spreadsheet_id": google["cabinets"]["cashbox"],
                        "methods": ["cash"],
                        "users": [CASHIER_ID, OWNER_ID],
                        "handover": True,
                    },
                    {
                        "name": "accountant",
                        "title": "Бухгалтер",
                        "spreadsheet_id": google["cabinets"]["accountant"],
                        "methods": ["card", "terminal", "bank", "credit"],
                        "users": [ACCOUNTANT_ID],
                        "orders": True,
                    },
                    *(
                        [
                            {
                                "name": "supply",
                                "title": "Снабжение",
                                "spreadsheet_id": google["cabinets"]["supply"],
                                "users": [SUPPLY_ID],
                                "requests": True,
                            }
                        ]
                        if "supply" in google["cabinets"]
                        else []
                    ),
                ],
            },
            "telegram": {
                "token_file": "secrets/telegram-token",
                "base_url": f"{self.urls['telegram']}/bot",
                "base_file_url": f"{self.urls['telegram']}/file/bot",
                "admin_chat_id": OWNER_ID,
                "users": self.info["telegram"]["users"],
            },
            "expenses": {
                "default_category": "Прочее",
                "ceiling": 10000000,
                "categories": list(CATEGORIES),
            },
            "orders": {"sms": self.sms_config()}
            | (
                {"drive_folder_id": google["bills_folder_id"]}
                if "bills_folder_id" in google
                else {}
            ),
            "schedule": {"sync": {"every_seconds": 60}, "outbox_flush": {"every_seconds": 30}},
        }
        if "demo" in self.info:  # the demo business has a bank account and its statements
            config["bank"] = demo_bank_config()
            config["reports"] = {"marketing_categories": ["Реклама"]}
            config["expenses"] |= {  # «45к аренда @Ленина»: a cost of that salon
                "salons": [
                    {"name": name, "city": AMO_CITIES[1 if n == 2 else 0], "aliases": [alias]}
                    for n, (name, alias) in enumerate(
                        zip(AMO_SALONS, ("ленина", "гринвич", "кирова"), strict=True)
                    )
                ],
                "cities": [{"name": name} for name in AMO_CITIES],
            }
            for cabinet in config["google"]["cabinets"]:
                cabinet["bank"] = cabinet["name"] == "accountant"
        return config

    def sms_config(self) -> dict[str, Any]:
        """``orders.sms`` on the SMS emulator: sms.ru's protocol, the accountant's phone.

        No quiet hours here, so the demo's SMS arrives whatever the hour it is run at;
        the tests that hold an SMS until morning set them.
        """
        return {
            "provider": "smsru",
            "api_key_file": "secrets/sms-api-key",
            "login": self.sms.login,
            "phones": [ACCOUNTANT_PHONE],
            "when": ["always"],
            "quiet_hours": None,
            "base_url": self.urls["sms"],
        }

    @property
    def config_path(self) -> Path:
        return self.folder / "config.yaml"

    def _write_files(self) -> None:
        secrets_dir = self.folder / "secrets"
        secrets_dir.mkdir(exist_ok=True)
        token_uri = f"{self.urls['google']}/token"
        account = self.sheets.service_account_info(token_uri)
        _write_secret(secrets_dir / "amocrm-token", self.info["amocrm"]["token"])
        _write_secret(secrets_dir / "telegram-token", self.info["telegram"]["token"])
        _write_secret(secrets_dir / "sms-api-key", self.sms.api_key)
        _write_secret(secrets_dir / "service-account.json", json.dumps(account, indent=2))
        header = (
            "# Written by `sheetledger sandbox`: a complete config pointed at the emulators on\n"
            "# loopback. Secrets are in ./secrets/. Try: sheetledger -c THIS_FILE check\n"
        )
        text = yaml.safe_dump(self.config_dict(), allow_unicode=True, sort_keys=False)
        self.config_path.write_text(header + text, encoding="utf-8")
        public = dict(self.info)
        public["urls"] = {
            "amocrm": self.urls["amocrm"],
            "google": self.urls["google"],
            "telegram_bot_api": f"{self.urls['telegram']}/bot",
            "telegram_files": f"{self.urls['telegram']}/file/bot",
            "sms": self.urls["sms"],  # sms.ru's /sms/send and SMSC's /sys/send.php
        }
        public["control"] = {name: f"{url}/_sandbox/" for name, url in self.urls.items()}
        public["ports"] = {name: server.port for name, server in self.servers.items()}
        (self.folder / "sandbox.json").write_text(
            json.dumps(public, ensure_ascii=False, indent=2), encoding="utf-8"
        )

    def load_config(self) -> Config:
        return load_config(self.config_path)


def _serve_on(emulator: Any, port: int) -> LoopbackServer:
    """Serve on ``port``, or on any free port when it is taken (or 0)."""
    try:
        return LoopbackServer(emulator, port).start()
    except OSError:
        if not port:
            raise
        return LoopbackServer(emulator, 0).start()


def _sms_api_key() -> str:
    """A key shaped like sms.ru's ``api_id`` (an upper-case UUID)."""
    return str(uuid.uuid4()).upper()


def _write_secret(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
