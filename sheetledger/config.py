"""``config.yaml`` parsed once into validated, immutable objects.

``load_config(path)`` reports every problem at once, each with its path
(``amocrm.fields.contract_no: expected an integer field id``), as a
``ConfigError``. Secrets never live in the YAML: a secret field holds either
``${ENV_VAR}`` or is replaced by its ``*_file`` sibling naming a file; the value is
kept in a ``Secret`` that prints as ``'***'``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from sheetledger.errors import ConfigError

__all__ = [
    "AmoConfig",
    "BankConfig",
    "Cabinet",
    "Category",
    "Config",
    "ExpensesConfig",
    "GoogleConfig",
    "Method",
    "PaymentSlot",
    "Role",
    "Secret",
    "TelegramConfig",
    "TelegramUser",
    "load_config",
]

_ENV_REF = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")


class Method(StrEnum):
    """How a payment is made (README, "The tabs": the Payments tab's method)."""

    CASH = "cash"  # Наличными в кассу
    CARD = "card"  # Перевод на карту
    TERMINAL = "terminal"  # Оплата по терминалу (acquiring)
    BANK = "bank"  # Безналичный перевод
    CREDIT = "credit"  # Кредитный договор


class Role(StrEnum):
    OWNER = "owner"
    ACCOUNTANT = "accountant"
    CASHIER = "cashier"
    SUPPLY = "supply"
    MARKETING = "marketing"


class Secret:
    """A secret value that never prints itself."""

    __slots__ = ("_source", "_value")

    def __init__(self, value: str | None, source: str) -> None:
        self._value = value
        self._source = source

    @property
    def source(self) -> str:
        """Where the value comes from (``$AMOCRM_TOKEN`` or a file path), safe to print."""
        return self._source

    @property
    def present(self) -> bool:
        return bool(self._value)

    def reveal(self) -> str:
        """The value itself, for the one adapter that sends it."""
        if not self._value:
            raise ConfigError("config", [f"secret from {self._source} is not set"])
        return self._value

    def __repr__(self) -> str:
        return f"Secret(source={self._source!r}, value='***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and (self._value, self._source) == (
            other._value,
            other._source,
        )

    def __hash__(self) -> int:
        return hash(self._source)


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)


# Integers are strict: YAML's ``true`` is not pipeline 1, and "7000001" in quotes is not a
# number someone meant (pydantic's lax mode would take both).
Int = Annotated[int, Strict()]
FieldId = Int


class PaymentSlot(_Model):
    """One payment on the deal card: the custom fields that hold it."""

    name: str = Field(min_length=1, description="the payment's kind as the ledger shows it")
    amount: FieldId = Field(gt=0)
    method: FieldId = Field(gt=0)
    date: FieldId | None = Field(default=None, gt=0)


class DealFields(_Model):
    """Ids of the deal custom fields sheetledger reads (``sheetledger discover`` lists them)."""

    contract_no: FieldId = Field(gt=0)
    contract_date: FieldId | None = Field(default=None, gt=0)
    product: FieldId | None = Field(default=None, gt=0)
    salon: FieldId | None = Field(default=None, gt=0)
    city: FieldId | None = Field(default=None, gt=0)
    confirmed_total: FieldId | None = Field(
        default=None, gt=0, description="numeric field the daemon writes the confirmed sum into"
    )
    costs_paid: FieldId | None = Field(
        default=None, gt=0, description="numeric field: the sum of the deal's paid orders"
    )


class StatusMove(_Model):
    status_id: Int = Field(gt=0)


class StatusRules(_Model):
    """Status changes on confirmation; 142 is amoCRM's «won» in every pipeline."""

    on_first_confirmation: StatusMove | None = None
    on_fully_paid: StatusMove | None = None
    on_first_paid_order: StatusMove | None = None


class AmoConfig(_Model):
    base_url: str = Field(description="https://<subdomain>.amocrm.ru (or .kommo.com)")
    token: Secret
    pipelines: tuple[Int, ...] = Field(min_length=1)
    fields: DealFields
    payment_slots: tuple[PaymentSlot, ...] = Field(min_length=1)
    methods: Mapping[str, Method] = Field(
        description="payment-type option text on the deal card -> method", min_length=1
    )
    status_rules: StatusRules = StatusRules()
    overlap_seconds: Int = Field(default=300, ge=0)
    requests_per_second: float = Field(default=6.0, gt=0, le=7)
    timeout_seconds: float = Field(default=30.0, gt=0)

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("expected a URL such as https://example.amocrm.ru")
        return value.rstrip("/")


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Cabinet(_Model):
    """A person's own spreadsheet: the payments of some methods, to confirm.

    Without ``spreadsheet_id`` (and with ``google.oauth_user``), ``sheetledger init``
    creates it as that person and keeps its ID in state.db (``ledger/cabinet_files.py``).
    """

    name: str = Field(min_length=1)
    spreadsheet_id: str | None = Field(
        default=None, min_length=1, description="none: `sheetledger init` creates it"
    )
    email: str | None = Field(
        default=None, description="the cabinet's person: given edit access when init creates it"
    )
    methods: tuple[Method, ...] = Field(
        default=(), description="the payment methods it confirms (none: no Payments tab)"
    )
    users: tuple[Int, ...] = ()
    title: str | None = None
    handover: bool = Field(default=False, description="show cash on hand and a handover form")
    bank: bool = Field(default=False, description="show the bank lines left to assign")
    orders: bool = Field(default=False, description="show the payment orders to pay")
    requests: bool = Field(
        default=False, description="a Requests form for this cabinet's users' payment orders"
    )

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not _EMAIL.match(value):
            raise ValueError(f"{value!r} is not an e-mail address (e.g. olga@gmail.com)")
        return value

    @model_validator(mode="after")
    def _shows_something(self) -> Cabinet:
        if not (self.methods or self.orders or self.requests or self.bank):
            raise ValueError(
                "a cabinet needs payment methods (methods: [cash]) or a tab of its own "
                "(orders: true, requests: true or bank: true)"
            )
        if self.requests and not self.users:
            raise ValueError(
                "requests: true needs the requesters' Telegram ids in users (they see their "
                "own orders there and are told when one is paid or rejected)"
            )
        return self


class Tabs(_Model):
    deals: str = "Deals"
    payments: str = "Payments"
    cash: str = "Cash on hand"
    expenses: str = "Expenses"
    bank: str = "Bank"
    reconciliation: str = "Reconciliation"
    invoices: str = "Invoices"
    orders: str = "Orders"
    requests: str = "Requests"
    state: str = "_state"
    profit: str = "Profit"
    pnl: str = "P&L"
    dimensions: str = "Dimensions"
    pivots: str = "Pivots"


class GoogleUser(_Model):
    """A person's OAuth user credentials (``sheetledger auth google`` writes them): the
    ``authorized_user`` JSON with the refresh token. Bills are uploaded to Drive as this
    person, so a My Drive folder works (a service account has no storage quota), and
    ``sheetledger init`` creates the cabinets that have no ``spreadsheet_id`` as them."""

    credentials: Secret = Field(description="the authorized_user JSON with a refresh token")


class GoogleConfig(_Model):
    service_account: Secret = Field(description="the service-account JSON key")
    oauth_user: GoogleUser | None = None
    spreadsheet_id: str = Field(min_length=1)
    tabs: Tabs = Tabs()
    cabinets: tuple[Cabinet, ...] = ()
    api_base_url: str | None = Field(
        default=None, description="only for the sandbox: where sheets.googleapis.com lives"
    )
    drive_base_url: str | None = None
    timeout_seconds: float = Field(default=60.0, gt=0)

    # One cabinet per method, unique cabinet names and cabinet users known to the bot are
    # checked by ``_cross_problems`` on the raw document: a model validator here would run
    # only when every other field is valid, and hide these problems behind the first ones.


class TelegramUser(_Model):
    id: Int
    name: str = Field(min_length=1)
    roles: tuple[Role, ...] = Field(min_length=1)


class TelegramConfig(_Model):
    token: Secret
    users: tuple[TelegramUser, ...] = ()
    admin_chat_id: Int | None = None
    base_url: str | None = Field(default=None, description="only for the sandbox")
    base_file_url: str | None = None

    @field_validator("users")
    @classmethod
    def _unique(cls, users: tuple[TelegramUser, ...]) -> tuple[TelegramUser, ...]:
        ids = [u.id for u in users]
        if len(set(ids)) != len(ids):
            raise ValueError("a Telegram user id is listed twice")
        return users

    def user(self, user_id: int) -> TelegramUser | None:
        return next((u for u in self.users if u.id == user_id), None)


class Category(_Model):
    name: str = Field(min_length=1)
    keywords: tuple[str, ...] = ()


class SalonAlias(_Model):
    """A salon as the deals' salon field names it, and the words people type for it."""

    name: str = Field(min_length=1)
    city: str | None = Field(default=None, description="the salon's city (tagged with it)")
    aliases: tuple[str, ...] = ()


class CityAlias(_Model):
    """A city as the deals' city field names it, and the words people type for it."""

    name: str = Field(min_length=1)
    aliases: tuple[str, ...] = ()


class ExpensesConfig(_Model):
    categories: tuple[Category, ...] = Field(min_length=1)
    default_category: str = "Other"
    ceiling: Decimal = Field(default=Decimal("10000000"), gt=0)
    salons: tuple[SalonAlias, ...] = Field(
        default=(), description="«салон Ленина» / «@Ленина» in an expense tags it with a salon"
    )
    cities: tuple[CityAlias, ...] = Field(
        default=(), description="«город Пермь» / «@Пермь» in an expense tags it with a city"
    )

    # Field validators (not a model validator): each runs as soon as its own field is
    # valid, so these problems are listed together with the section's other ones.
    @field_validator("categories")
    @classmethod
    def _unique_names(cls, categories: tuple[Category, ...]) -> tuple[Category, ...]:
        names = [c.name.casefold() for c in categories]
        if len(set(names)) != len(names):
            raise ValueError("category names must be unique")
        return categories

    @field_validator("default_category")
    @classmethod
    def _default_known(cls, value: str, info: ValidationInfo) -> str:
        categories = info.data.get("categories")
        if categories is not None and value not in [c.name for c in categories]:
            raise ValueError(f"{value!r} is not one of the categories")
        return value


class ReportsConfig(_Model):
    """The management table (README: The management table)."""

    revenue_day: Literal["confirmed", "payment"] = Field(
        default="confirmed",
        description="a receipt counts on the day it was confirmed, or on the payment's date",
    )
    marketing_categories: tuple[str, ...] = Field(
        default=(), description="expense categories that are marketing spend"
    )
    allocation: Literal["revenue", "equal", "none"] = Field(
        default="revenue",
        description="how untagged operating costs are shared among managers, products, "
        "salons and cities: by revenue, equally, or not at all",
    )
    every_seconds: int = Field(
        default=300, ge=0, description="the least time between two recomputations by the daemon"
    )


_ACCOUNT = r"^[0-9]{20}$"
_INN = r"^[0-9]{10}([0-9]{2})?$"


class BankAcquiring(_Model):
    """The acquiring bank's settlements of terminal payments (one credit a day, minus a fee)."""

    payer_inns: tuple[Annotated[str, Field(pattern=_INN)], ...] = ()
    purpose_words: tuple[str, ...] = ("эквайринг", "возмещение по операциям", "терминал")
    fee_percent: Decimal = Field(default=Decimal("1.8"), ge=0, lt=100)
    tolerance: Decimal = Field(default=Decimal("1.00"), ge=0, description="roubles")
    days_back: int = Field(default=5, ge=0, le=31)
    category: str = "Эквайринг"


class BankCredit(_Model):
    """Credits paid by lenders for customers who bought on credit (minus the lender's discount)."""

    lender_inns: tuple[Annotated[str, Field(pattern=_INN)], ...] = ()
    discount_percent: Decimal = Field(default=Decimal("0"), ge=0, lt=100)
    tolerance: Decimal = Field(default=Decimal("1.00"), ge=0)
    category: str = "Кредит: скидка банка"


class BankExpenseRule(_Model):
    """Outgoing money that is an expense of ``category``: by words in the purpose or INN."""

    category: str = Field(min_length=1)
    words: tuple[str, ...] = ()
    inns: tuple[Annotated[str, Field(pattern=_INN)], ...] = ()

    @model_validator(mode="after")
    def _something(self) -> BankExpenseRule:
        if not self.words and not self.inns:
            raise ValueError("give words or inns for the rule")
        return self


class BankConfig(_Model):
    """Bank statements (README «Bank statements»): our accounts and how their money is matched."""

    accounts: tuple[Annotated[str, Field(pattern=_ACCOUNT)], ...] = Field(
        min_length=1, description="our settlement accounts (20 digits); other files are refused"
    )
    auto_confirm: bool = Field(default=True, description="false: sure matches only suggested")
    auto_pay_orders: bool = Field(
        default=False, description="true: an open order an outgoing line fits is ticked Paid"
    )
    amount_tolerance_percent: Decimal = Field(default=Decimal("1"), ge=0, le=50)
    date_window_days: int = Field(default=14, ge=0, le=366)
    expense_window_days: int = Field(default=3, ge=0, le=31)
    acquiring: BankAcquiring = BankAcquiring()
    credit: BankCredit = BankCredit()
    expense_rules: tuple[BankExpenseRule, ...] = ()
    inbox_folder_id: str | None = Field(
        default=None, description="a Drive folder the accountant saves statements into"
    )


class SmsProvider(StrEnum):
    SMSRU = "smsru"  # sms.ru: GET /sms/send?api_id=…&to=…&msg=…&json=1
    SMSC = "smsc"  # SMSC.ru: /sys/send.php?login=…&psw=…&phones=…&mes=…&fmt=3


class SmsWhen(StrEnum):
    ALWAYS = "always"
    THRESHOLD = "threshold"  # amount at or over ``threshold``
    DUE_SOON = "due_soon"  # due within ``due_within_days``


class SmsConfig(_Model):
    """SMS to the accountant about new payment orders (README «SMS providers»)."""

    provider: SmsProvider = SmsProvider.SMSRU
    api_key: Secret = Field(description="sms.ru api_id, or SMSC's password / API key")
    login: str = Field(default="", description="SMSC's login (empty with an API key)")
    phones: tuple[str, ...] = Field(min_length=1)
    sender: str | None = None
    when: tuple[SmsWhen, ...] = (SmsWhen.ALWAYS,)
    threshold: Decimal = Field(default=Decimal("0"), ge=0)
    due_within_days: Int = Field(default=2, ge=0)
    quiet_hours: str | None = Field(
        default="21:00-09:00",
        pattern=r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$",
        description="HH:MM-HH:MM in the business's time zone; an SMS waits for the end",
    )
    base_url: str | None = Field(default=None, description="only for the sandbox")

    @field_validator("phones")
    @classmethod
    def _phones(cls, phones: tuple[str, ...]) -> tuple[str, ...]:
        for phone in phones:
            if not re.fullmatch(r"7\d{10}", phone):
                raise ValueError(f"{phone!r}: write a phone as 11 digits, e.g. 79161234567")
        return phones


class OrdersConfig(_Model):
    """Payment orders (README «Payment orders»); categories are the expenses' ones."""

    paid_from: tuple[str, ...] = Field(default=("р/с", "касса"), min_length=1)
    recent_days: Int = Field(default=14, ge=0, description="paid/rejected kept in Orders")
    drive_folder_id: str | None = Field(
        default=None, description="the Drive folder (in a shared drive) for bill files"
    )
    max_file_mb: Int = Field(default=20, gt=0, le=20)
    remind_at: str = Field(
        default="09:30", pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="overdue reminder"
    )
    sms: SmsConfig | None = None


class Every(_Model):
    """A job's schedule: every N seconds, or a cron expression (crontab's five fields)."""

    every_seconds: Int | None = Field(default=None, gt=0)
    cron: str | None = None

    @model_validator(mode="after")
    def _one(self) -> Every:
        if (self.every_seconds is None) == (self.cron is None):
            raise ValueError("give exactly one of every_seconds or cron")
        if self.cron is not None:
            problem = _cron_problem(self.cron)
            if problem:
                raise ValueError(problem)
        return self


# crontab's five fields: (name, lowest, highest, names in order)
_CRON_FIELDS = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day", 1, 31, ()),
    (
        "month",
        1,
        12,
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
    ),
    ("weekday", 0, 6, ("mon", "tue", "wed", "thu", "fri", "sat", "sun")),
)
_CRON_PART = re.compile(r"^(\*|[0-9a-z]+(?:-[0-9a-z]+)?)(?:/([0-9]+))?$")


def _cron_problem(expression: str) -> str:
    """'' for a valid crontab expression (``*/5 9-18 * * mon-fri``), else what is wrong.

    Checked here, not left to the scheduler, so a bad schedule is reported with the
    config's other problems instead of when the daemon starts. Weekdays must be names:
    APScheduler 3 (``CronTrigger.from_crontab``) reads 0 as Monday where crontab reads
    Sunday, and refuses 7, so a number would silently run on the wrong day.
    """
    parts = expression.split()
    if len(parts) != 5:
        return f"cron needs five fields: minute hour day month weekday (got {len(parts)})"
    for text, (name, low, high, names) in zip(parts, _CRON_FIELDS, strict=True):
        for item in text.lower().split(","):
            match = _CRON_PART.match(item)
            if match is None or match.group(2) == "0":
                return f"cron {name} field {text!r} is not valid"
            if match.group(1) == "*":
                continue
            values = []
            for bound in match.group(1).split("-"):
                if name == "weekday" and bound.isdigit():
                    return (
                        f"cron weekday field {text!r}: write day names (mon-fri, sun): "
                        "numbers mean different days to crontab and to the scheduler"
                    )
                # names count from the field's lowest value: jan = 1, mon = 0
                value = (
                    names.index(bound) + low
                    if bound in names
                    else (int(bound) if bound.isdigit() else None)
                )
                if value is None or not low <= value <= high:
                    allowed = f"{low}-{high}" if name != "weekday" else "mon-sun"
                    if names and name != "weekday":
                        allowed += f" or {names[0]}-{names[-1]}"
                    return f"cron {name} field {text!r}: {bound!r} is not within {allowed}"
                values.append(value)
            if values != sorted(values):
                return f"cron {name} field {text!r}: a range must not run backwards"
    return ""


class Schedule(_Model):
    sync: Every = Every(every_seconds=60)
    outbox_flush: Every = Every(every_seconds=30)
    misfire_grace_seconds: Int = Field(default=300, ge=1)
    # A settled daemon skips reading sheets whose Drive version is unchanged; in case Drive's
    # version lags an edit, it still reads everything at least this often.
    full_read_minutes: Int = Field(default=15, ge=1)


class LoggingConfig(_Model):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["text", "json"] = "text"


class ReconcileConfig(_Model):
    """When an inconsistency becomes a reconciliation finding (``sheetledger reconcile``)."""

    unpushed_after_runs: int = Field(
        default=2, ge=1, description="a tick not in amoCRM at this many reconcile runs in a row"
    )
    cash_days: int = Field(default=3, ge=0, description="cash on a manager longer than this")
    cash_limit: Decimal = Field(default=Decimal("100000"), gt=0, description="or more than this")
    unconfirmed_days: int = Field(
        default=5, ge=0, description="a non-cash payment unconfirmed this long after its date"
    )
    uncategorised_days: int = Field(
        default=7, ge=0, description="an expense left in the default category this long"
    )
    bank_days: int = Field(
        default=3, ge=0, description="a bank line left unassigned or unexplained this long"
    )
    schedule: Every = Every(cron="30 2 * * *")


class BackupConfig(_Model):
    """The local backup of every tab (``sheetledger backup``; the daemon's nightly job)."""

    keep: int = Field(default=14, ge=1, description="backups kept in state_dir/backups")
    schedule: Every = Every(cron="0 3 * * *")


class DigestConfig(_Model):
    """The daily Telegram digest to the owner and the cashier (``sheetledger digest``)."""

    at: str = Field(default="09:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="HH:MM")
    enabled: bool = True


class Config(_Model):
    timezone: str = "Europe/Moscow"
    state_dir: Path = Path("state")
    amocrm: AmoConfig
    google: GoogleConfig
    telegram: TelegramConfig
    expenses: ExpensesConfig
    bank: BankConfig | None = None
    orders: OrdersConfig = OrdersConfig()
    schedule: Schedule = Schedule()
    reports: ReportsConfig = ReportsConfig()
    reconcile: ReconcileConfig = ReconcileConfig()
    backup: BackupConfig = BackupConfig()
    digest: DigestConfig = DigestConfig()
    logging: LoggingConfig = LoggingConfig()
    source: Path | None = None

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (e.g. Europe/Moscow)") from exc
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def secrets(self) -> dict[str, Secret]:
        """Every secret by its config path (for ``check`` and for log redaction)."""
        return (
            {
                "amocrm.token": self.amocrm.token,
                "google.service_account": self.google.service_account,
                "telegram.token": self.telegram.token,
            }
            | (
                {"google.oauth_user.credentials": self.google.oauth_user.credentials}
                if self.google.oauth_user
                else {}
            )
            | ({"orders.sms.api_key": self.orders.sms.api_key} if self.orders.sms else {})
        )


# --------------------------------------------------------------------------- loading

# Secret fields: path -> (value key, file key).
_SECRETS = {
    ("amocrm",): ("token", "token_file"),
    ("google",): ("service_account", "service_account_file"),
    ("google", "oauth_user"): ("credentials", "credentials_file"),
    ("telegram",): ("token", "token_file"),
    ("orders", "sms"): ("api_key", "api_key_file"),
}

_FRIENDLY = {
    "int_parsing": "expected an integer",
    "int_type": "expected an integer",
    "float_parsing": "expected a number",
    "decimal_parsing": "expected a number",
    "missing": "missing",
    "extra_forbidden": "unknown key (a typo?)",
    "string_type": "expected text",
    "greater_than": "must be positive",
    "too_short": "must not be empty",
    "enum": "expected one of",
    "dict_type": "expected a mapping (key: value lines)",
    "model_type": "expected a mapping (key: value lines)",
    "model_attributes_type": "expected a mapping (key: value lines)",
    "tuple_type": "expected a list",
    "list_type": "expected a list",
    "bool_parsing": "expected true or false",
    "bool_type": "expected true or false",
}


def _format_error(error: Mapping[str, Any]) -> str:
    loc = [str(part) for part in error["loc"]]
    path = ".".join(loc) if loc else "(top level)"
    kind = str(error["type"])
    message = str(error["msg"])
    if (
        kind in ("int_parsing", "int_type")
        and loc
        and loc[-1] != "id"
        and ("fields" in loc or "payment_slots" in loc)
    ):
        message = "expected an integer field id"
    elif kind == "enum":
        expected = error.get("ctx", {}).get("expected", "")
        message = f"expected one of {expected}"
    elif kind in _FRIENDLY and kind != "enum":
        message = _FRIENDLY[kind]
    elif message.startswith("Value error, "):
        message = message.removeprefix("Value error, ")
    elif message.startswith("Assertion failed, "):
        message = message.removeprefix("Assertion failed, ")
    return f"{path}: {message}"


def _spurious(error: Mapping[str, Any]) -> bool:
    """pydantic adds "too short" to a list whose items failed (``[abc]`` counts as 0
    items *after validation*); the item's own error already says what is wrong."""
    if error["type"] != "too_short":
        return False
    given = error.get("input")
    minimum = error.get("ctx", {}).get("min_length", 0)
    return isinstance(given, (list, tuple)) and len(given) >= minimum


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _cross_problems(raw: Mapping[str, Any]) -> list[str]:
    """Rules across cabinets and sections, checked on the raw document.

    They are checked here (tolerating whatever else is broken) rather than by model
    validators, which pydantic runs only once every field is valid: the promise is every
    problem at once.
    """
    google, telegram = raw.get("google"), raw.get("telegram")
    cabinets = google.get("cabinets") if isinstance(google, dict) else None
    if not isinstance(cabinets, list):
        return []
    known: set[int] | None = None
    if isinstance(telegram, dict):
        users = telegram.get("users") or []
        if isinstance(users, list):
            ids = (_as_int(u.get("id")) for u in users if isinstance(u, dict))
            known = {user_id for user_id in ids if user_id is not None}
    problems: list[str] = []
    method_owner: dict[str, tuple[int, str]] = {}
    name_owner: dict[str, int] = {}
    creator = isinstance(google, dict) and google.get("oauth_user") is not None
    for index, cabinet in enumerate(cabinets):
        if not isinstance(cabinet, dict):
            continue
        where = f"google.cabinets.{index}"
        if cabinet.get("spreadsheet_id") is None and not creator:
            problems.append(
                f"{where}.spreadsheet_id: missing — set it, or set google.oauth_user so "
                "`sheetledger init` creates the spreadsheet"
            )
        name = cabinet.get("name")
        label = f"cabinet {name!r}" if isinstance(name, str) and name else f"cabinet {index}"
        if isinstance(name, str) and name:
            if name in name_owner:
                problems.append(
                    f"{where}.name: {name!r} is already the name of cabinet {name_owner[name]}; "
                    "cabinet names must be unique"
                )
            name_owner.setdefault(name, index)
        methods = cabinet.get("methods")
        for position, method in enumerate(methods if isinstance(methods, list) else []):
            if not isinstance(method, str):
                continue
            owner = method_owner.setdefault(method, (index, label))
            if owner[0] != index:
                problems.append(
                    f"{where}.methods.{position}: {method} is already in {owner[1]} "
                    "(each payment method belongs to one cabinet)"
                )
        cabinet_users = cabinet.get("users")
        if known is None or not isinstance(cabinet_users, list):
            continue
        for position, user in enumerate(cabinet_users):
            user_id = _as_int(user)
            if user_id is not None and user_id not in known:
                problems.append(f"{where}.users.{position}: {user_id} is not in telegram.users")
    return problems


def _resolve_secrets(
    raw: dict[str, Any], base: Path, environ: Mapping[str, str], require: bool
) -> list[str]:
    """Replace each secret field by a ``Secret``; return the problems found."""
    problems: list[str] = []
    for section_path, (key, file_key) in _SECRETS.items():
        section: Any = raw
        for part in section_path:
            section = section.get(part) if isinstance(section, dict) else None
        if not isinstance(section, dict):
            continue  # the section itself is reported missing by validation
        where = ".".join((*section_path, key))
        value = section.get(key)
        file_name = section.pop(file_key, None)
        if value is not None and file_name is not None:
            problems.append(f"{where}: give {key} or {file_key}, not both")
            section[key] = Secret(None, "(rejected)")  # said once, not again as a wrong type
            continue
        if file_name is not None:
            path = Path(os.path.expanduser(str(file_name)))
            if not path.is_absolute():
                path = base / path
            text = None
            file_where = ".".join((*section_path, file_key))
            if path.is_file():
                try:
                    text = path.read_text(encoding="utf-8").strip()
                except UnicodeDecodeError:
                    problems.append(f"{file_where}: not UTF-8 text: {path}")
                    text = None
                if text == "" and require:
                    problems.append(f"{file_where}: the file is empty: {path}")
            elif require:
                problems.append(f"{file_where}: no such file: {path}")
            section[key] = Secret(text, str(path))
            continue
        if value is None:
            problems.append(f"{where}: missing (use ${{ENV_VAR}} or {file_key}: PATH)")
            continue
        match = _ENV_REF.match(str(value))
        if match is None:
            problems.append(
                f"{where}: a secret must not be written in the config; "
                f"use ${{ENV_VAR}} or {file_key}: PATH"
            )
            section[key] = Secret(None, "(rejected)")
            continue
        name = match.group(1)
        env_value = environ.get(name)
        if env_value is None and require:
            problems.append(f"{where}: environment variable {name} is not set")
        elif not env_value and require:
            problems.append(f"{where}: environment variable {name} is empty")
        section[key] = Secret(env_value, f"${name}")
    return problems


def parse_config(
    raw: Any,
    *,
    source: str = "config",
    base_dir: Path | None = None,
    environ: Mapping[str, str] | None = None,
    require_secrets: bool = True,
) -> Config:
    """Validate an already-parsed YAML document. Raises ``ConfigError`` with every problem."""
    if not isinstance(raw, dict):
        raise ConfigError(source, ["(top level): expected a mapping of sections"])
    raw = _deep_copy(raw)
    base = base_dir or Path.cwd()
    env = os.environ if environ is None else environ
    problems = _resolve_secrets(raw, base, env, require_secrets)
    problems += _cross_problems(raw)
    state_dir = raw.get("state_dir")
    if isinstance(state_dir, str) and not Path(state_dir).is_absolute():
        raw["state_dir"] = str(base / state_dir)
    config: Config | None = None
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        problems.extend(_format_error(e) for e in exc.errors() if not _spurious(e))
    if problems or config is None:
        raise ConfigError(source, problems)
    return config


def load_config(
    path: str | Path,
    *,
    environ: Mapping[str, str] | None = None,
    require_secrets: bool = True,
) -> Config:
    """Read and validate ``path``. Relative paths in it are relative to its folder."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(str(path), [f"(file): cannot read: {exc.strerror or exc}"]) from exc
    text = _utf8_text(str(path), data)
    try:
        duplicates = _duplicate_keys(yaml.compose(text, Loader=yaml.SafeLoader))
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(file)"
        # Only the problem, not PyYAML's full text: that quotes the offending line, which
        # may be a secret someone pasted into the file.
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise ConfigError(str(path), [f"{where}: not valid YAML: {problem}"]) from exc
    try:
        config = parse_config(
            raw,
            source=str(path),
            base_dir=path.resolve().parent,
            environ=environ,
            require_secrets=require_secrets,
        )
    except ConfigError as exc:
        raise ConfigError(str(path), [*duplicates, *exc.problems]) from None
    if duplicates:
        # PyYAML keeps the last of two equal keys silently: which one the admin meant is
        # a guess, so the config is refused.
        raise ConfigError(str(path), duplicates)
    return config.model_copy(update={"source": path})


def _utf8_text(source: str, data: bytes) -> str:
    """The file's text; a file saved in another encoding (cp1251 by an old editor) is a
    problem with its line, not a ``UnicodeDecodeError`` traceback."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        byte = data[exc.start]
        problem = f"line {line}: the file is not UTF-8 text (byte 0x{byte:02x}); save it as UTF-8"
        raise ConfigError(source, [problem]) from None


def _duplicate_keys(node: yaml.Node | None, path: tuple[str, ...] = ()) -> list[str]:
    """``path: given twice (lines a and b)`` for every key repeated in one mapping."""
    problems: list[str] = []
    if isinstance(node, yaml.MappingNode):
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "?"
            where = ".".join((*path, key))
            line = key_node.start_mark.line + 1
            if key in first_line:
                problems.append(f"{where}: given twice (lines {first_line[key]} and {line})")
            else:
                first_line[key] = line
            problems += _duplicate_keys(value_node, (*path, key))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            problems += _duplicate_keys(item, (*path, str(index)))
    return problems


def _deep_copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_copy(v) for v in value]
    return value
