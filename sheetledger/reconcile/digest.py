"""The daily digest in Telegram: what the owner, the cashier and the accountant read over breakfast.

``plan_digest`` is pure (the ledger's tabs and today in, the messages out, in
Russian, each within Telegram's 4,096 characters). The owner reads the money of
yesterday and of the month, net profit as ``sheetledger report`` computes it, the
cash on the managers, the money in the bank nobody assigned, overdue payment orders
and the worst findings, with the marketing-versus-turnover chart as a picture (the
PNG of ``report --png``); the cashier the cash; the accountant what she has to do
(non-cash payments still unconfirmed, bank lines to assign, orders due).
``send_due`` is the shell the
daemon calls every minute: at the configured time in the business's zone it sends
the day's digest once. The day sent is remembered in ``state.db`` per chat, after
each send, so a restart neither skips the day nor sends it twice (a crash in the
instant between Telegram's answer and the note is the one case of a repeat).
"""

from __future__ import annotations

import asyncio
import calendar
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from sheetledger.bot.identity import make_bot
from sheetledger.config import Config, Role
from sheetledger.model import ZERO, RowCode
from sheetledger.orders.model import Order
from sheetledger.orders.rows import due_within, orders_of
from sheetledger.reconcile.findings import SEVERITY_ORDER, rub
from sheetledger.reconcile.track import HISTORY_ID
from sheetledger.reports.figures import Period
from sheetledger.reports.inputs import order_costs
from sheetledger.reports.terminal import period_report, save_chart
from sheetledger.store import LocalState
from sheetledger.sync.cash import plan_cash
from sheetledger.sync.ledger_view import LedgerView
from sheetledger.sync.push import received_so_far
from sheetledger.texts import MESSAGE_LIMIT, split_text

log = logging.getLogger(__name__)

TEXT_LIMIT = MESSAGE_LIMIT
CHART_FILE = "digest-chart.png"  # in state_dir: the last chart sent, to look at
SENT_KEY = "digest.sent"  # chat id -> the day (ISO) its digest was sent
FAILED_KEY = "digest.failed"  # chat id -> the day a send failed (said once in the log)
DIGEST_TABS = ("deals", "payments", "expenses", "bank", "invoices", "reconciliation")
CAPTION_LIMIT = 1024  # Telegram's limit for a photo's caption
NON_CASH = frozenset({"card", "terminal", "bank", "credit"})
LISTED = 10  # lines named one by one in the accountant's digest
ORDERS_DUE_DAYS = 3  # the accountant is shown the orders due within these days (and overdue)
_SEVERITY_RU = {"error": "❗", "warning": "⚠️", "info": "ℹ️"}


@dataclass(frozen=True)
class Totals:
    revenue: Decimal
    costs: Decimal

    @property
    def net(self) -> Decimal:
        return self.revenue - self.costs


def totals(view: LedgerView, first: date, last: date) -> Totals:
    """Confirmed receipts (by the day confirmed), expenses (by their date) and paid orders
    (by the day paid, as the reports count them) in [first, last]."""
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
    if "invoices" in view.tabs:
        for _, _, on, kopecks, *_ in order_costs(view.tab("invoices")):
            if on is not None and first <= on <= last:
                costs += Decimal(kopecks).scaleb(-2)
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


def month_net_profit(view: LedgerView, config: Config, today: date) -> Decimal | None:
    """Net profit from the 1st of yesterday's month to yesterday, exactly as
    ``sheetledger report`` computes it (None without the Deals tab to compute it from)."""
    if "deals" not in view.tabs:
        return None
    yesterday = today - timedelta(days=1)
    period = Period("digest", yesterday.replace(day=1), yesterday)
    pnl = period_report(config, _sources(view), period, ()).pnl
    return pnl[-1]["net_profit"] if pnl else ZERO


def _sources(view: LedgerView) -> dict[str, list[Mapping[str, Any]]]:
    found = {
        key: list(view.tab(key)) if key in view.tabs else []
        for key in ("deals", "payments", "expenses")
    }
    found["orders"] = list(view.tab("invoices")) if "invoices" in view.tabs else []
    return found


@dataclass(frozen=True)
class BankWaiting:
    """Incoming money in the Bank tab no rule or person has assigned to a contract."""

    count: int
    amount: Decimal
    oldest: date | None
    rows: tuple[Mapping[str, Any], ...]


def bank_waiting(view: LedgerView) -> BankWaiting:
    if "bank" not in view.tabs:
        return BankWaiting(0, ZERO, None, ())
    rows = sorted(
        (
            row
            for row in view.tab("bank")
            if row.get("direction") == "in" and row.get("state") in ("unassigned", "suggested")
        ),
        key=lambda r: (r.get("date") or date.max, str(r.get("id"))),
    )
    days = [r["date"] for r in rows if r.get("date") is not None]
    total = sum((r.get("amount") or ZERO for r in rows), ZERO)
    return BankWaiting(len(rows), total, min(days, default=None), tuple(rows))


def bank_lines(view: LedgerView, today: date) -> list[str]:
    """The owner's lines on money in the bank not assigned to any contract."""
    waiting = bank_waiting(view)
    if not waiting.count:
        return ["🏦 Все поступления в банк разнесены по договорам"]
    oldest = waiting.oldest
    since = f", самое давнее с {oldest:%d.%m} ({(today - oldest).days} дн.)" if oldest else ""
    return [
        f"🏦 В банке не разнесено по договорам: {rub(waiting.amount)} ({waiting.count} стр.{since})"
    ]


def ledger_orders(view: LedgerView, today: date) -> list[Order]:
    """The payment orders of the Invoices tab (none when the ledger has no such tab)."""
    return orders_of(view.tab("invoices"), today) if "invoices" in view.tabs else []


def _order_line(order: Order, today: date) -> str:
    due = order.draft.due
    late = f", просрочено {(today - due).days} дн." if due is not None and today > due else ""
    return (
        f"• {order.id} {order.draft.supplier or '—'}: {rub(order.amount)}"
        f"{f', срок {due:%d.%m}' if due else ''}{late}"
        f"{f' ({order.draft.purpose})' if order.draft.purpose else ''}"
    )


def overdue_orders(view: LedgerView, today: date) -> list[str]:
    """The owner's lines on payment orders unpaid after their due day (``E_OVERDUE``).

    Nothing when the ledger has no Invoices tab; one line saying so when none is late.
    """
    if "invoices" not in view.tabs:
        return []
    late = [o for o in ledger_orders(view, today) if o.overdue(today)]
    if not late:
        return ["⏰ Просроченных поручений на оплату нет"]
    late.sort(key=lambda o: (o.draft.due or today, o.id))
    total = sum((o.amount for o in late), ZERO)
    lines = [
        f"⏰ Просрочены поручения на оплату ({RowCode.E_OVERDUE.value}): "
        f"{len(late)} на {rub(total)}"
    ]
    lines += [_order_line(o, today) for o in late[:LISTED]]
    if len(late) > LISTED:
        lines.append(f"… и ещё {len(late) - LISTED}")
    return lines


def orders_due(view: LedgerView, today: date, days: int = ORDERS_DUE_DAYS) -> list[str]:
    """The accountant's lines: open orders due within ``days`` (the overdue ones first)."""
    chosen = due_within(ledger_orders(view, today), today, days)
    lines = [_order_line(o, today) for o in chosen[:LISTED]]
    if len(chosen) > LISTED:
        lines.append(f"… и ещё {len(chosen) - LISTED}")
    return lines


def unconfirmed_non_cash(view: LedgerView, today: date) -> list[Mapping[str, Any]]:
    """Non-cash payments due by today and not confirmed (nor cancelled), the oldest first."""
    rows = [
        row
        for row in view.tab("payments")
        if row.get("method") in NON_CASH
        and not row.get("confirmed")
        and row.get("date") is not None
        and row["date"] <= today
        and not str(row.get("state") or "").startswith("cancelled")
    ]
    return sorted(rows, key=lambda r: (r["date"], str(r.get("id"))))


def accountant_message(view: LedgerView, today: date) -> str:
    """What the accountant has to do: confirm non-cash money, assign bank lines, pay orders."""
    lines = [f"🧾 Дела бухгалтера на {today:%d.%m.%Y}"]
    unconfirmed = unconfirmed_non_cash(view, today)
    if unconfirmed:
        total = sum((r.get("amount") or ZERO for r in unconfirmed), ZERO)
        lines.append(f"Безнал не подтверждён: {len(unconfirmed)} пл. на {rub(total)}")
        for row in unconfirmed[:LISTED]:
            lines.append(
                f"• {row.get('id')} № {row.get('contract_no') or '—'} {row.get('method')}: "
                f"{rub(row.get('amount'))}, срок {row['date']:%d.%m}"
            )
        if len(unconfirmed) > LISTED:
            lines.append(f"… и ещё {len(unconfirmed) - LISTED}")
    else:
        lines.append("Весь безнал подтверждён")
    waiting = bank_waiting(view)
    if waiting.count:
        lines.append(
            f"Разнести в кабинете (вкладка Bank): {waiting.count} стр. на {rub(waiting.amount)}"
        )
        for row in waiting.rows[:LISTED]:
            day = row.get("date")
            lines.append(
                f"• {day:%d.%m} {rub(row.get('amount'))} от {row.get('counterparty') or '—'}"
                f" ({row.get('state')})"
                if day
                else f"• {rub(row.get('amount'))} от {row.get('counterparty') or '—'}"
            )
    else:
        lines.append("Банк: разносить нечего")
    due_orders = orders_due(view, today)
    if due_orders:
        lines += [f"Оплатить поручения (срок до {today + timedelta(ORDERS_DUE_DAYS):%d.%m}):"]
        lines += due_orders
    return "\n".join(lines)


def chart_png(view: LedgerView, config: Config, today: date, path: Path) -> Path | None:
    """The marketing-versus-turnover chart of the year to yesterday, as ``report --png``
    draws it, saved at ``path``; None when no money moved (or no Deals tab)."""
    if "deals" not in view.tabs:
        return None
    yesterday = today - timedelta(days=1)
    year = Period(str(yesterday.year), date(yesterday.year, 1, 1), yesterday)
    months = period_report(config, _sources(view), year, ()).pnl
    if not months:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    save_chart(months, path)
    return path


def owner_message(view: LedgerView, today: date, config: Config | None = None) -> str:
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
    ]
    net = month_net_profit(view, config, today) if config is not None else None
    if net is not None:
        lines.append(f"Чистая прибыль с начала месяца (как в отчёте): {rub(net)}")
    lines.append("")
    cash = cash_lines(view, today)
    lines += ["💵 Наличные у менеджеров:", *cash] if cash else ["💵 Наличных у менеджеров нет"]
    lines.append("")
    lines += bank_lines(view, today)
    lines += overdue_orders(view, today)
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


def plan_digest(view: LedgerView, config: Config, today: date) -> dict[int, list[str]]:
    """Chat id -> the messages of the day (owners get the summary, cashiers the cash)."""
    plan: dict[int, list[str]] = {}
    for user in config.telegram.users:
        texts: list[str] = []
        if Role.OWNER in user.roles:
            texts += split_text(owner_message(view, today, config))
        if Role.CASHIER in user.roles:
            texts += split_text(cashier_message(view, today))
        if Role.ACCOUNTANT in user.roles:
            texts += split_text(accountant_message(view, today))
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
SendPhoto = Callable[[int, Path, str], None]  # chat, the PNG, its caption
RECIPIENTS = frozenset({Role.OWNER, Role.CASHIER, Role.ACCOUNTANT})


def send_due(
    config: Config,
    read: Callable[[], LedgerView],
    send: Send,
    store: LocalState,
    now: datetime,
    *,
    force: bool = False,
    only: Sequence[int] = (),
    send_photo: SendPhoto | None = None,
) -> list[int]:
    """Send today's digest to the chats that have not had it; returns the chats sent to.

    With ``force`` (``sheetledger digest --now``) it is sent whatever the time and the
    memory say, and the memory is left alone. With ``send_photo``, the owners get the
    chart after their text (drawn once, saved in ``state_dir``).
    """
    today = now.astimezone(config.tz).date()
    sent = {str(k): str(v) for k, v in (store.get(SENT_KEY, {}) or {}).items()}
    chats = [u.id for u in config.telegram.users if RECIPIENTS & set(u.roles)]
    if not force and (not config.digest.enabled or not due(now, config, sent, chats)):
        return []
    view = read()
    plan = plan_digest(view, config, today)
    done = []
    chart: Path | Literal[False] | None = None  # drawn for the first owner, then reused
    failed = {str(k): str(v) for k, v in (store.get(FAILED_KEY, {}) or {}).items()}
    for chat in list(only) or list(plan):
        if not force and sent.get(str(chat)) == today.isoformat():
            continue
        # A chat named with --to that is no recipient gets the owner's digest.
        texts = plan.get(chat) or split_text(owner_message(view, today, config))
        try:
            for text in texts:
                send(chat, text)
            user = config.telegram.user(chat)
            if send_photo is not None and (user is None or Role.OWNER in user.roles):
                if chart is None:
                    chart = chart_png(view, config, today, config.state_dir / CHART_FILE) or False
                if chart:
                    send_photo(chat, chart, chart_caption(today))
        except Exception as exc:  # one chat (blocked, never opened) must not stop the others
            if force or failed.get(str(chat)) != today.isoformat():
                log.warning("digest not sent to chat %s: %s", chat, exc)
            if not force:
                failed[str(chat)] = today.isoformat()
                store.set(FAILED_KEY, failed)
            continue  # tried again at the next minute
        done.append(chat)
        if not force:
            sent[str(chat)] = today.isoformat()
            store.set(SENT_KEY, sent)
    return done


def chart_caption(today: date) -> str:
    yesterday = today - timedelta(days=1)
    return f"📈 Маркетинг и выручка по месяцам, {yesterday.year} (по {yesterday:%d.%m})"[
        :CAPTION_LIMIT
    ]


def telegram_photo_sender(config: Config) -> SendPhoto:
    """Send a picture with a caption through the Bot API, like ``telegram_sender``."""

    def send_photo(chat: int, path: Path, caption: str) -> None:
        async def go() -> None:
            async with make_bot(config.telegram) as bot:
                await bot.send_photo(chat, path.read_bytes(), caption=caption)

        asyncio.run(go())

    return send_photo


def telegram_sender(config: Config) -> Send:
    """Send a message through the Bot API, from any thread without a running loop."""

    def send(chat: int, text: str) -> None:
        async def go() -> None:
            async with make_bot(config.telegram) as bot:
                await bot.send_message(chat, text)

        asyncio.run(go())

    return send
