"""The Telegram bot: who may talk to it, what it answers, its buttons, and how it runs.

* **Gate** (handler group -1, sees every update first): private chats of users
  whitelisted in ``telegram.users`` only. A stranger, and every group, gets one
  polite refusal (a button press gets it as the answer) and a log line with the
  ids — never the text — and nothing else happens.
* **Expenses** (roles owner, accountant, cashier; supply and marketing are told
  that payment orders come later): the whole message is parsed first; if any
  line is refused, nothing is written and the reply explains each refused line
  with examples (resending the corrected message cannot double the good lines).
  Otherwise the rows are recorded (``ExpenseBook.record``, in a thread) and the
  reply states each expense with its buttons. The date is the day the message
  was *sent* in the configured zone. Edited messages are not re-recorded; the
  reply says how to correct an expense.
* **Buttons**: ``callback_data`` is short ASCII, well under Telegram's 64 bytes:
  ``c:<msg>:<line>`` shows the categories, ``s:<msg>:<line>:<i>`` sets category
  number ``i`` of the config, ``u:<msg>:<line>`` undoes (ticks Void: kept, not
  counted), ``r:<msg>:<line>`` brings it back, ``b:<msg>`` returns to the main
  keyboard. The chat comes from the pressed message, so a person can only touch
  the rows of their own chat. State lives in the ledger and the outbox, not in
  PTB: buttons of old replies keep working after restarts.
* Replies are plain text (no parse mode): a comment someone typed is never markup.

``ExpenseBot`` is the entry: ``await bot.run(stop)`` on any event loop (the daemon
shares its loop with the scheduler), ``await bot.flush_outbox()`` or
``bot.book.flush()`` (from a worker thread) for the scheduler, and ``run_bot``
for ``sheetledger bot``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from telegram import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatType
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from sheetledger.bot.expenses import Expense, ExpenseBook, FlushReport, Recorded, plan_expenses
from sheetledger.bot.identity import make_bot
from sheetledger.bot.parse import HELP_EXAMPLES, dedup_key, parse_message
from sheetledger.bot.polling import Poller, retry_after_seconds
from sheetledger.config import Config, Role, TelegramUser
from sheetledger.errors import SheetledgerError

if TYPE_CHECKING:
    from sheetledger.store import LocalState

log = logging.getLogger(__name__)

__all__ = ["EXPENSE_ROLES", "ExpenseBot", "build_application", "run_bot"]

EXPENSE_ROLES = frozenset({Role.OWNER, Role.ACCOUNTANT, Role.CASHIER})
MAX_CALLBACK_BYTES = 64
_KOPEKS = Decimal("0.01")

T = TypeVar("T")
Context = ContextTypes.DEFAULT_TYPE
AnyApplication = Application[Any, Any, Any, Any, Any, Any]

COMMANDS_HELP = """\
Команды:
/today — расходы за сегодня по категориям
/month — расходы с начала месяца
/categories — категории и слова, по которым я их узнаю
/help — эта подсказка"""

REFUSE_STRANGER = (
    "Извините, этот бот ведёт учёт только для сотрудников компании.\n"
    "Если вы сотрудник, передайте администратору ваш Telegram id: {user_id}."
)
REFUSE_GROUP = "Я работаю только в личной переписке — напишите мне напрямую."
NO_ROLE = (
    "Записывать расходы могут владелец, бухгалтер и кассир. Заявки на оплату счетов появятся позже."
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


# --------------------------------------------------------------------------- rendering


def rub(value: Decimal) -> str:
    """``Decimal('1200.5')`` → ``'1 200,50 ₽'``; whole roubles without kopeks."""
    text = f"{value.quantize(_KOPEKS, rounding=ROUND_HALF_UP):,.2f}"
    return text.replace(",", " ").replace(".", ",").removesuffix(",00") + " ₽"


def _plural(n: int, one: str, few: str, many: str) -> str:
    if n % 10 == 1 and n % 100 != 11:
        return one
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return few
    return many


def _deal_note(expense: Expense) -> str:
    if not expense.contract_no:
        return ""
    if not expense.deal_checked:
        return f"договор № {expense.contract_no} (проверю, когда таблица ответит)"
    if expense.deal_id is None:
        return f"договор № {expense.contract_no} не найден в сделках — записал без привязки"
    return f"договор № {expense.contract_no}"


def _describe(expense: Expense) -> str:
    category = expense.category
    if expense.category_guessed:
        category += " (категорию не узнал — выберите)"
    parts = [rub(expense.amount), category, f"{expense.date:%d.%m.%Y}"]
    text = " · ".join(parts)
    if expense.comment:
        text += f" — {expense.comment}"
    note = _deal_note(expense)
    if note:
        text += f" · {note}"
    if expense.void:
        text = f"❌ отменено: {text}"
    return text


def render_text(expenses: Sequence[Expense], *, pending: bool, fatal: bool = False) -> str:
    """The reply for one message's expenses, as they are now."""
    if len(expenses) == 1:
        lines = ["Записал расход:", _describe(expenses[0])]
    else:
        n = len(expenses)
        lines = [f"Записал {n} {_plural(n, 'расход', 'расхода', 'расходов')}:"]
        lines += [f"{i}) {_describe(e)}" for i, e in enumerate(expenses, start=1)]
        live = [e.amount for e in expenses if not e.void]
        lines.append(f"Итого: {rub(sum(live, Decimal(0)))}")
    if pending:
        lines.append(WAITING_FATAL if fatal else WAITING)
    return "\n".join(lines)


def _line_no(expense: Expense) -> int:
    return int(expense.key.rsplit(":", 1)[1])


def _button(text: str, data: str) -> InlineKeyboardButton:
    assert len(data.encode()) <= MAX_CALLBACK_BYTES, data
    return InlineKeyboardButton(text, callback_data=data)


def main_keyboard(
    message_id: int, expenses: Sequence[Expense], categories: Sequence[str]
) -> InlineKeyboardMarkup:
    """Change category / undo (or bring back) for each expense of the reply."""
    if len(expenses) == 1:
        expense = expenses[0]
        line = _line_no(expense)
        if expense.void:
            return InlineKeyboardMarkup([[_button("↩️ Вернуть", f"r:{message_id}:{line}")]])
        if expense.category_guessed:
            rows = _category_rows(message_id, line, expense.category, categories)
            rows.append([_button("❌ Отменить", f"u:{message_id}:{line}")])
            return InlineKeyboardMarkup(rows)
        return InlineKeyboardMarkup(
            [
                [
                    _button("🏷 Категория", f"c:{message_id}:{line}"),
                    _button("❌ Отменить", f"u:{message_id}:{line}"),
                ]
            ]
        )
    rows = []
    for n, expense in enumerate(expenses, start=1):
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
    rows = _category_rows(message_id, _line_no(expense), expense.category, categories)
    rows.append([_button("← Назад", f"b:{message_id}")])
    return InlineKeyboardMarkup(rows)


def render_errors(result_errors: Sequence[Any], total_lines: int) -> str:
    """Why nothing was written, line by line, and how to write it."""
    head = "Ничего не записал."
    if total_lines > 1:
        head += " Исправьте строки ниже и отправьте сообщение целиком заново:"
    lines = [head, *(f"• {error.message}" for error in result_errors), "", HELP_EXAMPLES]
    return "\n".join(lines)


def render_totals(title: str, totals: Any) -> str:
    if not totals.count:
        return f"{title}: расходов нет."
    lines = [f"{title}: {rub(totals.total)} ({totals.count})"]
    lines += [f"{name} — {rub(amount)}" for name, amount in totals.by_category]
    if totals.pending:
        lines.append(f"⏳ из них ещё не в таблице: {totals.pending}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- the application


class ExpenseBot:
    """The bot's handlers around one ``ExpenseBook``; ``run`` polls until told to stop."""

    def __init__(
        self,
        config: Config,
        book: ExpenseBook,
        state: LocalState,
        *,
        poll_timeout: float = 25.0,
        flush_every: float | None = None,
    ) -> None:
        self.config = config
        self.book = book
        self.state = state
        self.poll_timeout = poll_timeout
        self.flush_every = flush_every
        self.categories = [c.name for c in config.expenses.categories]
        self.application = build_application(config, self)
        self.poller = Poller(self.application, state, poll_timeout=poll_timeout)

    @classmethod
    def from_config(cls, config: Config, state: LocalState, **kwargs: Any) -> ExpenseBot:
        return cls(config, ExpenseBook.from_config(config, state), state, **kwargs)

    # -- life cycle ----------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Initialise, write what waits in the outbox, poll until ``stop``; then shut down.

        With ``flush_every`` the bot also flushes its outbox on its own (when it runs
        alone); the daemon leaves it None and schedules ``flush_outbox`` instead.
        """
        async with self.application:
            await self.flush_outbox()
            flusher = None
            if self.flush_every:
                flusher = asyncio.ensure_future(self._flush_loop(stop, self.flush_every))
            try:
                await self.poller.run(stop)
            finally:
                if flusher is not None:
                    flusher.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await flusher

    async def flush_outbox(self) -> FlushReport:
        """Write the rows waiting in the outbox (the scheduler's job); never raises."""
        try:
            return await asyncio.to_thread(self.book.flush)
        except Exception:  # a bug must not stop the bot; the rows stay in the outbox
            log.exception("outbox flush failed")
            return FlushReport(problem="flush failed")

    async def _flush_loop(self, stop: asyncio.Event, every: float) -> None:
        while not stop.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=every)
            waiting = await asyncio.to_thread(self.state.outbox_pending, 1)
            if waiting and not stop.is_set():
                await self.flush_outbox()

    # -- the gate ------------------------------------------------------------------------

    def _user(self, update: Update) -> TelegramUser | None:
        person = update.effective_user
        return None if person is None else self.config.telegram.user(person.id)

    async def gate(self, update: Update, context: Context) -> None:
        chat, person = update.effective_chat, update.effective_user
        private = chat is not None and chat.type == ChatType.PRIVATE
        if private and self._user(update) is not None:
            return
        log.warning(
            "refused an update from user %s in %s chat %s",
            person.id if person else "?",
            chat.type if chat else "no",
            chat.id if chat else "?",
        )
        text = REFUSE_GROUP if chat is not None and not private else None
        if text is None:
            text = REFUSE_STRANGER.format(user_id=person.id if person else "?")
        if update.callback_query is not None:
            await _quietly(update.callback_query.answer(text[:200], show_alert=True))
        elif update.message is not None:
            await _quietly(update.message.reply_text(text))
        raise ApplicationHandlerStop

    # -- commands ------------------------------------------------------------------------

    async def start(self, update: Update, context: Context) -> None:
        user = self._user(update)
        assert user is not None and update.message is not None
        text = f"Здравствуйте, {user.name}!\n\n{HELP_EXAMPLES}\n\n{COMMANDS_HELP}"
        await _reply(update.message, text)

    async def categories_command(self, update: Update, context: Context) -> None:
        assert update.message is not None
        expenses = self.config.expenses
        lines = ["Категории и слова, по которым я их узнаю:"]
        for category in expenses.categories:
            words = ", ".join(category.keywords) if category.keywords else "—"
            mark = " (если не узнал)" if category.name == expenses.default_category else ""
            lines.append(f"• {category.name}{mark}: {words}")
        await _reply(update.message, "\n".join(lines))

    async def today(self, update: Update, context: Context) -> None:
        assert update.message is not None
        day = self._sent_day(update.message)
        await self._totals(update.message, day, day, f"Расходы за сегодня, {day:%d.%m.%Y}")

    async def month(self, update: Update, context: Context) -> None:
        assert update.message is not None
        day = self._sent_day(update.message)
        start = day.replace(day=1)
        await self._totals(update.message, start, day, f"Расходы с {start:%d.%m} по {day:%d.%m.%Y}")

    async def _totals(self, message: Message, start: date, end: date, title: str) -> None:
        if not self._may_record(message):
            await _reply(message, NO_ROLE)
            return
        try:
            totals = await asyncio.to_thread(self.book.totals, start, end)
        except SheetledgerError as exc:
            log.warning("totals unavailable: %s", exc)
            await _reply(message, SHEET_DOWN)
            return
        await _reply(message, render_totals(title, totals))

    def _sent_day(self, message: Message) -> date:
        # The day the message was sent, in the business's zone (never the processing time).
        sent = message.date if message.date.tzinfo else message.date.replace(tzinfo=UTC)
        return sent.astimezone(self.config.tz).date()

    def _may_record(self, message: Message) -> bool:
        user = self.config.telegram.user(message.from_user.id) if message.from_user else None
        return user is not None and bool(EXPENSE_ROLES & set(user.roles))

    # -- expenses ------------------------------------------------------------------------

    async def expense(self, update: Update, context: Context) -> None:
        message = update.message
        assert message is not None and message.text is not None and message.from_user
        user = self.config.telegram.user(message.from_user.id)
        assert user is not None
        if not self._may_record(message):
            await _reply(message, NO_ROLE)
            return
        expenses_config = self.config.expenses
        result = parse_message(
            message.text,
            today=self._sent_day(message),
            categories=expenses_config.categories,
            default_category=expenses_config.default_category,
            ceiling=expenses_config.ceiling,
        )
        if not result.ok:
            lines = len([line for line in message.text.splitlines() if line.strip()])
            await _reply(message, render_errors(result.errors, lines))
            return
        planned = plan_expenses(
            result.expenses,
            chat_id=message.chat_id,
            message_id=message.message_id,
            entered_by=user.name,
            recorded_at=datetime.now(UTC),
            deals=None,  # contract numbers are resolved when the rows are written
        )
        recorded: Recorded = await asyncio.to_thread(self.book.record, planned)
        log.info(
            "expense message %s:%s: %d row(s)%s%s",
            message.chat_id,
            message.message_id,
            len(recorded.expenses),
            "" if recorded.written else ", waiting in the outbox",
            " (redelivered)" if recorded.redelivered else "",
        )
        text = render_text(recorded.expenses, pending=not recorded.written, fatal=recorded.fatal)
        keyboard = main_keyboard(message.message_id, recorded.expenses, self.categories)
        await _reply(message, text, keyboard)

    async def edited(self, update: Update, context: Context) -> None:
        assert update.edited_message is not None
        log.info(
            "edited message %s:%s not re-recorded",
            update.edited_message.chat_id,
            update.edited_message.message_id,
        )
        await _reply(update.edited_message, EDIT_IGNORED)

    async def statement(self, update: Update, context: Context) -> None:
        """A bank statement (.txt) from the accountant or the owner: imported (bank/bot_door)."""
        from sheetledger.bank.bot_door import MAX_BYTES, may_import, statement_reply

        message, user = update.message, self._user(update)
        assert message is not None and message.document is not None
        if user is None or not may_import(user.roles):
            await self.not_text(update, context)
            return
        document = message.document
        if (document.file_size or 0) > MAX_BYTES:
            await _reply(message, "Файл больше 20 МБ: Telegram не отдаёт боту такие файлы.")
            return
        telegram_file = await _retrying(document.get_file)
        data = bytes(await _retrying(telegram_file.download_as_bytearray))
        name = document.file_name or "statement.txt"
        text = await asyncio.to_thread(
            statement_reply, self.config, name, data, caption=message.caption or ""
        )
        await _reply(message, text)

    async def not_text(self, update: Update, context: Context) -> None:
        assert update.message is not None
        await _reply(update.message, NOT_TEXT)

    # -- buttons -------------------------------------------------------------------------

    async def button(self, update: Update, context: Context) -> None:
        query = update.callback_query
        assert query is not None
        parts = (query.data or "").split(":")
        message = query.message
        if message is None or len(parts) < 2 or not all(p.isdigit() for p in parts[1:]):
            await _quietly(query.answer())
            return
        action, numbers = parts[0], [int(p) for p in parts[1:]]
        chat_id, message_id = message.chat.id, numbers[0]
        rows = await asyncio.to_thread(self._message_rows, chat_id, message_id)
        if not rows:
            await _quietly(query.answer("Не нашёл эту запись.", show_alert=True))
            return
        answer = ""
        line = numbers[1] if len(numbers) > 1 else None
        key = dedup_key(chat_id, message_id, line) if line is not None else ""
        if action == "c" and key in rows:
            await _quietly(query.answer())
            markup = category_keyboard(message_id, rows[key][0], self.categories)
            await _edit(query, None, markup)
            return
        chosen = numbers[2] if len(numbers) == 3 else len(self.categories)
        if action == "s" and key in rows and chosen < len(self.categories):
            category = self.categories[chosen]
            changes: dict[str, Any] = {"category": category, "category_guessed": False}
            answer = f"Категория: {category}"
        elif action == "u" and key in rows:
            changes, answer = {"void": True}, "Отменено: строка помечена и не входит в итоги"
        elif action == "r" and key in rows:
            changes, answer = {"void": False}, "Возвращено"
        elif action == "b":
            changes = {}
        else:
            await _quietly(query.answer())
            return
        if changes:
            changed = await asyncio.to_thread(self.book.change, key, changes)
            if changed is None:
                await _quietly(query.answer("Не нашёл эту запись.", show_alert=True))
                return
            log.info("expense %s changed: %s", key, ", ".join(sorted(changes)))
            rows[key] = changed
        await _quietly(query.answer(answer or None))
        ordered = [rows[k][0] for k in sorted(rows, key=lambda k: int(k.rsplit(":", 1)[1]))]
        pending = any(not written for _, written in rows.values())
        text = render_text(ordered, pending=pending)
        await _edit(query, text, main_keyboard(message_id, ordered, self.categories))

    def _message_rows(self, chat_id: int, message_id: int) -> dict[str, tuple[Expense, bool]]:
        """The rows of one message: key -> (row, written)."""
        prefix = dedup_key(chat_id, message_id, 0).rsplit(":", 1)[0] + ":"
        entries = self.state.outbox_find(prefix)
        if entries:
            return {k: (Expense.from_json(e["row"]), not e["pending"]) for k, e in entries.items()}
        return {key: (expense, True) for key, expense in self.book.sheet_rows(prefix).items()}

    async def on_error(self, update: object, context: Context) -> None:
        log.error("the bot failed on an update", exc_info=context.error)
        if isinstance(update, Update) and update.effective_message is not None:
            await _quietly(
                update.effective_message.reply_text(
                    "Что-то пошло не так, ничего не записано. Попробуйте ещё раз чуть позже."
                )
            )


def build_application(config: Config, bot: ExpenseBot) -> AnyApplication:
    """The PTB application: no Updater (we poll ourselves), no JobQueue (the daemon schedules)."""
    application: AnyApplication = (
        Application.builder().bot(make_bot(config.telegram)).updater(None).job_queue(None).build()
    )
    application.add_handler(TypeHandler(Update, bot.gate), group=-1)
    private = filters.ChatType.PRIVATE
    application.add_handler(CommandHandler(["start", "help"], bot.start, filters=private))
    application.add_handler(CommandHandler("today", bot.today, filters=private))
    application.add_handler(CommandHandler("month", bot.month, filters=private))
    application.add_handler(CommandHandler("categories", bot.categories_command, filters=private))
    application.add_handler(
        MessageHandler(
            filters.UpdateType.MESSAGE & private & filters.TEXT & ~filters.COMMAND, bot.expense
        )
    )
    application.add_handler(MessageHandler(filters.UpdateType.EDITED_MESSAGE & private, bot.edited))
    statement_file = filters.Document.FileExtension("txt")  # a bank's 1C export
    application.add_handler(
        MessageHandler(filters.UpdateType.MESSAGE & private & statement_file, bot.statement)
    )
    application.add_handler(
        MessageHandler(filters.UpdateType.MESSAGE & private & ~filters.COMMAND, bot.not_text)
    )
    application.add_handler(CallbackQueryHandler(bot.button, pattern=r"^[csurb]:"))
    application.add_error_handler(bot.on_error)
    return application


# --------------------------------------------------------------------------- sending


async def _retrying(call: Callable[[], Awaitable[T]]) -> T:
    """One retry after a 429, waiting what Telegram asked for."""
    try:
        return await call()
    except RetryAfter as exc:
        await asyncio.sleep(retry_after_seconds(exc) + 0.1)
        return await call()


async def _reply(message: Message, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    # Quote the person's message (a reply to which message is otherwise unclear when
    # several were sent); still send when that message was deleted meanwhile.
    quote = ReplyParameters(message.message_id, allow_sending_without_reply=True)
    try:
        await _retrying(
            lambda: message.reply_text(text, reply_markup=markup, reply_parameters=quote)
        )
    except Forbidden:
        log.warning("chat %s blocked the bot; the reply was not delivered", message.chat_id)


async def _edit(query: CallbackQuery, text: str | None, markup: InlineKeyboardMarkup) -> None:
    try:
        if text is None:
            await _retrying(lambda: query.edit_message_reply_markup(reply_markup=markup))
        else:
            await _retrying(lambda: query.edit_message_text(text, reply_markup=markup))
    except BadRequest as exc:
        # Tapping the category that is already set changes nothing: Telegram says so.
        if "not modified" not in exc.message.lower():
            raise


async def _quietly(call: Awaitable[Any]) -> None:
    """Send something whose failure must not fail the handler (answers, refusals)."""
    try:
        await call
    except TelegramError as exc:
        log.warning("Telegram refused a courtesy call: %s", exc.message)


# --------------------------------------------------------------------------- CLI entry


def run_bot(config: Config, *, flush_every: float | None = None) -> int:
    """``sheetledger bot``: run the bot alone until SIGINT/SIGTERM; returns an exit code."""
    from sheetledger.connect import open_state, register_config_secrets
    from sheetledger.lifecycle import run_until_signalled

    register_config_secrets(config)
    state = open_state(config)
    every = flush_every or float(config.schedule.outbox_flush.every_seconds or 30)
    bot = ExpenseBot.from_config(config, state, flush_every=every)

    async def serve(stop: asyncio.Event) -> None:
        log.info("the bot is polling; Ctrl+C stops it")
        await bot.run(stop)

    try:
        run_until_signalled(serve)
    finally:
        state.close()
    return 0
