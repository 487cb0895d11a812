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
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from sheetledger.errors import ConfigError

__all__ = [
    "AmoConfig",
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
    """How a payment is made (mission.md §1)."""

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


FieldId = int


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


class StatusMove(_Model):
    status_id: int = Field(gt=0)


class StatusRules(_Model):
    """Status changes on confirmation; 142 is amoCRM's «won» in every pipeline."""

    on_first_confirmation: StatusMove | None = None
    on_fully_paid: StatusMove | None = None


class AmoConfig(_Model):
    base_url: str = Field(description="https://<subdomain>.amocrm.ru (or .kommo.com)")
    token: Secret
    pipelines: tuple[int, ...] = Field(min_length=1)
    fields: DealFields
    payment_slots: tuple[PaymentSlot, ...] = Field(min_length=1)
    methods: Mapping[str, Method] = Field(
        description="payment-type option text on the deal card -> method", min_length=1
    )
    status_rules: StatusRules = StatusRules()
    overlap_seconds: int = Field(default=300, ge=0)
    requests_per_second: float = Field(default=6.0, gt=0, le=7)
    timeout_seconds: float = Field(default=30.0, gt=0)

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("expected a URL such as https://example.amocrm.ru")
        return value.rstrip("/")


class Cabinet(_Model):
    """A person's own spreadsheet: the payments of some methods, to confirm."""

    name: str = Field(min_length=1)
    spreadsheet_id: str = Field(min_length=1)
    methods: tuple[Method, ...] = Field(min_length=1)
    users: tuple[int, ...] = ()
    title: str | None = None
    handover: bool = Field(default=False, description="show cash on hand and a handover form")


class Tabs(_Model):
    deals: str = "Deals"
    payments: str = "Payments"
    cash: str = "Cash on hand"
    expenses: str = "Expenses"
    invoices: str = "Invoices"
    state: str = "_state"


class GoogleConfig(_Model):
    service_account: Secret = Field(description="the service-account JSON key")
    spreadsheet_id: str = Field(min_length=1)
    tabs: Tabs = Tabs()
    cabinets: tuple[Cabinet, ...] = ()
    api_base_url: str | None = Field(
        default=None, description="only for the sandbox: where sheets.googleapis.com lives"
    )
    drive_base_url: str | None = None
    timeout_seconds: float = Field(default=60.0, gt=0)

    @model_validator(mode="after")
    def _one_cabinet_per_method(self) -> GoogleConfig:
        owners: dict[Method, list[str]] = {}
        for cabinet in self.cabinets:
            for method in cabinet.methods:
                owners.setdefault(method, []).append(cabinet.name)
        twice = {m: names for m, names in owners.items() if len(names) > 1}
        if twice:
            detail = "; ".join(f"{m.value} is in {', '.join(n)}" for m, n in sorted(twice.items()))
            raise ValueError(f"each payment method belongs to one cabinet: {detail}")
        names = [c.name for c in self.cabinets]
        if len(set(names)) != len(names):
            raise ValueError("cabinet names must be unique")
        return self


class TelegramUser(_Model):
    id: int
    name: str = Field(min_length=1)
    roles: tuple[Role, ...] = Field(min_length=1)


class TelegramConfig(_Model):
    token: Secret
    users: tuple[TelegramUser, ...] = ()
    admin_chat_id: int | None = None
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


class ExpensesConfig(_Model):
    categories: tuple[Category, ...] = Field(min_length=1)
    default_category: str = "Other"
    ceiling: Decimal = Field(default=Decimal("10000000"), gt=0)

    @model_validator(mode="after")
    def _default_known(self) -> ExpensesConfig:
        names = [c.name for c in self.categories]
        if len(set(n.casefold() for n in names)) != len(names):
            raise ValueError("category names must be unique")
        if self.default_category not in names:
            raise ValueError(f"default_category {self.default_category!r} is not a category")
        return self


class Every(_Model):
    """A job's schedule: every N seconds, or a cron expression (crontab's five fields)."""

    every_seconds: int | None = Field(default=None, gt=0)
    cron: str | None = None

    @model_validator(mode="after")
    def _one(self) -> Every:
        if (self.every_seconds is None) == (self.cron is None):
            raise ValueError("give exactly one of every_seconds or cron")
        if self.cron is not None and len(self.cron.split()) != 5:
            raise ValueError("cron needs five fields: minute hour day month weekday")
        return self


class Schedule(_Model):
    sync: Every = Every(every_seconds=60)
    outbox_flush: Every = Every(every_seconds=30)
    misfire_grace_seconds: int = Field(default=300, ge=1)


class LoggingConfig(_Model):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["text", "json"] = "text"


class Config(_Model):
    timezone: str = "Europe/Moscow"
    currency: str = Field(default="RUB", pattern=r"^[A-Z]{3}$")
    state_dir: Path = Path("state")
    amocrm: AmoConfig
    google: GoogleConfig
    telegram: TelegramConfig
    expenses: ExpensesConfig
    schedule: Schedule = Schedule()
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

    @model_validator(mode="after")
    def _cross_checks(self) -> Config:
        problems = []
        known = {u.id for u in self.telegram.users}
        for index, cabinet in enumerate(self.google.cabinets):
            for user in cabinet.users:
                if user not in known:
                    problems.append(
                        f"google.cabinets.{index}.users: {user} is not in telegram.users"
                    )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def secrets(self) -> dict[str, Secret]:
        """Every secret by its config path (for ``check`` and for log redaction)."""
        return {
            "amocrm.token": self.amocrm.token,
            "google.service_account": self.google.service_account,
            "telegram.token": self.telegram.token,
        }


# --------------------------------------------------------------------------- loading

# Secret fields: path -> (value key, file key).
_SECRETS = {
    ("amocrm",): ("token", "token_file"),
    ("google",): ("service_account", "service_account_file"),
    ("telegram",): ("token", "token_file"),
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
}


def _format_error(error: Mapping[str, Any]) -> str:
    loc = [str(part) for part in error["loc"]]
    path = ".".join(loc) if loc else "(top level)"
    kind = str(error["type"])
    message = str(error["msg"])
    if kind in ("int_parsing", "int_type") and loc and loc[-1] != "id" and (
        "fields" in loc or "payment_slots" in loc
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
            continue
        if file_name is not None:
            path = Path(os.path.expanduser(str(file_name)))
            if not path.is_absolute():
                path = base / path
            text = None
            if path.is_file():
                text = path.read_text(encoding="utf-8").strip()
            elif require:
                problems.append(f"{'.'.join((*section_path, file_key))}: no such file: {path}")
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
    state_dir = raw.get("state_dir")
    if isinstance(state_dir, str) and not Path(state_dir).is_absolute():
        raw["state_dir"] = str(base / state_dir)
    config: Config | None = None
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        problems.extend(_format_error(e) for e in exc.errors())
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
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(path), [f"(file): cannot read: {exc.strerror or exc}"]) from exc
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(file)"
        raise ConfigError(str(path), [f"{where}: not valid YAML: {exc}"]) from exc
    config = parse_config(
        raw,
        source=str(path),
        base_dir=path.resolve().parent,
        environ=environ,
        require_secrets=require_secrets,
    )
    return config.model_copy(update={"source": path})


def _deep_copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_copy(v) for v in value]
    return value
