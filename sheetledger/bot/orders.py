"""Payment orders in Telegram: a bill asked for, and the accountant's Paid / Reject buttons.

**Asking** (roles supply, marketing, owner; private chats only, as the gate in
``bot/app.py`` ensures): a bill as a PDF or a photo with a caption, or text alone
(``12 000 фурнитура ООО «Фурнитура-Опт» счёт 77 до 10.12 №1045``; the owner, whose
plain text is an expense, writes ``/order …``). The caption is read by
``orders/parse.py``; the bot then asks for what is missing, one question at a time:

1. the amount (a text answer: the next message of the chat is taken as it);
2. the category (buttons of the expenses' categories);
3. the deal: a contract reference that matches one deal links it; several deals, or a
   reference that matches none (said so), are asked with buttons of the deals that
   match, and «Без сделки»; no reference at all asks «Для сделки?» (a contract number
   typed as the answer, or «Без сделки»).

Then it shows the order with «Отправить бухгалтеру» / «Отменить». On confirmation the bill
file is fetched from Telegram (getFile + download), put into Google Drive
(``orders.drive_folder_id``, ``ledger/drive.py``) under the order's ID, and the order is
created through the ``OrderDesk``; the ``OrderNews`` is told (the accountant's message and
SMS). A file over ``orders.max_file_mb`` (Telegram gives bots at most 20 MB) or not a PDF
or an image is refused when it arrives: nothing is kept.

**Nothing doubled**: the conversation of one bill is kept in ``state.db`` under its
message (``order.talk:<chat>:<message>``), so a redelivered update finds it and only
answers again; the order's source key is ``tg:<chat>:<message>`` and the desk is
idempotent by it; the Drive file is found again by its name. Several bills in a row are
several conversations, each with its own buttons (``callback_data`` carries the message).

**Paying** (roles accountant and owner): ``op:<order id>`` pays — with the account asked
by buttons of ``orders.paid_from`` when there are several (``of:<id>:<i>``); ``oj:<id>``
asks for the reason (the next text of the chat), then rejects. The desk is idempotent: a
Paid pressed after the cabinet's tick (or twice) finds the order paid and pays nothing.

Buttons: ``oc:<msg>:<i>`` category, ``od:<msg>:<i>`` / ``od:<msg>:n`` deal / no deal,
``oy:<msg>`` send, ``on:<msg>`` cancel, ``ox:<id>`` do not reject after all,
``ob:<id>`` back to Paid / Reject. All short ASCII, under Telegram's 64 bytes.

The pure part (``Talk``, ``next_step``, ``render_talk``, ``talk_buttons``) decides; the
``OrderTalk`` shell reads, writes and sends.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from sheetledger.bot.expenses import DealIndex
from sheetledger.bot.parse import read_amount
from sheetledger.config import Config, Role, TelegramUser
from sheetledger.errors import FatalError, SheetledgerError
from sheetledger.money import rub
from sheetledger.orders.model import (
    PAID_BUTTON,
    REJECT_BUTTON,
    Order,
    OrderDesk,
    OrderDraft,
    OrderEvent,
    OrderId,
    OrderNews,
    OrderState,
    Payment,
    order_id,
)
from sheetledger.orders.parse import parse_bill

if TYPE_CHECKING:
    from sheetledger.ledger.drive import DriveFile
    from sheetledger.store import LocalState

log = logging.getLogger(__name__)

__all__ = [
    "ORDER_ROLES",
    "PAY_ROLES",
    "BillFile",
    "OrderTalk",
    "Step",
    "Talk",
    "bill_refusal",
    "next_step",
    "render_talk",
    "talk_buttons",
]

ORDER_ROLES = frozenset({Role.SUPPLY, Role.MARKETING, Role.OWNER})
PAY_ROLES = frozenset({Role.ACCOUNTANT, Role.OWNER})
BUTTONS = r"^o[a-z]:"
MB = 1024 * 1024

NO_ORDER_ROLE = (
    "Заявки на оплату счетов присылают снабжение, маркетинг и владелец. "
    "Расходы записываются текстом: «3500 такси»."
)
NO_PAY_ROLE = "Оплачивать и отклонять заявки может бухгалтер или владелец."
ORDER_HELP = """\
Заявка на оплату счёта: пришлите счёт (PDF или фото) с подписью, или просто текст:
  12 000 фурнитура ООО «Фурнитура-Опт» счёт 77 до 10.12 №1045
Сумма, поставщик, номер счёта, срок («до 10.12»), договор («№1045», «дог. 1045»).
Чего не хватит — спрошу; перед отправкой покажу заявку."""
ASK_AMOUNT = "Сколько нужно оплатить? Напишите сумму ответом (например: 12 000)."
ASK_DEAL = "Это счёт по сделке? Напишите номер договора ответом или нажмите «Без сделки»."
ASK_REASON = "Напишите ответом причину отказа по заявке {id}."
GONE = "Эта заявка устарела: пришлите счёт заново."
DRIVE_DOWN = "Google Drive сейчас не отвечает — заявка не создана. Нажмите «Отправить» чуть позже."
SHEET_DOWN = "Таблица сейчас не отвечает — заявка не создана. Нажмите «Отправить» чуть позже."
TELEGRAM_FILE_DOWN = "Telegram не отдал файл счёта — заявка не создана. Нажмите «Отправить» позже."


# What answers a question, and not a message of its own: a short amount (``45 000``,
# ``45 000 руб``), a contract number (``1045``, ``№ 1045-А``, ``дог. 1045``).
_ANSWER_WORDS = 4
_CONTRACT_ANSWER = re.compile(
    r"(?:№|#|дог\.?|договор)?\s*([0-9][0-9A-Za-zА-Яа-яЁё/\-]{0,15})", re.IGNORECASE
)


class Step(StrEnum):
    AMOUNT = "amount"
    CATEGORY = "category"
    DEAL = "deal"
    CONFIRM = "confirm"
    SENT = "sent"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class BillFile:
    """The bill's file as Telegram holds it."""

    file_id: str
    name: str
    mime: str
    size: int


@dataclass(frozen=True)
class Talk:
    """One bill's conversation: what is known so far, kept in ``state.db``."""

    chat: int
    message: int
    sent_at: datetime
    requested_by: str
    text: str
    amount: Decimal | None = None
    supplier: str = ""
    purpose: str = ""
    category: str = ""
    due: date | None = None
    bill_no: str = ""
    contract_no: str = ""
    deal_id: int | None = None
    deal_label: str = ""
    deal_decided: bool = False
    deal_note: str = ""  # what the bot says of the reference (not found, several deals)
    candidates: tuple[tuple[int, str], ...] = ()  # deals offered: (id, label)
    file: BillFile | None = None
    bill_link: str = ""
    order_id: str = ""
    cancelled: bool = False
    reply: int | None = None  # the bot's message that shows this conversation

    @property
    def source(self) -> str:
        return f"tg:{self.chat}:{self.message}"

    def draft(self) -> OrderDraft:
        assert self.amount is not None
        return OrderDraft(
            source=self.source,
            requested_by=self.requested_by,
            amount=self.amount,
            supplier=self.supplier,
            purpose=self.purpose,
            category=self.category,
            due=self.due,
            bill_no=self.bill_no,
            contract_no=self.contract_no,
            deal_id=self.deal_id,
            bill_link=self.bill_link,
            requester_chat=self.chat,
        )

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["sent_at"] = self.sent_at.isoformat()
        data["amount"] = None if self.amount is None else str(self.amount)
        data["due"] = None if self.due is None else self.due.isoformat()
        data["candidates"] = [list(c) for c in self.candidates]
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Talk:
        values = dict(data)
        values["sent_at"] = datetime.fromisoformat(str(data["sent_at"]))
        values["amount"] = None if data.get("amount") is None else Decimal(str(data["amount"]))
        values["due"] = None if not data.get("due") else date.fromisoformat(str(data["due"]))
        values["candidates"] = tuple((int(i), str(label)) for i, label in data["candidates"])
        values["file"] = BillFile(**data["file"]) if data.get("file") else None
        return cls(**values)


class DealsLookup(Protocol):
    """The Deals index (one narrow read of the Deals tab), for contract references."""

    def __call__(self) -> DealIndex: ...


class BillStore(Protocol):
    """Where bill files go (``ledger.drive.DriveFiles``)."""

    def upload(self, folder_id: str, name: str, mime: str, content: bytes) -> DriveFile: ...


# --------------------------------------------------------------------------- pure part


def bill_refusal(file: BillFile, max_mb: int) -> str:
    """Why a bill's file is refused ('' when it is taken): too big, or not a PDF/image."""
    if file.size > max_mb * MB:
        return (
            f"Файл «{file.name}» больше {max_mb} МБ — Telegram не отдаёт боту такие файлы. "
            "Сожмите его или пришлите фото счёта. Заявку не создал."
        )
    if file.mime != "application/pdf" and not file.mime.startswith("image/"):
        return (
            f"Счёт принимаю в PDF или картинкой (JPG, PNG); «{file.name}» — это {file.mime}. "
            "Заявку не создал."
        )
    return ""


def start_talk(
    *,
    chat: int,
    message: int,
    sent_at: datetime,
    today: date,
    user: TelegramUser,
    text: str,
    file: BillFile | None,
    config: Config,
    deals: DealIndex | None,
) -> Talk:
    """A new conversation from a bill's caption (and the Deals index, when it was read)."""
    bill = parse_bill(text, today=today, categories=config.expenses.categories)
    talk = Talk(
        chat=chat,
        message=message,
        sent_at=sent_at,
        requested_by=user.name,
        text=text,
        amount=bill.amount.value,
        supplier=bill.supplier,
        purpose=bill.purpose,
        category=bill.category,
        due=bill.due,
        bill_no=bill.bill_no,
        file=file,
    )
    return with_contracts(talk, [ref.number for ref in bill.contracts], deals)


def with_contracts(talk: Talk, numbers: Sequence[str], deals: DealIndex | None) -> Talk:
    """The deal of the contract references: linked when one deal matches, else offered."""
    if not numbers:
        return talk
    first = numbers[0]
    if deals is None:
        note = f"договор № {first}: таблица сделок не ответила — выберите «Без сделки» или позже"
        return replace(talk, contract_no=first, deal_note=note)
    matches = [deal for number in numbers for deal in deals.lookup(number)]
    if len(matches) == 1:
        deal = matches[0]
        return replace(
            talk,
            contract_no=first,
            deal_id=deal,
            deal_label=deals.label(deal),
            deal_decided=True,
            deal_note="",
            candidates=(),
        )
    if matches:
        note = "несколько сделок подходят — выберите"
        offered = matches[:6]
    else:
        note = f"договор № {first} не найден в сделках — выберите сделку или «Без сделки»"
        offered = [deal for number in numbers for deal in deals.similar(number)][:6]
    candidates = tuple((deal, deals.label(deal)) for deal in offered)
    return replace(talk, contract_no=first, deal_note=note, candidates=candidates)


def next_step(talk: Talk) -> Step:
    if talk.cancelled:
        return Step.CANCELLED
    if talk.order_id:
        return Step.SENT
    if talk.amount is None:
        return Step.AMOUNT
    if not talk.category:
        return Step.CATEGORY
    if not talk.deal_decided:
        return Step.DEAL
    return Step.CONFIRM


def _summary(talk: Talk) -> list[str]:
    lines = [f"Сумма: {rub(talk.amount)}" if talk.amount is not None else "Сумма: —"]
    if talk.supplier:
        lines.append(f"Поставщик: {talk.supplier}")
    if talk.purpose:
        lines.append(f"За что: {talk.purpose[:200]}")
    if talk.bill_no:
        lines.append(f"Счёт № {talk.bill_no}")
    if talk.due:
        lines.append(f"Оплатить до {talk.due:%d.%m.%Y}")
    if talk.category:
        lines.append(f"Категория: {talk.category}")
    if talk.deal_id is not None:
        lines.append(f"Сделка: {talk.deal_label}")
    elif talk.deal_decided:
        lines.append("Без сделки")
    elif talk.deal_note:
        lines.append(talk.deal_note[0].upper() + talk.deal_note[1:])
    if talk.file is not None:
        lines.append(f"Файл: {talk.file.name}")
    return lines


def render_talk(talk: Talk, order: Order | None = None) -> str:
    step = next_step(talk)
    summary = "\n".join(_summary(talk))
    if step is Step.CANCELLED:
        return "✖️ Заявка отменена, ничего не отправлено.\n" + summary
    if step is Step.SENT:
        head = f"✅ Заявка {talk.order_id} отправлена бухгалтеру."
        if order is not None and order.state is not OrderState.NEW:
            head = f"Заявка {talk.order_id}: " + (
                "оплачена" if order.state is OrderState.PAID else f"отклонена ({order.reason})"
            )
        return head + "\n" + summary
    if step is Step.AMOUNT:
        return f"Заявка на оплату.\n{summary}\n\n{ASK_AMOUNT}"
    if step is Step.CATEGORY:
        return f"Заявка на оплату.\n{summary}\n\nВыберите категорию:"
    if step is Step.DEAL:
        question = "Выберите сделку:" if talk.candidates else ASK_DEAL
        return f"Заявка на оплату.\n{summary}\n\n{question}"
    return f"Заявка на оплату — проверьте:\n{summary}\n\nОтправить бухгалтеру?"


def talk_buttons(talk: Talk, categories: Sequence[str]) -> list[list[tuple[str, str]]]:
    """The keyboard of the step: rows of (label, callback_data)."""
    step, msg = next_step(talk), talk.message
    cancel = [("✖️ Отменить", f"on:{msg}")]
    if step is Step.CATEGORY:
        buttons = [(name, f"oc:{msg}:{i}") for i, name in enumerate(categories)]
        return [buttons[i : i + 3] for i in range(0, len(buttons), 3)] + [cancel]
    if step is Step.DEAL:
        rows = [[(label[:60], f"od:{msg}:{i}")] for i, (_, label) in enumerate(talk.candidates)]
        return [*rows, [("Без сделки", f"od:{msg}:n")], cancel]
    if step is Step.CONFIRM:
        return [[("✅ Отправить бухгалтеру", f"oy:{msg}"), cancel[0]]]
    if step is Step.AMOUNT:
        return [cancel]
    return []


def file_name(talk: Talk, oid: str) -> str:
    """The bill's name in Drive: the order's ID first (the upload finds it again by it)."""
    assert talk.file is not None
    original = "".join(ch for ch in talk.file.name if ch not in "/\\\n\r'\"")[:100]
    return f"{oid} {original}".strip()


def pay_buttons(oid: str, paid_from: Sequence[str]) -> list[list[tuple[str, str]]]:
    rows = [[(name, f"of:{oid}:{i}")] for i, name in enumerate(paid_from)]
    return [*rows, [("← Назад", f"ob:{oid}")]]


def decision_buttons(oid: str) -> list[list[tuple[str, str]]]:
    return [[("✅ Оплачено", f"{PAID_BUTTON}:{oid}"), ("❌ Отклонить", f"{REJECT_BUTTON}:{oid}")]]


def markup(rows: Sequence[Sequence[tuple[str, str]]]) -> InlineKeyboardMarkup | None:
    if not rows:
        return None
    for row in rows:
        for _, data in row:
            assert len(data.encode()) <= 64, data
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows]
    )


# --------------------------------------------------------------------------- the shell

Reply = Callable[[Message, str, InlineKeyboardMarkup | None], Awaitable[Message | None]]
Edit = Callable[[CallbackQuery, str | None, InlineKeyboardMarkup | None], Awaitable[None]]
Download = Callable[[str], Awaitable[bytes]]


@dataclass
class OrderTalk:
    """The order conversations of the bot, and the accountant's buttons."""

    config: Config
    state: LocalState
    desk: OrderDesk | None
    reply: Reply
    edit: Edit
    download: Download
    deals: DealsLookup | None = None
    bills: BillStore | None = None
    news: OrderNews | None = None
    answer: Callable[[CallbackQuery, str | None, bool], Awaitable[None]] | None = None
    categories: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.categories = [c.name for c in self.config.expenses.categories]

    # -- state -----------------------------------------------------------------------

    def _load(self, chat: int, message: int) -> Talk | None:
        data = self.state.get(f"order.talk:{chat}:{message}")
        return Talk.from_json(data) if isinstance(data, dict) else None

    def _save(self, talk: Talk) -> None:
        self.state.set(f"order.talk:{talk.chat}:{talk.message}", talk.to_json())

    def _awaiting(self, chat: int) -> dict[str, Any] | None:
        data = self.state.get(f"order.await:{chat}")
        return data if isinstance(data, dict) else None

    def _await(self, chat: int, what: dict[str, Any] | None) -> None:
        if what is None:
            self.state.delete(f"order.await:{chat}")
        else:
            self.state.set(f"order.await:{chat}", what)

    # -- a bill arrives --------------------------------------------------------------

    @staticmethod
    def may_order(user: TelegramUser | None) -> bool:
        return user is not None and bool(ORDER_ROLES & set(user.roles))

    async def bill(
        self,
        message: Message,
        user: TelegramUser,
        text: str,
        file: BillFile | None,
        sent_at: datetime,
    ) -> None:
        """A bill (a file with its caption, or text alone) from ``user``."""
        if not self.may_order(user):
            await self.reply(message, NO_ORDER_ROLE, None)
            return
        if file is not None:
            refusal = bill_refusal(file, self.config.orders.max_file_mb)
            if refusal:
                log.info("bill %s:%s refused: %s", message.chat_id, message.message_id, file.mime)
                await self.reply(message, refusal, None)
                return
        if self.desk is None:
            await self.reply(message, "Заявки на оплату не настроены (нет таблицы Invoices).", None)
            return
        talk = await asyncio.to_thread(self._load, message.chat_id, message.message_id)
        if talk is None:
            if not text.strip() and file is None:
                await self.reply(message, ORDER_HELP, None)
                return
            refs_wanted = any(ch.isdigit() for ch in text)
            deals = await self._deals() if refs_wanted and self.deals is not None else None
            talk = start_talk(
                chat=message.chat_id,
                message=message.message_id,
                sent_at=sent_at,
                today=sent_at.astimezone(self.config.tz).date(),
                user=user,
                text=text,
                file=file,
                config=self.config,
                deals=deals,
            )
            await asyncio.to_thread(self._save, talk)
            log.info("bill %s:%s: %s", talk.chat, talk.message, next_step(talk))
        else:
            log.info("bill %s:%s redelivered: answered again", talk.chat, talk.message)
        await self._show(message, talk)

    async def _deals(self) -> DealIndex | None:
        assert self.deals is not None
        try:
            return await asyncio.to_thread(self.deals)
        except SheetledgerError as exc:
            log.warning("deals unavailable for a bill: %s", exc)
            return None

    async def _show(self, message: Message, talk: Talk) -> None:
        """Answer with the conversation's state; remember what the next text answers."""
        step = next_step(talk)
        if step in (Step.AMOUNT, Step.DEAL):
            await asyncio.to_thread(
                self._await, talk.chat, {"kind": step.value, "message": talk.message}
            )
        keyboard = markup(talk_buttons(talk, self.categories))
        sent = await self.reply(message, render_talk(talk), keyboard)
        if sent is not None:
            await asyncio.to_thread(self._save, replace(talk, reply=sent.message_id))

    # -- a text that answers a question ------------------------------------------------

    async def take_text(self, message: Message, user: TelegramUser, text: str) -> bool:
        """True when ``text`` answered an open question (an amount, a deal, a reason)."""
        waiting = await asyncio.to_thread(self._awaiting, message.chat_id)
        if waiting is None:
            return False
        kind = waiting.get("kind")
        if kind == "reason":
            await asyncio.to_thread(self._await, message.chat_id, None)
            await self._reject(message, user, OrderId(str(waiting["order"])), text, waiting)
            return True
        talk = await asyncio.to_thread(self._load, message.chat_id, int(waiting["message"]))
        if talk is None or next_step(talk).value != kind:
            await asyncio.to_thread(self._await, message.chat_id, None)
            return False
        if kind == Step.AMOUNT:
            found = read_amount(" ".join(text.split()))
            if found.value is None or len(text.split()) > _ANSWER_WORDS:
                return False  # not an answer: a message of its own (a new bill, an expense)
            talk = replace(talk, amount=found.value)
        else:
            answer = _CONTRACT_ANSWER.fullmatch(text.strip())
            if answer is None:
                return False
            deals = await self._deals() if self.deals is not None else None
            talk = with_contracts(talk, [answer.group(1)], deals)
        await asyncio.to_thread(self._await, message.chat_id, None)
        await asyncio.to_thread(self._save, talk)
        await self._show(message, talk)
        return True

    # -- the requester's buttons --------------------------------------------------------

    async def button(self, query: CallbackQuery, user: TelegramUser | None) -> None:
        parts = (query.data or "").split(":")
        message = query.message
        if message is None or len(parts) < 2:
            await self._answer(query, None)
            return
        action = parts[0]
        if action in (PAID_BUTTON, REJECT_BUTTON, "of", "ob", "ox"):
            await self._decision(query, user, action, parts[1:])
            return
        if not parts[1].isdigit():
            await self._answer(query, None)
            return
        talk = await asyncio.to_thread(self._load, message.chat.id, int(parts[1]))
        if talk is None or user is None:
            await self._answer(query, GONE, alert=True)
            return
        step = next_step(talk)
        if step in (Step.SENT, Step.CANCELLED):
            await self._answer(query, None)
            await self.edit(query, render_talk(talk), None)
            return
        if action == "on":
            talk = replace(talk, cancelled=True)
        elif action == "oc" and len(parts) == 3 and parts[2].isdigit():
            index = int(parts[2])
            if index < len(self.categories):
                talk = replace(talk, category=self.categories[index])
        elif action == "od" and len(parts) == 3:
            if parts[2] == "n":
                talk = replace(talk, deal_id=None, deal_label="", deal_decided=True)
            elif parts[2].isdigit() and int(parts[2]) < len(talk.candidates):
                deal, label = talk.candidates[int(parts[2])]
                talk = replace(talk, deal_id=deal, deal_label=label, deal_decided=True)
        elif action == "oy" and step is Step.CONFIRM:
            await self._answer(query, None)
            await self._send(query, talk)
            return
        await asyncio.to_thread(self._save, talk)
        if next_step(talk) is not Step.AMOUNT:
            await asyncio.to_thread(self._forget_await, talk)
        await self._answer(query, None)
        keyboard = markup(talk_buttons(talk, self.categories))
        await self.edit(query, render_talk(talk), keyboard)
        if next_step(talk) is Step.DEAL:
            await asyncio.to_thread(
                self._await, talk.chat, {"kind": Step.DEAL.value, "message": talk.message}
            )

    def _forget_await(self, talk: Talk) -> None:
        waiting = self._awaiting(talk.chat)
        if waiting is not None and waiting.get("message") == talk.message:
            self._await(talk.chat, None)

    async def _send(self, query: CallbackQuery, talk: Talk) -> None:
        """Confirmed: the bill into Drive, the order into the ledger, the accountant told."""
        assert self.desk is not None and talk.amount is not None
        oid = order_id(talk.source, talk.sent_at.date())
        try:
            if talk.file is not None and not talk.bill_link:
                talk = await self._store_file(talk, oid)
                await asyncio.to_thread(self._save, talk)
            order = await asyncio.to_thread(self.desk.create, talk.draft(), talk.sent_at)
        except _NotStored as exc:
            await self.edit(query, render_talk(talk) + "\n\n" + exc.text, _keyboard(talk, self))
            return
        except FatalError as exc:
            log.warning("order %s not created: %s", talk.source, exc)
            text = f"Заявка не создана: {exc.detail}" + (f" ({exc.hint})" if exc.hint else "")
            await self.edit(query, render_talk(talk) + "\n\n" + text, _keyboard(talk, self))
            return
        except SheetledgerError as exc:
            log.warning("order %s not created: %s", talk.source, exc)
            await self.edit(query, render_talk(talk) + "\n\n" + SHEET_DOWN, _keyboard(talk, self))
            return
        talk = replace(talk, order_id=order.id)
        await asyncio.to_thread(self._save, talk)
        if self.news is not None:
            await asyncio.to_thread(self.news.tell, order, OrderEvent.CREATED)
        log.info("order %s created from %s by %s", order.id, talk.source, talk.requested_by)
        await self.edit(query, render_talk(talk), None)

    async def _store_file(self, talk: Talk, oid: str) -> Talk:
        assert talk.file is not None
        folder = self.config.orders.drive_folder_id
        if self.bills is None or not folder:
            raise _NotStored(
                "Папка для счетов в Google Drive не настроена (orders.drive_folder_id) — "
                "заявка не создана. Сообщите администратору."
            )
        try:
            content = await self.download(talk.file.file_id)
        except Exception as exc:  # Telegram's errors arrive as PTB's; the order waits
            log.warning("bill file of %s not downloaded: %s", talk.source, exc)
            raise _NotStored(TELEGRAM_FILE_DOWN) from exc
        name = file_name(talk, oid)
        try:
            stored = await asyncio.to_thread(
                self.bills.upload, folder, name, talk.file.mime, content
            )
        except FatalError:
            raise
        except SheetledgerError as exc:
            log.warning("bill file of %s not uploaded: %s", talk.source, exc)
            raise _NotStored(DRIVE_DOWN) from exc
        return replace(talk, bill_link=stored.link)

    # -- the accountant's buttons ------------------------------------------------------

    async def _decision(
        self, query: CallbackQuery, user: TelegramUser | None, action: str, rest: list[str]
    ) -> None:
        if user is None or not PAY_ROLES & set(user.roles):
            await self._answer(query, NO_PAY_ROLE, alert=True)
            return
        if self.desk is None or not rest:
            await self._answer(query, None)
            return
        oid = OrderId(rest[0])
        if action == "ob":
            await self._answer(query, None)
            await self.edit(query, None, markup(decision_buttons(oid)))
            return
        if action == "ox":
            await asyncio.to_thread(
                self._await, query.message.chat.id if query.message else 0, None
            )
            await self._answer(query, "Не отклонено")
            await self.edit(query, "Заявку не отклонил.", None)
            return
        order = await asyncio.to_thread(self.desk.get, oid)
        if order is None:
            await self._answer(query, "Не нашёл эту заявку.", alert=True)
            return
        if order.state is not OrderState.NEW:
            await self._answer(query, _decided(order), alert=True)
            await self.edit(query, None, None)
            return
        paid_from = self.config.orders.paid_from
        if action == PAID_BUTTON and len(paid_from) > 1:
            await self._answer(query, None)
            await self.edit(query, None, markup(pay_buttons(oid, paid_from)))
            return
        if action == REJECT_BUTTON:
            chat = query.message.chat.id if query.message else 0
            pressed = query.message.message_id if query.message else None
            await asyncio.to_thread(
                self._await, chat, {"kind": "reason", "order": oid, "pressed": pressed}
            )
            await self._answer(query, None)
            keyboard = markup([[("✖️ Не отклонять", f"ox:{oid}")]])
            assert isinstance(query.message, Message)
            await self.reply(query.message, ASK_REASON.format(id=oid), keyboard)
            return
        index = int(rest[1]) if action == "of" and len(rest) > 1 and rest[1].isdigit() else 0
        account = paid_from[min(index, len(paid_from) - 1)]
        today = datetime.now(self.config.tz).date()
        payment = Payment(on=today, amount=order.amount, paid_from=account, by=user.name)
        try:
            paid = await asyncio.to_thread(self.desk.pay, oid, payment)
        except SheetledgerError as exc:
            log.warning("order %s not paid: %s", oid, exc)
            await self._answer(query, "Таблица не ответила — нажмите ещё раз чуть позже.", True)
            return
        if paid.payment == payment and self.news is not None:
            await asyncio.to_thread(self.news.tell, paid, OrderEvent.PAID)
        log.info("order %s paid from %s by %s (Telegram)", oid, account, user.name)
        await self._answer(query, _decided(paid))
        await self.edit(query, None, None)
        assert isinstance(query.message, Message)
        await self.reply(query.message, _decided(paid), None)

    async def _reject(
        self,
        message: Message,
        user: TelegramUser,
        oid: OrderId,
        reason: str,
        waiting: Mapping[str, Any],
    ) -> None:
        if self.desk is None or not PAY_ROLES & set(user.roles):
            await self.reply(message, NO_PAY_ROLE, None)
            return
        try:
            before = await asyncio.to_thread(self.desk.get, oid)
            if before is None:
                await self.reply(message, "Не нашёл эту заявку.", None)
                return
            order = await asyncio.to_thread(self.desk.reject, oid, reason.strip()[:500], user.name)
        except SheetledgerError as exc:
            log.warning("order %s not rejected: %s", oid, exc)
            await self._await_again(message.chat_id, waiting)
            await self.reply(message, "Таблица не ответила — пришлите причину ещё раз позже.", None)
            return
        if before.state is OrderState.NEW and order.state is OrderState.REJECTED:
            if self.news is not None:
                await asyncio.to_thread(self.news.tell, order, OrderEvent.REJECTED)
            log.info("order %s rejected by %s (Telegram)", oid, user.name)
        await self.reply(message, _decided(order), None)

    async def _await_again(self, chat: int, waiting: Mapping[str, Any]) -> None:
        await asyncio.to_thread(self._await, chat, dict(waiting))

    async def _answer(self, query: CallbackQuery, text: str | None, alert: bool = False) -> None:
        if self.answer is not None:
            await self.answer(query, text, alert)


class _NotStored(Exception):
    """The bill's file could not be kept; ``text`` tells the requester."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


def _keyboard(talk: Talk, shell: OrderTalk) -> InlineKeyboardMarkup | None:
    return markup(talk_buttons(talk, shell.categories))


def _decided(order: Order) -> str:
    if order.state is OrderState.PAID and order.payment is not None:
        source = f" ({order.payment.paid_from})" if order.payment.paid_from else ""
        return (
            f"✅ Заявка {order.id} оплачена {order.payment.on:%d.%m.%Y}{source}: "
            f"{rub(order.amount)}"
        )
    if order.state is OrderState.REJECTED:
        return f"❌ Заявка {order.id} отклонена: {order.reason}"
    return f"Заявка {order.id} ждёт оплаты"
