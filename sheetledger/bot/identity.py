"""Who the bot is: ``getMe``, for ``sheetledger check``; the one message for a rejected token."""

from __future__ import annotations

import asyncio
from typing import Any

from telegram import Bot
from telegram.error import InvalidToken, NetworkError, TelegramError, TimedOut

from sheetledger.config import TelegramConfig
from sheetledger.errors import FatalError, RetriableError


def token_rejected() -> FatalError:
    """A 401 from the Bot API. Raise it outside the ``except InvalidToken`` block: PTB's error
    quotes the token, and a chained exception (cause or context) prints with a traceback."""
    return FatalError(
        "Telegram",
        "the bot token was rejected by Telegram",
        hint="take the token from @BotFather again",
    )


def make_bot(telegram: TelegramConfig) -> Bot:
    kwargs: dict[str, Any] = {}
    if telegram.base_url:
        kwargs["base_url"] = telegram.base_url
    if telegram.base_file_url:
        kwargs["base_file_url"] = telegram.base_file_url
    return Bot(telegram.token.reveal(), **kwargs)


def get_me(telegram: TelegramConfig) -> dict[str, Any]:
    async def ask() -> dict[str, Any]:
        async with make_bot(telegram) as bot:
            me = await bot.get_me()
            return {"id": me.id, "username": me.username, "name": me.first_name}

    rejected = False
    try:
        return asyncio.run(ask())
    except InvalidToken:
        rejected = True  # raised below, so that PTB's error (it quotes the token) is not kept
    except TelegramError as exc:
        raise telegram_error(exc) from exc
    assert rejected
    raise token_rejected()


def as_our_error(exc: BaseException) -> BaseException:
    """``exc`` as one of our errors when it is python-telegram-bot's; else ``exc`` itself."""
    return telegram_error(exc) if isinstance(exc, TelegramError) else exc


def telegram_error(exc: TelegramError) -> FatalError | RetriableError:
    """python-telegram-bot's error as ours; never with the token (PTB's message quotes it)."""
    if isinstance(exc, InvalidToken):
        return token_rejected()
    if isinstance(exc, TimedOut | NetworkError):
        return RetriableError("Telegram", f"not reachable: {exc.message}")
    return FatalError("Telegram", exc.message)
