"""The Telegram bot's handlers: who may talk to it, what it does with each update.

What it says and its keyboards are rendered in ``bot/replies.py``; which handler takes
which update, and ``sheetledger bot``, are wired in ``bot/run.py``.

* **Gate** (handler group -1, sees every update first): private chats of users
  whitelisted in ``telegram.users`` only. A stranger, and every group, gets one
  polite refusal (a button press gets it as the answer) and a log line with the
  ids — never the text — and nothing else happens.
* **Payment orders** (roles supply, marketing, owner): a bill as a PDF or a photo with a
  caption, text alone from supply and marketing, ``/order …`` from the owner; the
  accountant's Paid / Reject buttons (``op:``/``oj:``) — all in ``bot/orders.py``.
* **Expenses** (roles owner, accountant, cashier): the whole message is parsed first; if any
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
  keyboard; ``d:<msg>:<line>:<deal>`` links an expense whose contract reference matched
  no deal to one of the similar deals offered, ``x:<msg>:<line>`` goes on without one
  (``ExpenseBook.choose_deal``; pressed twice, nothing changes twice). The chat comes
  from the pressed message, so a person can only touch the rows of their own chat.
  State lives in the ledger and the outbox, not in PTB: buttons of old replies keep
  working after restarts.
* ``a:<msg>`` / ``n:<msg>`` answer "record again?": a message whose text repeats one
  recorded less than ten minutes before (``ExpenseBook.same_text_before``) is not
  recorded; the reply shows the rows already there and asks.
* Replies are plain text (no parse mode): a comment someone typed is never markup.
* **Replies never lie.** What a reply says is read back from the outbox after
  recording (a redelivered message is answered "already recorded" with its rows),
  never inferred from how sending went. A reply Telegram does not take (5xx, a
  dropped connection) is tried again; after the last try the update is left
  unconfirmed and handled again later (``Poller.redeliver``). More than
  ``PART_LINES`` expenses are answered in several messages of at most 4,096
  characters, each with the buttons of its lines.

``ExpenseBot`` is the entry: ``await bot.run(stop)`` on any event loop (the daemon
shares its loop with the scheduler), ``await bot.flush_outbox()`` or
``bot.book.flush()`` (from a worker thread) for the scheduler, and ``run_bot``
(``bot/run.py``) for ``sheetledger bot``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from telegram import (
    Bot,
    CallbackQuery,
    InlineKeyboardMarkup,
    Message,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatType
from telegram.error import (
    BadRequest,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    ContextTypes,
)

from sheetledger.bot.expenses import (
    Expense,
    ExpenseBook,
    FlushReport,
    Recorded,
    plan_expenses,
    text_digest,
)
from sheetledger.bot.identity import token_rejected
from sheetledger.bot.orders import ORDER_HELP, BillFile, BillStore, OrderTalk
from sheetledger.bot.parse import HELP_EXAMPLES, ParseResult, dedup_key, parse_message
from sheetledger.bot.polling import Poller, retry_after_seconds
from sheetledger.bot.replies import (
    ASK_GONE,
    COMMANDS_HELP,
    EDIT_IGNORED,
    FAILED_BUT_WRITTEN,
    FAILED_BUTTON,
    FAILED_NOTHING,
    MAX_REPLY,
    NO_ROLE,
    NOT_RECORDED_AGAIN,
    NOT_TEXT,
    PART_LINES,
    REFUSE_GROUP,
    REFUSE_STRANGER,
    SHEET_DOWN,
    WAITING,
    WAITING_FATAL,
    ask_keyboard,
    category_keyboard,
    main_keyboard,
    part_of,
    render_ask,
    render_errors,
    render_parts,
    render_text,
    render_totals,
    split_text,
)
from sheetledger.bot.run import build_application, initialised, run_bot
from sheetledger.config import Config, Role, TelegramUser
from sheetledger.errors import SheetledgerError
from sheetledger.money import rub
from sheetledger.orders.model import OrderDesk, OrderNews
from sheetledger.outage import OutageWatch
from sheetledger.retry import RetryPolicy

if TYPE_CHECKING:
    from sheetledger.store import LocalState

log = logging.getLogger(__name__)

# A reply is tried three times (a person waits for it); after that the update comes again.
REPLY_RETRY = RetryPolicy(attempts=3, base=0.5, cap=1.5)

# The texts, renderers and keyboards live in bot/replies.py and the Application's wiring
# in bot/run.py; they stay importable from here, where the rest of the code and the tests
# have always found them.
__all__ = [
    "EDIT_IGNORED",
    "EXPENSE_ROLES",
    "MAX_REPLY",
    "REFUSE_GROUP",
    "SHEET_DOWN",
    "WAITING",
    "WAITING_FATAL",
    "ExpenseBot",
    "build_application",
    "category_keyboard",
    "main_keyboard",
    "render_parts",
    "render_text",
    "rub",
    "run_bot",
    "split_text",
]

EXPENSE_ROLES = frozenset({Role.OWNER, Role.ACCOUNTANT, Role.CASHIER})
MAX_CALLBACK_BYTES = 64

T = TypeVar("T")
Context = ContextTypes.DEFAULT_TYPE
AnyApplication = Application[Any, Any, Any, Any, Any, Any]

# --------------------------------------------------------------------------- the application


class ReplyNotSent(Exception):
    """Telegram did not take a reply after retries: the update is to be handled again."""


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
        reply_delays: Sequence[float] | None = None,
        redeliver_after: float = 2.0,
        telegram: Bot | None = None,
        watch: OutageWatch | None = None,
        desk: OrderDesk | None = None,
        news: OrderNews | None = None,
        bills: BillStore | None = None,
    ) -> None:
        self.config = config
        self.book = book
        self.state = state
        self.poll_timeout = poll_timeout
        self.flush_every = flush_every
        # Pauses between the tries of one reply (a 5xx, a dropped connection); after the
        # last, the update is left unconfirmed and comes again ``redeliver_after`` later.
        # The waits between tries of a reply: the project's one retry policy, or a test's.
        self.reply_delays = tuple(
            reply_delays
            if reply_delays is not None
            else (REPLY_RETRY.delay(n) for n in range(1, REPLY_RETRY.attempts))
        )
        self.categories = [c.name for c in config.expenses.categories]
        self.orders = OrderTalk(
            config,
            state,
            desk,
            reply=self._reply,
            edit=self._edit,
            download=self._download,
            deals=book.deal_index,
            bills=bills,
            news=news,
            answer=self._answer_query,
        )
        self.application = build_application(config, self, telegram)
        self._unanswered: set[int] = set()
        self.poller = Poller(
            self.application,
            state,
            poll_timeout=poll_timeout,
            redeliver=self._must_come_again,
            redeliver_after=redeliver_after,
            watch=watch,
        )

    # -- life cycle ----------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Initialise, write what waits in the outbox, poll until ``stop``; then shut down.

        With ``flush_every`` the bot also flushes its outbox on its own (when it runs
        alone); the daemon leaves it None and schedules ``flush_outbox`` instead.
        """
        if not await initialised(self.application):
            raise token_rejected()
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

    def _must_come_again(self, update: Update) -> bool:
        """For the poller: True once for an update whose reply Telegram did not take."""
        if update.update_id in self._unanswered:
            self._unanswered.discard(update.update_id)
            return True
        return False

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
        parts = [f"Здравствуйте, {user.name}!"]
        if self.orders.may_order(user):
            parts.append(ORDER_HELP)
        if EXPENSE_ROLES & set(user.roles):
            parts.append(HELP_EXAMPLES)
        text = "\n\n".join([*parts, COMMANDS_HELP])
        await self._reply(update.message, text)

    async def categories_command(self, update: Update, context: Context) -> None:
        assert update.message is not None
        expenses = self.config.expenses
        lines = ["Категории и слова, по которым я их узнаю:"]
        for category in expenses.categories:
            words = ", ".join(category.keywords) if category.keywords else "—"
            mark = " (если не узнал)" if category.name == expenses.default_category else ""
            lines.append(f"• {category.name}{mark}: {words}")
        await self._reply(update.message, "\n".join(lines))

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
            await self._reply(message, NO_ROLE)
            return
        try:
            totals = await asyncio.to_thread(self.book.totals, start, end)
        except SheetledgerError as exc:
            log.warning("totals unavailable: %s", exc)
            await self._reply(message, SHEET_DOWN)
            return
        await self._reply(message, render_totals(title, totals))

    def _sent_at(self, message: Message) -> datetime:
        sent = message.date
        return sent if sent.tzinfo else sent.replace(tzinfo=UTC)

    def _sent_day(self, message: Message) -> date:
        # The day the message was sent, in the business's zone (never the processing time).
        return self._sent_at(message).astimezone(self.config.tz).date()

    def _may_record(self, message: Message) -> bool:
        user = self.config.telegram.user(message.from_user.id) if message.from_user else None
        return user is not None and bool(EXPENSE_ROLES & set(user.roles))

    # -- expenses ------------------------------------------------------------------------

    def _parse(self, text: str, day: date) -> ParseResult:
        expenses_config = self.config.expenses
        return parse_message(
            text,
            today=day,
            categories=expenses_config.categories,
            default_category=expenses_config.default_category,
            ceiling=expenses_config.ceiling,
        )

    async def expense(self, update: Update, context: Context) -> None:
        message = update.message
        assert message is not None and message.text is not None and message.from_user
        user = self.config.telegram.user(message.from_user.id)
        assert user is not None
        if await self.orders.take_text(message, user, message.text):
            return  # it answered the bot's question about an order
        if not self._may_record(message):
            if self.orders.may_order(user):
                await self.orders.bill(message, user, message.text, None, self._sent_at(message))
            else:
                await self._reply(message, NO_ROLE)
            return
        result = self._parse(message.text, self._sent_day(message))
        if not result.ok:
            lines = len([line for line in message.text.splitlines() if line.strip()])
            await self._reply(message, render_errors(result.errors, lines))
            return
        chat_id, sent_at = message.chat_id, self._sent_at(message)
        digest = text_digest(message.text)
        earlier = await asyncio.to_thread(
            self.book.same_text_before, chat_id, message.message_id, digest, sent_at
        )
        if earlier is not None:
            # A different message with the same text minutes after one that was recorded:
            # most likely sent again because no answer came. Ask; never record it blindly.
            await asyncio.to_thread(
                self.book.remember_question, chat_id, message.message_id, message.text, sent_at
            )
            log.info("expense message %s:%s repeats an earlier one: asked", *_ids(message))
            when = earlier.sent_at.astimezone(self.config.tz)
            markup = ask_keyboard(message.message_id)
            await self._reply(message, render_ask(earlier.expenses, when), markup)
            return
        await self._record(message, message.text, user, sent_at, None)

    async def _record(
        self,
        message: Message,
        text: str,
        user: TelegramUser,
        sent_at: datetime,
        question: CallbackQuery | None,
    ) -> None:
        """Record the lines of ``message`` (``text``) and answer with what was written.

        ``question``: the "record again?" button that asked for it; its message becomes
        the reply.
        """
        result = self._parse(text, sent_at.astimezone(self.config.tz).date())
        if not result.ok:  # cannot happen for a question (its text parsed), but never record []
            await self._reply(message, render_errors(result.errors, len(result.errors)))
            return
        planned = plan_expenses(
            result.expenses,
            chat_id=message.chat_id,
            message_id=message.message_id,
            entered_by=user.name,
            recorded_at=datetime.now(UTC),
            deals=None,  # contract numbers are resolved when the rows are written
            places=self.config.expenses,
        )
        recorded: Recorded = await asyncio.to_thread(self.book.record, planned)
        await asyncio.to_thread(
            self.book.remember_text, message.chat_id, message.message_id, text_digest(text), sent_at
        )
        log.info(
            "expense message %s:%s: %d row(s)%s%s",
            *_ids(message),
            len(recorded.expenses),
            "" if recorded.written else ", waiting in the outbox",
            " (redelivered)" if recorded.redelivered else "",
        )
        # What the reply says comes from the outbox (what was accepted and written), never
        # from how an earlier attempt to answer went.
        parts = render_parts(
            recorded.expenses,
            pending=not recorded.written,
            fatal=recorded.fatal,
            again=recorded.redelivered and question is None,
        )
        offers = await asyncio.to_thread(self.book.offers, recorded.expenses)
        for index, (part_text, chunk) in enumerate(parts):
            first = index * PART_LINES + 1 if len(parts) > 1 else 0
            keyboard = main_keyboard(
                message.message_id, chunk, self.categories, first, offers=offers
            )
            if index == 0 and question is not None:
                await self._edit(question, part_text, keyboard)
            else:
                await self._reply(message, part_text, keyboard)

    async def edited(self, update: Update, context: Context) -> None:
        assert update.edited_message is not None
        log.info("edited message %s:%s not re-recorded", *_ids(update.edited_message))
        await self._reply(update.edited_message, EDIT_IGNORED)

    async def statement(self, update: Update, context: Context) -> None:
        """A bank statement (.txt) from the accountant or the owner: imported (bank/bot_door)."""
        # import cycle: the statement door imports through connect, which builds this bot
        from sheetledger.bank.bot_door import MAX_BYTES, may_import, statement_reply

        message, user = update.message, self._user(update)
        assert message is not None and message.document is not None
        if user is None or not may_import(user.roles):
            await self.not_text(update, context)
            return
        document = message.document
        if (document.file_size or 0) > MAX_BYTES:
            await self._reply(message, "Файл больше 20 МБ: Telegram не отдаёт боту такие файлы.")
            return
        telegram_file = await self._send(document.get_file, "getFile")
        data = bytes(await self._send(telegram_file.download_as_bytearray, "file download"))
        name = document.file_name or "statement.txt"
        text = await asyncio.to_thread(
            statement_reply, self.config, name, data, caption=message.caption or ""
        )
        await self._reply(message, text)

    # -- payment orders (bot/orders.py) ----------------------------------------------------

    async def order_command(self, update: Update, context: Context) -> None:
        """``/order 12 000 фурнитура …``: a bill as text (the owner's text is an expense)."""
        message, user = update.message, self._user(update)
        assert message is not None and user is not None
        text = (message.text or "").partition(" ")[2]
        await self.orders.bill(message, user, text, None, self._sent_at(message))

    async def bill_file(self, update: Update, context: Context) -> None:
        """A PDF, an image or a photo: a bill to pay, its caption says what for."""
        message, user = update.message, self._user(update)
        assert message is not None and user is not None
        if message.photo:
            # The largest size Telegram made (its list is smallest first; never rely on it).
            photo = max(
                message.photo, key=lambda size: (size.width * size.height, size.file_size or 0)
            )
            file = BillFile(
                photo.file_id, f"photo-{message.message_id}.jpg", "image/jpeg", photo.file_size or 0
            )
        else:
            document = message.document
            assert document is not None
            file = BillFile(
                document.file_id,
                document.file_name or f"bill-{message.message_id}",
                document.mime_type or "application/octet-stream",
                document.file_size or 0,
            )
        caption = message.caption or ""
        await self.orders.bill(message, user, caption, file, self._sent_at(message))

    async def order_button(self, update: Update, context: Context) -> None:
        query = update.callback_query
        assert query is not None
        await self.orders.button(query, self._user(update))

    async def _download(self, file_id: str) -> bytes:
        """A file the person sent: getFile, then the download (both tried again on 5xx)."""
        telegram_file = await self._send(lambda: self.application.bot.get_file(file_id), "getFile")
        return bytes(await self._send(telegram_file.download_as_bytearray, "file download"))

    @staticmethod
    async def _answer_query(query: CallbackQuery, text: str | None, alert: bool) -> None:
        await _quietly(query.answer(text[:200] if text else None, show_alert=alert))

    async def not_text(self, update: Update, context: Context) -> None:
        assert update.message is not None
        await self._reply(update.message, NOT_TEXT)

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
        if action in ("a", "n"):
            await self._answer_question(query, action, chat_id, message_id)
            return
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
            await self._edit(query, None, markup)
            return
        chosen = numbers[2] if len(numbers) == 3 else len(self.categories)
        changes: dict[str, str | bool] = {}
        if action == "s" and key in rows and chosen < len(self.categories):
            category = self.categories[chosen]
            changes = {"category": category, "category_guessed": False}
            answer = f"Категория: {category}"
        elif action == "u" and key in rows:
            changes, answer = {"void": True}, "Отменено: строка помечена и не входит в итоги"
        elif action == "r" and key in rows:
            changes, answer = {"void": False}, "Возвращено"
        elif action in ("d", "x") and key in rows:
            deal = numbers[2] if action == "d" and len(numbers) == 3 else None
            if action == "d" and deal is None:
                await _quietly(query.answer())
                return
            chosen_row = await asyncio.to_thread(self.book.choose_deal, key, deal)
            if chosen_row is None:
                await _quietly(query.answer("Не нашёл эту сделку.", show_alert=True))
                return
            log.info("expense %s: deal %s", key, deal if deal is not None else "none")
            rows[key] = chosen_row
            answer = "Привязано к сделке" if deal is not None else "Записано без сделки"
        elif action != "b":
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
        # The pressed message shows one part of the reply: the part of the pressed line.
        first, shown = part_of(ordered, key or ordered[0].key)
        if first:
            text = render_parts(ordered, pending=pending)[(first - 1) // PART_LINES][0]
        else:
            text = render_text(shown, pending=pending)
        offers = await asyncio.to_thread(self.book.offers, shown)
        markup = main_keyboard(message_id, shown, self.categories, first, offers=offers)
        await self._edit(query, text, markup)

    async def _answer_question(
        self, query: CallbackQuery, action: str, chat_id: int, message_id: int
    ) -> None:
        """ "Record again?" answered: record the repeated message, or leave it."""
        asked = await asyncio.to_thread(self.book.question, chat_id, message_id)
        user = self.config.telegram.user(query.from_user.id)
        message = query.message
        if asked is None or user is None or not isinstance(message, Message):
            await _quietly(query.answer(ASK_GONE, show_alert=True))
            return
        await _quietly(query.answer())
        if action == "n":
            await asyncio.to_thread(self.book.forget_question, chat_id, message_id)
            await self._edit(query, NOT_RECORDED_AGAIN, None)
            return
        # The person's message is quoted by the question; record under its own id.
        person = message.reply_to_message
        if person is None or person.message_id != message_id:
            person = Message(message_id, asked.sent_at, message.chat, from_user=query.from_user)
            person.set_bot(message.get_bot())
        await self._record(person, asked.text, user, asked.sent_at, query)
        await asyncio.to_thread(self.book.forget_question, chat_id, message_id)

    def _message_rows(self, chat_id: int, message_id: int) -> dict[str, tuple[Expense, bool]]:
        """The rows of one message: key -> (row, written)."""
        prefix = dedup_key(chat_id, message_id, 0).rsplit(":", 1)[0] + ":"
        entries = self.book.find(prefix)
        if entries:
            return {k: (e.expense, not e.pending) for k, e in entries.items()}
        return {key: (expense, True) for key, expense in self.book.sheet_rows(prefix).items()}

    async def on_error(self, update: object, context: Context) -> None:
        error = context.error
        if isinstance(error, ReplyNotSent) and isinstance(update, Update):
            log.warning("update %s: %s; it will be handled again", update.update_id, error)
            self._unanswered.add(update.update_id)
            return
        log.error("the bot failed on an update", exc_info=error)
        if not isinstance(update, Update) or update.effective_message is None:
            return
        if update.message is None:  # a button: nothing to say about rows
            await _quietly(update.effective_message.reply_text(FAILED_BUTTON))
            return
        # Say what the outbox holds for this message, never "nothing" when something is.
        rows = await asyncio.to_thread(
            self._message_rows, update.message.chat_id, update.message.message_id
        )
        if not rows:
            await _quietly(update.message.reply_text(FAILED_NOTHING))
            return
        ordered = [rows[k][0] for k in sorted(rows, key=lambda k: int(k.rsplit(":", 1)[1]))]
        pending = any(not written for _, written in rows.values())
        for text, _chunk in render_parts(ordered, pending=pending):
            await _quietly(update.message.reply_text(f"{FAILED_BUT_WRITTEN}\n{text}"[:MAX_REPLY]))

    # -- sending -------------------------------------------------------------------------

    async def _send(self, call: Callable[[], Awaitable[T]], what: str) -> T:
        """``call``, tried again after a 429 (as told), a 5xx or a dropped connection.

        A request refused as such (400) is not retried. ``ReplyNotSent`` after the last
        try: the update is then handled again later (``on_error``).
        """
        delays = [*self.reply_delays, None]
        for delay in delays:
            try:
                return await call()
            except RetryAfter as exc:
                wait = retry_after_seconds(exc) + 0.1
            except BadRequest:
                raise
            except NetworkError as exc:  # 5xx, timeouts, dropped connections
                if delay is None:
                    raise ReplyNotSent(f"{what}: {type(exc).__name__}: {exc.message}") from exc
                log.info("%s failed (%s); trying again", what, exc.message)
                wait = delay
            if delay is None:
                break
            await asyncio.sleep(wait)
        raise ReplyNotSent(f"{what}: Telegram kept asking to wait")

    async def _reply(
        self, message: Message, text: str, markup: InlineKeyboardMarkup | None = None
    ) -> Message | None:
        """Answer ``message``; text longer than one message goes as several (the last
        one is returned; None when the chat blocked the bot)."""
        # Quote the person's message (a reply to which message is otherwise unclear when
        # several were sent); still send when that message was deleted meanwhile.
        quote = ReplyParameters(message.message_id, allow_sending_without_reply=True)
        pieces = split_text(text)
        sent: Message | None = None
        try:
            for index, piece in enumerate(pieces):
                keyboard = markup if index == len(pieces) - 1 else None
                sent = await self._send(
                    lambda piece=piece, keyboard=keyboard: message.reply_text(  # type: ignore[misc]
                        piece, reply_markup=keyboard, reply_parameters=quote
                    ),
                    "reply",
                )
        except Forbidden:
            log.warning("chat %s blocked the bot; the reply was not delivered", message.chat_id)
        return sent

    async def _edit(
        self, query: CallbackQuery, text: str | None, markup: InlineKeyboardMarkup | None
    ) -> None:
        try:
            if text is None:
                await self._send(
                    lambda: query.edit_message_reply_markup(reply_markup=markup), "edit"
                )
            else:
                await self._send(lambda: query.edit_message_text(text, reply_markup=markup), "edit")
        except BadRequest as exc:
            # Tapping the category that is already set changes nothing: Telegram says so.
            if "not modified" not in exc.message.lower():
                raise


def _ids(message: Message) -> tuple[int, int]:
    return message.chat_id, message.message_id


# --------------------------------------------------------------------------- sending


async def _quietly(call: Awaitable[Any]) -> None:
    """Send something whose failure must not fail the handler (answers, refusals)."""
    try:
        await call
    except TelegramError as exc:
        log.warning("Telegram refused a courtesy call: %s", exc.message)
