"""The Telegram emulator: the Bot API for one bot and the people who talk to it, in one object."""

from __future__ import annotations

from sheetledger.sandbox.telegram.control import PeopleControl
from sheetledger.sandbox.telegram.media import BotMedia
from sheetledger.sandbox.telegram.methods import BotMethods


class TelegramEmulator(BotMethods, BotMedia, PeopleControl):
    """The Bot API for one bot, plus the Telegram users who talk to it."""
