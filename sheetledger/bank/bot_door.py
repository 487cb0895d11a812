"""A statement file sent to the bot by the accountant or the owner is imported.

The same import as ``sheetledger import-statement`` (checked first, then one read and
one write), answered in Russian in the chat. The bot calls ``statement_reply`` in a
thread: it blocks on Google. Sending the same file twice is harmless: the lines are
already in the Bank tab and nothing is written. The ticks are pushed to amoCRM by
the daemon's next sync, as a person's ticks are.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime

from sheetledger.bank.importer import import_statements
from sheetledger.bank.statement import StatementError
from sheetledger.config import Config, Role
from sheetledger.errors import ConfigError, SheetledgerError

__all__ = ["MAX_BYTES", "may_import", "statement_reply"]

log = logging.getLogger(__name__)

MAX_BYTES = 20 * 1024 * 1024  # Telegram's getFile limit for bots
ROLES = frozenset({Role.ACCOUNTANT, Role.OWNER})
AS_IS = ("как есть", "accept-unbalanced")  # a caption that accepts an unbalanced file


def may_import(roles: Iterable[Role]) -> bool:
    return bool(ROLES & set(roles))


def statement_reply(
    config: Config, name: str, data: bytes, *, caption: str = "", now: datetime | None = None
) -> str:
    """Import the file; the answer for the chat, whatever happened."""
    # import cycle: connect builds the bot, and the bot hands statements to this door
    from sheetledger.connect import build_google, cabinet_ledgers, master_ledger

    accept = any(word in caption.casefold() for word in AS_IS)
    try:
        client = build_google(config)
        report = import_statements(
            config,
            master_ledger(config, client),
            [(name, data)],
            now=now or datetime.now(UTC),
            accept_unbalanced=accept,
            cabinets=cabinet_ledgers(config, client),
        )
    except StatementError as exc:
        text = f"Выписку «{name}» не загрузил, ничего не записано:\n" + "\n".join(
            f"• {problem}" for problem in exc.problems[:8]
        )
        if exc.unbalanced:
            text += "\nЕсли файл верный, пришлите его ещё раз с подписью «как есть»."
        return text
    except ConfigError:
        return "Выписки не настроены: в config.yaml нет раздела bank (наши счета)."
    except SheetledgerError as exc:
        log.warning("statement %s from the bot not imported: %s", name, exc)
        return "Таблица сейчас недоступна, выписку не загрузил. Пришлите её чуть позже."
    plan = report.plan
    lines = [
        f"Выписка «{name}»: строк {report.lines}, новых {len(plan.outcomes)}"
        + (f" (уже были: {plan.known})" if plan.known else "")
        + "."
    ]
    if plan.confirmed:
        lines.append(
            f"Подтверждено платежей: {len(plan.confirmed)} ({', '.join(plan.confirmed)}); "
            "в amoCRM уйдут при ближайшей синхронизации."
        )
    if plan.partial:
        lines.append(f"Получено частично: {', '.join(plan.partial)}.")
    waiting = plan.count("suggested") + plan.count("unassigned")
    if waiting:
        lines.append(
            f"Ждут разнесения: {waiting} (предложено {plan.count('suggested')}, "
            f"не найдено {plan.count('unassigned')}) — вкладка Bank в кабинете."
        )
    if plan.count("own transfer"):
        lines.append(f"Переводы между своими счетами: {plan.count('own transfer')}.")
    for _, statement in report.statements:
        if statement.problems:
            lines.append(f"Загружено как есть, не сходится: {len(statement.problems)} мест(а).")
    return "\n".join(lines)
