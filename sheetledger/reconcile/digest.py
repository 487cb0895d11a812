"""The daily digest in Telegram: what the owner and the cashier read over breakfast.

``plan_digest`` is pure (the ledger's tabs and today in, the messages out, in
Russian, each within Telegram's 4,096 characters). ``send_due`` is the shell the
daemon calls every minute: at the configured time in the business's zone it sends
the day's digest once. The day sent is remembered in ``state.db`` per chat, after
each send, so a restart neither skips the day nor sends it twice (a crash in the
instant between Telegram's answer and the note is the one case of a repeat).
"""

from __future__ import annotations

import asyncio
import calendar
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sheetledger.bot.identity import make_bot
from sheetledger.config import Config, Role
from sheetledger.model import ZERO
from sheetledger.reconcile.findings import SEVERITY_ORDER, rub
from sheetledger.reconcile.track import HISTORY_ID
from sheetledger.store import LocalState
from sheetledger.sync.cash import plan_cash
from sheetledger.sync.ledger_view import LedgerView
from sheetledger.sync.push import received_so_far

TEXT_LIMIT = 4096  # Telegram's limit for a message (a caption has 1,024)
SENT_KEY = "digest.sent"  # chat id -> the day (ISO) its digest was sent
DIGEST_TABS = ("payments", "expenses", "reconciliation")
_SEVERITY_RU = {"error": "❗", "warning": "⚠️", "info": "ℹ️"}


@dataclass(frozen=True)
class Totals:
    revenue: Decimal
    costs: Decimal

    @property
    def net(self) -> Decimal:
        return self.revenue - self.costs


def totals(view: LedgerView, first: date, last: date) -> Totals:
    """Confirmed receipts (by the day confirmed) and expenses (by their date) in [first, last]."""
    revenue = ZERO
    for row in view.tab("payments"):
        on = row.get("confirmed_at")
        amount = received_so_far(row)
        if on is not None and amount is not None and first <= on <= last:
            revenue += amount
    costs = ZERO
    if "expenses" in view.tabs:
        for row in view.tab("expenses"):
            on = row.get("date")
            if on is not None and not row.get("void") and first <= on <= last:
                costs += row.get("amount") or ZERO
    return Totals(revenue, costs)


def _same_days_last_month(first: date, last: date) -> tuple[date, date]:
    year, month = (first.year, first.month - 1) if first.month > 1 else (first.year - 1, 12)
    days = calendar.monthrange(year, month)[1]
    return date(year, month, 1), date(year, month, min(last.day, days))


def cash_lines(view: LedgerView, today: date) -> list[str]:
    lines = []
    for entry in plan_cash(view, today):
        oldest = entry["oldest"]
        since = f", {(today - oldest).days} дн. (с {oldest:%d.%m})" if oldest else ""
        lines.append(f"• {entry['manager']}: {rub(entry['amount'])} ({entry['count']} пл.){since}")
    return lines


def open_findings(view: LedgerView) -> list[Mapping[str, Any]]:
    """The Reconciliation tab's findings nobody muted, the most serious first."""
    if "reconciliation" not in view.tabs:
        return []
    rows = [
        row
        for row in view.tab("reconciliation")
        if str(row.get("id")) != HISTORY_ID and not row.get("seen")
    ]
    return sorted(
        rows, key=lambda r: (SEVERITY_ORDER.get(str(r.get("severity")), 9), str(r.get("id")))
    )


def owner_message(view: LedgerView, today: date) -> str:
    yesterday = today - timedelta(days=1)
    day = totals(view, yesterday, yesterday)
    month_start = yesterday.replace(day=1)
    mtd = totals(view, month_start, yesterday)
    before = totals(view, *_same_days_last_month(month_start, yesterday))
    lines = [
        f"📊 Сводка за {yesterday:%d.%m.%Y}",
        f"Выручка (подтверждено): {rub(day.revenue)}",
        f"Расходы: {rub(day.costs)}",
        "",
        f"С начала месяца (по {yesterday:%d.%m}): выручка {rub(mtd.revenue)}, "
        f"расходы {rub(mtd.costs)}, итог {rub(mtd.net)}",
        f"Те же дни прошлого месяца: выручка {rub(before.revenue)}, "
        f"расходы {rub(before.costs)}, итог {rub(before.net)}",
        "",
    ]
    cash = cash_lines(view, today)
    lines += ["💵 Наличные у менеджеров:", *cash] if cash else ["💵 Наличных у менеджеров нет"]
    findings = open_findings(view)
    lines.append("")
    if findings:
        lines.append(f"🔎 Сверка: {len(findings)} расхождений, главные:")
        for row in findings[:5]:
            mark = _SEVERITY_RU.get(str(row.get("severity")), "•")
            lines.append(f"{mark} {row.get('code')} {row.get('subject')}: {row.get('detail')}")
    else:
        lines.append("🔎 Сверка: расхождений нет")
    return "\n".join(lines)


def cashier_message(view: LedgerView, today: date) -> str:
    cash = cash_lines(view, today)
    head = f"💵 Наличные у менеджеров на {today:%d.%m.%Y}"
    return "\n".join([head, *cash]) if cash else head + ": нет"


def fit(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """``text`` as messages of at most ``limit`` characters, cut between lines."""
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:  # one line longer than a message: cut it
            if current:
                parts.append(current)
                current = ""
            parts.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            parts.append(current)
            current = line
        else:
            current = candidate
    if current:
        parts.append(current)
    return parts


def plan_digest(view: LedgerView, config: Config, today: date) -> dict[int, list[str]]:
    """Chat id -> the messages of the day (owners get the summary, cashiers the cash)."""
    plan: dict[int, list[str]] = {}
    for user in config.telegram.users:
        texts: list[str] = []
        if Role.OWNER in user.roles:
            texts += fit(owner_message(view, today))
        if Role.CASHIER in user.roles:
            texts += fit(cashier_message(view, today))
        if texts:
            plan[user.id] = texts
    return plan


def due(now: datetime, config: Config, sent: Mapping[str, str], chats: Iterable[int]) -> bool:
    """Whether the digest is due: past its time today and some chat has not had today's."""
    local = now.astimezone(config.tz)
    hour, minute = (int(part) for part in config.digest.at.split(":"))
    if local.time() < time(hour, minute):
        return False
    today = local.date().isoformat()
    return any(sent.get(str(chat)) != today for chat in chats)


Send = Callable[[int, str], None]


def send_due(
    config: Config,
    read: Callable[[], LedgerView],
    send: Send,
    store: LocalState,
    now: datetime,
    *,
    force: bool = False,
    only: Sequence[int] = (),
) -> list[int]:
    """Send today's digest to the chats that have not had it; returns the chats sent to.

    With ``force`` (``sheetledger digest --now``) it is sent whatever the time and the
    memory say, and the memory is left alone.
    """
    today = now.astimezone(config.tz).date()
    sent = {str(k): str(v) for k, v in (store.get(SENT_KEY, {}) or {}).items()}
    chats = [u.id for u in config.telegram.users if {Role.OWNER, Role.CASHIER} & set(u.roles)]
    if not force and (not config.digest.enabled or not due(now, config, sent, chats)):
        return []
    view = read()
    plan = plan_digest(view, config, today)
    done = []
    for chat in list(only) or list(plan):
        if not force and sent.get(str(chat)) == today.isoformat():
            continue
        # A chat named with --to that is no recipient gets the owner's digest.
        texts = plan.get(chat) or fit(owner_message(view, today))
        for text in texts:
            send(chat, text)
        done.append(chat)
        if not force:
            sent[str(chat)] = today.isoformat()
            store.set(SENT_KEY, sent)
    return done


def telegram_sender(config: Config) -> Send:
    """Send a message through the Bot API, from any thread without a running loop."""

    def send(chat: int, text: str) -> None:
        async def go() -> None:
            async with make_bot(config.telegram) as bot:
                await bot.send_message(chat, text)

        asyncio.run(go())

    return send
