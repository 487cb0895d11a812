"""Independent Bot API clients, unmodified, against the Telegram emulator: aiogram 3 and
pyTelegramBotAPI. Each sends what it sends to api.telegram.org (aiogram uploads every file
as ``attach://``; telebot's media groups do too), so a refusal here is an emulator defect."""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import Iterator

import pytest
import telebot
from telebot import apihelper

from sheetledger.sandbox.server import LoopbackServer
from sheetledger.sandbox.telegram import TelegramEmulator

TOKEN = "123456:TEST-token-abcdefghijklmnopqrstuvwxyz"
USER = 5_000_000_001
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(TelegramEmulator(TOKEN)) as srv:
        yield srv
    assert srv.crashes == []


@pytest.fixture
def emulator(server: LoopbackServer) -> TelegramEmulator:
    return server.emulator  # type: ignore[return-value]


# --------------------------------------------------------------------------- aiogram 3


def test_aiogram_gets_me_sends_a_pdf_by_attach_and_reads_updates(
    server: LoopbackServer, emulator: TelegramEmulator
) -> None:
    # Imported here, not at the top: aiogram builds its ~300 pydantic models on import
    # (seconds of CPU), and every xdist worker collects this module but one runs the test.
    from aiogram import Bot
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.exceptions import TelegramBadRequest
    from aiogram.types import BufferedInputFile, InputMediaDocument

    emulator.send_document(USER, "выписка.pdf", PDF, caption="банк")

    async def scenario() -> None:
        session = AiohttpSession(api=TelegramAPIServer.from_base(server.url))
        bot = Bot(TOKEN, session=session)
        try:
            me = await bot.get_me()
            assert (me.id, me.is_bot, me.username) == (123456, True, "sheetledger_bot")

            [update] = await bot.get_updates(timeout=0)
            assert update.message is not None and update.message.document is not None
            assert update.message.caption == "банк"
            assert update.message.document.mime_type == "application/pdf"
            received = await bot.download(update.message.document.file_id)
            assert received is not None and received.read() == PDF

            text = await bot.send_message(USER, "Платёжка принята")
            assert text.text == "Платёжка принята" and text.chat.id == USER

            order = BufferedInputFile(PDF + b"order", filename="платёжка №7.pdf")
            sent = await bot.send_document(USER, order, caption="к оплате")
            assert sent.document is not None
            assert sent.document.file_name == "платёжка №7.pdf"
            assert sent.document.mime_type == "application/pdf"  # aiohttp said octet-stream
            assert sent.caption == "к оплате"

            album = await bot.send_media_group(
                USER,
                [
                    InputMediaDocument(media=BufferedInputFile(PDF, filename="a.pdf")),
                    InputMediaDocument(media=BufferedInputFile(PDF, filename="b.pdf")),
                ],
            )
            assert [m.document.file_name for m in album if m.document] == ["a.pdf", "b.pdf"]
            assert len({m.media_group_id for m in album}) == 1

            with pytest.raises(TelegramBadRequest, match="chat not found"):
                await bot.send_message(42, "nobody")
            assert await bot.get_updates(offset=update.update_id + 1, timeout=0) == []
        finally:
            await bot.session.close()

    asyncio.run(scenario())
    assert emulator.file_content(emulator.sent(USER)[1]["document"]["file_id"]) == PDF + b"order"
    assert emulator.pending_updates() == []


# --------------------------------------------------------------------------- pyTelegramBotAPI


@contextlib.contextmanager
def telebot_pointed_at(url: str) -> Iterator[None]:
    """telebot's URLs are module globals: point them at ``url``, put them back after."""
    saved = (apihelper.API_URL, apihelper.FILE_URL)
    apihelper.API_URL = f"{url}/bot{{0}}/{{1}}"
    apihelper.FILE_URL = f"{url}/file/bot{{0}}/{{1}}"
    try:
        yield
    finally:
        apihelper.API_URL, apihelper.FILE_URL = saved


@pytest.fixture
def telebot_at(server: LoopbackServer) -> Iterator[telebot.TeleBot]:
    with telebot_pointed_at(server.url):
        yield telebot.TeleBot(TOKEN, threaded=False)


def test_telebot_gets_me_sends_documents_and_reads_updates(
    telebot_at: telebot.TeleBot, emulator: TelegramEmulator
) -> None:
    bot = telebot_at
    emulator.send_text(USER, "/start")
    me = bot.get_me()
    assert (me.id, me.username) == (123456, "sheetledger_bot")

    [update] = bot.get_updates()
    assert update.message.text == "/start"
    assert update.message.entities[0].type == "bot_command"

    assert bot.send_message(USER, "Привет").text == "Привет"
    # requests sends this part without a Content-Type; the name decides the type.
    sent = bot.send_document(USER, PDF, visible_file_name="счёт.pdf", caption="счёт")
    assert sent.document.file_name == "счёт.pdf"
    assert sent.document.mime_type == "application/pdf"
    file = bot.get_file(sent.document.file_id)
    assert bot.download_file(file.file_path) == PDF

    album = bot.send_media_group(
        USER,
        [
            telebot.types.InputMediaDocument(io.BytesIO(PDF), caption="1"),
            telebot.types.InputMediaDocument(io.BytesIO(PDF + b"2")),
        ],
    )
    assert [m.caption for m in album] == ["1", None]
    assert emulator.file_content(album[1].document.file_id) == PDF + b"2"

    with pytest.raises(apihelper.ApiTelegramException) as refused:
        bot.send_message(42, "nobody")
    assert refused.value.error_code == 400
    assert refused.value.description == "Bad Request: chat not found"
    # telebot long-polls at least 20 s: give it something to find instead of waiting.
    emulator.send_text(USER, "ещё")
    [later] = bot.get_updates(offset=update.update_id + 1)
    assert later.message.text == "ещё" and len(emulator.pending_updates()) == 1
    assert [m.get("text", m.get("caption")) for m in emulator.sent(USER)] == [
        "Привет",
        "счёт",
        "1",
        None,
    ]


def test_telebot_globals_are_put_back_even_when_a_test_fails() -> None:
    before = (apihelper.API_URL, apihelper.FILE_URL)
    with pytest.raises(RuntimeError), telebot_pointed_at("http://127.0.0.1:9"):
        assert apihelper.API_URL == "http://127.0.0.1:9/bot{0}/{1}"
        raise RuntimeError("a failing test")
    assert before == (apihelper.API_URL, apihelper.FILE_URL)
