"""What the bot says and the buttons it shows: texts, rendering of expenses, keyboards.

Pure: an expense (``bot/expenses.py``) in, a plain-text reply and an
``InlineKeyboardMarkup`` out — no sending, no state. ``bot/app.py``'s handlers call these
and send what they return. ``callback_data`` is short ASCII, at most Telegram's 64 bytes
(``_button`` checks); what each prefix does is said in ``bot/app.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from sheetledger.bot.expenses import DealOffers, Expense, Totals, unmatched
from sheetledger.bot.parse import HELP_EXAMPLES, LineError
from sheetledger.money import rub
from sheetledger.texts import MESSAGE_LIMIT, split_text

__all__ = [
    "MAX_REPLY",
    "PART_LINES",
    "ask_keyboard",
    "category_keyboard",
    "main_keyboard",
    "part_of",
    "render_ask",
    "render_errors",
    "render_parts",
    "render_text",
    "render_totals",
    "split_text",
]

MAX_CALLBACK_BYTES = 64

COMMANDS_HELP = """\
Команды:
/today — расходы за сегодня по категориям
/month — расходы с начала месяца
/categories — категории и слова, по которым я их узнаю
/order — заявка на оплату счёта (или пришлите счёт файлом)
/help — эта подсказка"""

REFUSE_STRANGER = (
    "Извините, этот бот ведёт учёт только для сотрудников компании.\n"
    "Если вы сотрудник, передайте администратору ваш Telegram id: {user_id}."
)
REFUSE_GROUP = "Я работаю только в личной переписке — напишите мне напрямую."
NO_ROLE = (
    "Записывать расходы могут владелец, бухгалтер и кассир. "
    "Счёт на оплату пришлите файлом (PDF или фото) с подписью или текстом."
)
EDIT_IGNORED = (
    "Правку сообщения я не записываю. Чтобы исправить расход, нажмите «Отменить» "
    "под моим ответом и отправьте расход заново."
)
NOT_TEXT = "Пока я понимаю только текст. " + HELP_EXAMPLES.splitlines()[0]
WAITING = "⏳ Таблица сейчас не отвечает: расход сохранён и будет записан, как только она ответит."
WAITING_FATAL = (
    "⏳ Таблица не принимает запись (администратору нужно её поправить): расход сохранён "
    "и будет записан после исправления."
)
SHEET_DOWN = "Таблица сейчас не отвечает — итоги покажу, когда она ответит."
NOT_RECORDED_AGAIN = "Не записал повторно. Записано то, что вы отправили в первый раз."
ASK_GONE = "Этот вопрос устарел: отправьте расход заново, если он нужен."
FAILED_NOTHING = "Что-то пошло не так, ничего не записано. Попробуйте ещё раз чуть позже."
FAILED_BUTTON = "Что-то пошло не так. Нажмите кнопку ещё раз чуть позже."
FAILED_BUT_WRITTEN = "Что-то пошло не так при ответе, но записано вот что:"

MAX_REPLY = MESSAGE_LIMIT
PART_LINES = 12  # expenses per reply message: 12 lines of ≤ ~270 characters fit 4,096
SHOWN_COMMENT = 100  # characters of a comment shown in a reply (the sheet has it all)
SHOWN_CATEGORY = 40
SHOWN_CONTRACT = 30
SHOWN_DEAL = 40  # a deal's label on a button


# --------------------------------------------------------------------------- rendering


def _plural(n: int, one: str, few: str, many: str) -> str:
    if n % 10 == 1 and n % 100 != 11:
        return one
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return few
    return many


def _deal_note(expense: Expense) -> str:
    if not expense.contract_no:
        return ""
    contract = _shown(expense.contract_no, SHOWN_CONTRACT)
    if not expense.deal_checked:
        return f"договор № {contract} (проверю, когда таблица ответит)"
    if expense.deal_id is None:
        return (
            f"договор № {contract} не найден в сделках — записал без привязки; "
            "выберите сделку кнопкой ниже или «Без сделки»"
        )
    return f"договор № {contract}"


def _shown(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters for a reply (the sheet keeps it whole)."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _describe(expense: Expense) -> str:
    category = _shown(expense.category, SHOWN_CATEGORY)
    if expense.category_guessed:
        category += " (категорию не узнал — выберите)"
    parts = [rub(expense.amount), category, f"{expense.date:%d.%m.%Y}"]
    text = " · ".join(parts)
    if expense.comment:
        text += f" — {_shown(expense.comment, SHOWN_COMMENT)}"
    note = _deal_note(expense)
    if note:
        text += f" · {note}"
    if expense.void:
        text = f"❌ отменено: {text}"
    return text


def _count(n: int) -> str:
    return f"{n} {_plural(n, 'расход', 'расхода', 'расходов')}"


def _live_total(expenses: Sequence[Expense]) -> Decimal:
    return sum((e.amount for e in expenses if not e.void), Decimal(0))


def render_text(
    expenses: Sequence[Expense], *, pending: bool, fatal: bool = False, again: bool = False
) -> str:
    """The reply for one message's expenses (at most ``PART_LINES``), as they are now.

    ``again``: the message was handled before (a redelivery), so nothing new was written.
    """
    if len(expenses) == 1:
        head = "Уже записан расход:" if again else "Записал расход:"
        lines = [head, _describe(expenses[0])]
    else:
        n = len(expenses)
        head = f"Уже записаны {_count(n)}:" if again else f"Записал {_count(n)}:"
        lines = [head]
        lines += [f"{i}) {_describe(e)}" for i, e in enumerate(expenses, start=1)]
        lines.append(f"Итого: {rub(_live_total(expenses))}")
    if pending:
        lines.append(WAITING_FATAL if fatal else WAITING)
    return "\n".join(lines)


def render_parts(
    expenses: Sequence[Expense], *, pending: bool, fatal: bool = False, again: bool = False
) -> list[tuple[str, list[Expense]]]:
    """The reply as messages that fit Telegram (4,096 characters): ``(text, its expenses)``.

    Up to ``PART_LINES`` expenses make one message (``render_text``); more are cut into
    parts of ``PART_LINES`` in line order, numbered across parts, each with its buttons.
    The cut depends only on the count, so a button pressed in part 3 re-renders part 3.
    """
    if len(expenses) <= PART_LINES:
        return [(render_text(expenses, pending=pending, fatal=fatal, again=again), list(expenses))]
    chunks = [list(expenses[i : i + PART_LINES]) for i in range(0, len(expenses), PART_LINES)]
    n, total = len(expenses), rub(_live_total(expenses))
    verb = "Уже записаны" if again else "Записал"
    parts = []
    for index, chunk in enumerate(chunks):
        first = index * PART_LINES + 1
        lines = [f"{verb} {_count(n)} на {total} — часть {index + 1} из {len(chunks)}:"]
        lines += [f"{i}) {_describe(e)}" for i, e in enumerate(chunk, start=first)]
        lines.append(f"Итого в этой части: {rub(_live_total(chunk))}")
        if pending:
            lines.append(WAITING_FATAL if fatal else WAITING)
        parts.append(("\n".join(lines), chunk))
    return parts


def part_of(expenses: Sequence[Expense], key: str) -> tuple[int, list[Expense]]:
    """The part (``render_parts``) that shows ``key``: (number of its first line, its rows)."""
    if len(expenses) <= PART_LINES:
        return 0, list(expenses)
    position = next((i for i, e in enumerate(expenses) if e.key == key), 0)
    start = position - position % PART_LINES
    return start + 1, list(expenses[start : start + PART_LINES])


def _line_no(expense: Expense) -> int:
    return int(expense.key.rsplit(":", 1)[1])


def _button(text: str, data: str) -> InlineKeyboardButton:
    assert len(data.encode()) <= MAX_CALLBACK_BYTES, data
    return InlineKeyboardButton(text, callback_data=data)


def _deal_rows(
    message_id: int, expense: Expense, offers: DealOffers, prefix: str = ""
) -> list[list[InlineKeyboardButton]]:
    """For an expense whose contract reference matched no deal: the similar deals
    (``d:<msg>:<line>:<deal id>``) and «Без сделки» (``x:<msg>:<line>``)."""
    if not unmatched(expense):
        return []
    line = _line_no(expense)
    rows = [
        [_button(f"{prefix}🔗 {_shown(label, SHOWN_DEAL)}", f"d:{message_id}:{line}:{deal}")]
        for deal, label in offers.get(expense.key, ())
    ]
    rows.append([_button(f"{prefix}➖ Без сделки", f"x:{message_id}:{line}")])
    return rows


def main_keyboard(
    message_id: int,
    expenses: Sequence[Expense],
    categories: Sequence[str],
    first: int = 0,
    *,
    offers: DealOffers | None = None,
) -> InlineKeyboardMarkup:
    """Change category / undo (or bring back) for each expense of the reply, and the deal
    of one whose contract reference matched none (``offers``: ``ExpenseBook.offers``).

    ``first``: the number of the first expense in a part of a long reply (0: no parts).
    """
    offered = offers or {}
    if len(expenses) == 1 and not first:
        expense = expenses[0]
        line = _line_no(expense)
        if expense.void:
            return InlineKeyboardMarkup([[_button("↩️ Вернуть", f"r:{message_id}:{line}")]])
        if expense.category_guessed:
            rows = _category_rows(message_id, line, expense.category, categories)
            rows.append([_button("❌ Отменить", f"u:{message_id}:{line}")])
            return InlineKeyboardMarkup(rows + _deal_rows(message_id, expense, offered))
        rows = [
            [
                _button("🏷 Категория", f"c:{message_id}:{line}"),
                _button("❌ Отменить", f"u:{message_id}:{line}"),
            ]
        ]
        return InlineKeyboardMarkup(rows + _deal_rows(message_id, expense, offered))
    rows = []
    for n, expense in enumerate(expenses, start=first or 1):
        line = _line_no(expense)
        if expense.void:
            rows.append([_button(f"{n}) ↩️ Вернуть", f"r:{message_id}:{line}")])
        else:
            rows.append(
                [
                    _button(f"{n}) 🏷 Категория", f"c:{message_id}:{line}"),
                    _button(f"{n}) ❌ Отменить", f"u:{message_id}:{line}"),
                ]
            )
            rows += _deal_rows(message_id, expense, offered, f"{n}) ")
    return InlineKeyboardMarkup(rows)


def _category_rows(
    message_id: int, line: int, current: str, categories: Sequence[str]
) -> list[list[InlineKeyboardButton]]:
    buttons = [
        _button(("✓ " if name == current else "") + name, f"s:{message_id}:{line}:{i}")
        for i, name in enumerate(categories)
    ]
    return [buttons[i : i + 3] for i in range(0, len(buttons), 3)]


def category_keyboard(
    message_id: int, expense: Expense, categories: Sequence[str]
) -> InlineKeyboardMarkup:
    line = _line_no(expense)
    rows = _category_rows(message_id, line, expense.category, categories)
    rows.append([_button("← Назад", f"b:{message_id}:{line}")])
    return InlineKeyboardMarkup(rows)


def ask_keyboard(message_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                _button("✅ Записать ещё раз", f"a:{message_id}"),
                _button("✖️ Не записывать", f"n:{message_id}"),
            ]
        ]
    )


def render_ask(earlier: Sequence[Expense], sent_at: datetime, *, lines: int = 10) -> str:
    """The question asked when a message repeats one recorded minutes ago."""
    live = [e for e in earlier if not e.void]
    head = f"Такое же сообщение вы отправили в {sent_at:%H:%M} — " + (
        "этот расход уже записан:" if len(live) == 1 else f"уже записаны {_count(len(live))}:"
    )
    shown = [f"• {_describe(e)}" for e in live[:lines]]
    if len(live) > lines:
        shown.append(f"… и ещё {len(live) - lines}")
    total = f"Итого: {rub(_live_total(live))}"
    return "\n".join([head, *shown, total, "Записать ещё раз?"])


def render_errors(result_errors: Sequence[LineError], total_lines: int) -> str:
    """Why nothing was written, line by line, and how to write it."""
    head = "Ничего не записал."
    if total_lines > 1:
        head += " Исправьте строки ниже и отправьте сообщение целиком заново:"
    lines = [head, *(f"• {error.message}" for error in result_errors), "", HELP_EXAMPLES]
    return "\n".join(lines)


def render_totals(title: str, totals: Totals) -> str:
    if not totals.count:
        return f"{title}: расходов нет."
    lines = [f"{title}: {rub(totals.total)} ({totals.count})"]
    lines += [f"{name} — {rub(amount)}" for name, amount in totals.by_category]
    if totals.pending:
        lines.append(f"⏳ из них ещё не в таблице: {totals.pending}")
    return "\n".join(lines)
