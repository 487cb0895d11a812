"""How the bot runs: its python-telegram-bot ``Application`` (which handler takes which
update) and ``run_bot`` for ``sheetledger bot``.

The handlers themselves are ``ExpenseBot``'s (``bot/app.py``); this is the wiring only.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from telegram import Bot, Update
from telegram.error import InvalidToken
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from sheetledger.bot.identity import make_bot
from sheetledger.bot.orders import BUTTONS as ORDER_BUTTONS
from sheetledger.config import Config
from sheetledger.lifecycle import run_until_signalled

if TYPE_CHECKING:
    from sheetledger.bot.app import ExpenseBot

log = logging.getLogger(__name__)

__all__ = ["AnyApplication", "build_application", "initialised", "run_bot"]

AnyApplication = Application[Any, Any, Any, Any, Any, Any]


def build_application(
    config: Config, bot: ExpenseBot, telegram: Bot | None = None
) -> AnyApplication:
    """The PTB application: no Updater (we poll ourselves), no JobQueue (the daemon schedules)."""
    client = telegram or make_bot(config.telegram)
    application: AnyApplication = (
        Application.builder().bot(client).updater(None).job_queue(None).build()
    )
    application.add_handler(TypeHandler(Update, bot.gate), group=-1)
    private = filters.ChatType.PRIVATE
    application.add_handler(CommandHandler(["start", "help"], bot.start, filters=private))
    application.add_handler(CommandHandler("today", bot.today, filters=private))
    application.add_handler(CommandHandler("month", bot.month, filters=private))
    application.add_handler(CommandHandler("categories", bot.categories_command, filters=private))
    application.add_handler(CommandHandler("order", bot.order_command, filters=private))
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
    bill = filters.PHOTO | (filters.Document.ALL & ~statement_file)  # its type is checked later
    application.add_handler(
        MessageHandler(filters.UpdateType.MESSAGE & private & bill, bot.bill_file)
    )
    application.add_handler(
        MessageHandler(filters.UpdateType.MESSAGE & private & ~filters.COMMAND, bot.not_text)
    )
    application.add_handler(CallbackQueryHandler(bot.button, pattern=r"^[csurbandx]:"))
    application.add_handler(CallbackQueryHandler(bot.order_button, pattern=ORDER_BUTTONS))
    application.add_error_handler(bot.on_error)
    return application


async def initialised(application: AnyApplication) -> bool:
    """Initialise (PTB asks getMe); False when Telegram rejects the token.

    The error is raised by the caller, outside this ``except``: PTB's ``InvalidToken``
    quotes the token, and an exception raised inside the block would keep it as its
    context.
    """
    try:
        await application.initialize()
    except InvalidToken:
        return False
    return True


def run_bot(config: Config, *, flush_every: float | None = None) -> int:
    """``sheetledger bot``: run the bot alone until SIGINT/SIGTERM; returns an exit code."""
    # Local: an import cycle (the composition root, connect.py, imports bot/app.py, which
    # imports this module).
    from sheetledger.connect import build_bot, build_clients, open_state

    clients = build_clients(config)
    state = open_state(config)
    every = flush_every or float(config.schedule.outbox_flush.every_seconds or 30)
    bot = build_bot(config, clients, state, flush_every=every)

    async def serve(stop: asyncio.Event) -> None:
        log.info("the bot is polling; Ctrl+C stops it")
        await bot.run(stop)

    try:
        run_until_signalled(serve)
    finally:
        state.close()
    return 0
