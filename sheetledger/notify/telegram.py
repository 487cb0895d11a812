"""The notifications' Telegram side: the only module of ``notify`` that imports python-telegram-bot.

``TelegramNotices.deliver`` sends a batch of cards from a thread without an event loop (the
scheduler's), on a Bot opened for the batch. Each card is claimed (``claim``, durable)
just before its request and settled after (``settle``), so a process killed in between
leaves the card ``sending`` for the outbox to judge.

What an answer means for a card:

* sent — Telegram answered with the message (its id is kept);
* refused — Telegram will never take it (``Forbidden``: the person blocked the bot;
  ``BadRequest``: no such chat): not sent again;
* not sent — ``RetryAfter``, a connection that failed, a 5xx, a rejected token: nothing
  reached the chat, the card waits for the next run and the batch stops (the service is
  down: the outage watch hears of it once);
* unknown — a timeout: the request may have been handled. The Bot API has no idempotency
  key and a bot cannot read its chats back, so such a card is not sent again blindly.

The accountant's card carries the Paid / Reject buttons (``op:<id>`` / ``oj:<id>``) and,
when ``fetch_bill`` can fetch the Drive file's bytes, the bill itself as a document (the
Bot API cannot fetch a Drive link by URL: it gets an HTML page); otherwise its link.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Message
from telegram.error import BadRequest, Forbidden, InvalidToken, RetryAfter, TelegramError, TimedOut

from sheetledger.bot.identity import make_bot, telegram_error, token_rejected
from sheetledger.config import TelegramConfig
from sheetledger.errors import RetriableError, SheetledgerError
from sheetledger.orders.model import PAID_BUTTON, REJECT_BUTTON

__all__ = ["Card", "FetchBill", "Sent", "TelegramNotices", "order_buttons"]

log = logging.getLogger(__name__)

MESSAGE_LIMIT = 4096
CAPTION_LIMIT = 1024

# The bill's file from its Drive link: (file name, bytes), or None when it cannot be had.
FetchBill = Callable[[str], tuple[str, bytes] | None]


class Sent(StrEnum):
    SENT = "sent"
    REFUSED = "refused"
    NOT_SENT = "not_sent"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Card:
    """One Telegram message of the outbox."""

    key: str
    chat: int
    text: str
    order_id: str = ""
    buttons: bool = False
    bill_link: str = ""


def order_buttons(order_id: str) -> InlineKeyboardMarkup:
    """The accountant's Paid / Reject buttons (``op:<id>`` / ``oj:<id>``, well under 64 bytes)."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("✅ Оплачено", callback_data=f"{PAID_BUTTON}:{order_id}"),
                InlineKeyboardButton("✖ Отклонить", callback_data=f"{REJECT_BUTTON}:{order_id}"),
            ]
        ]
    )


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class TelegramNotices:
    """Sends the outbox's Telegram cards on the config's bot."""

    def __init__(
        self,
        telegram: TelegramConfig,
        *,
        fetch_bill: FetchBill | None = None,
        make: Callable[[TelegramConfig], Bot] = make_bot,
    ) -> None:
        self.telegram = telegram
        self.fetch_bill = fetch_bill
        self.make = make

    def deliver(
        self,
        cards: Sequence[Card],
        claim: Callable[[Card], None],
        settle: Callable[[Card, Sent, str], None],
    ) -> SheetledgerError | None:
        """Send ``cards`` in order; returns the outage that stopped the batch, if one did."""
        if not cards:
            return None
        return asyncio.run(self._deliver(cards, claim, settle))

    async def _deliver(
        self,
        cards: Sequence[Card],
        claim: Callable[[Card], None],
        settle: Callable[[Card, Sent, str], None],
    ) -> SheetledgerError | None:
        rejected = False
        try:
            async with self.make(self.telegram) as bot:
                for card in cards:
                    down = await self._one(bot, card, claim, settle)
                    if down is not None:
                        return down
        except InvalidToken:
            rejected = True  # PTB's error quotes the token: raise ours outside this block
        except TelegramError as exc:  # opening the bot (getMe) failed
            return telegram_error(exc)
        if rejected:
            return token_rejected()
        return None

    def _bill(self, card: Card) -> tuple[str, bytes] | None:
        if not (card.bill_link and self.fetch_bill):
            return None
        try:
            return self.fetch_bill(card.bill_link)
        except SheetledgerError as exc:  # the card still goes, with the link instead
            log.warning("bill of %s not attached: %s", card.order_id, exc)
            return None

    async def _one(
        self,
        bot: Bot,
        card: Card,
        claim: Callable[[Card], None],
        settle: Callable[[Card, Sent, str], None],
    ) -> SheetledgerError | None:
        markup = order_buttons(card.order_id) if card.buttons else None
        bill = await asyncio.to_thread(self._bill, card)
        claim(card)
        try:
            message: Message
            if bill is not None:
                name, data = bill
                message = await bot.send_document(
                    card.chat,
                    InputFile(data, filename=name),
                    caption=_cut(card.text, CAPTION_LIMIT),
                    reply_markup=markup,
                )
            else:
                message = await bot.send_message(
                    card.chat, _cut(card.text, MESSAGE_LIMIT), reply_markup=markup
                )
        except RetryAfter:
            settle(card, Sent.NOT_SENT, "Telegram asked to wait (429)")
            return RetriableError("Telegram", "too many requests (429)")
        except TimedOut:
            settle(card, Sent.UNKNOWN, "no answer in time: it may have been sent")
            return RetriableError("Telegram", "no answer in time")
        except (Forbidden, BadRequest) as exc:
            settle(card, Sent.REFUSED, exc.message)
            return None
        except InvalidToken:
            settle(card, Sent.NOT_SENT, "the bot token was rejected")
            raise
        except TelegramError as exc:  # NetworkError: refused connection, 5xx
            error = telegram_error(exc)
            settle(card, Sent.NOT_SENT, str(error))
            return error
        settle(card, Sent.SENT, str(message.message_id))
        return None
