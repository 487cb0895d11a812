"""Who the bot is: ``getMe``, for ``sheetledger check``."""

from __future__ import annotations

import asyncio
from typing import Any

from telegram import Bot
from telegram.error import InvalidToken, NetworkError, TelegramError, TimedOut

from sheetledger.config import TelegramConfig
from sheetledger.errors import FatalError, RetriableError


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

    try:
        return asyncio.run(ask())
    except TelegramError as exc:
        raise telegram_error(exc) from exc


def as_our_error(exc: BaseException) -> BaseException:
    """``exc`` as one of our errors when it is python-telegram-bot's; else ``exc`` itself."""
    return telegram_error(exc) if isinstance(exc, TelegramError) else exc


def telegram_error(exc: TelegramError) -> FatalError | RetriableError:
    """python-telegram-bot's error as ours; never with the token (PTB's message quotes it)."""
    if isinstance(exc, InvalidToken):
        return FatalError(
            "Telegram", "the bot token was rejected", hint="take the token from @BotFather again"
        )
    if isinstance(exc, TimedOut | NetworkError):
        return RetriableError("Telegram", f"not reachable: {exc.message}")
    return FatalError("Telegram", exc.message)
