"""The Telegram emulator driven by the real python-telegram-bot 22 over loopback."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dtm
from collections.abc import AsyncIterator, Iterator

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, RetryAfter
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from sheetledger.sandbox.server import LoopbackServer
from sheetledger.sandbox.telegram import TelegramEmulator

TOKEN = "123456:TEST-token-abcdefghijklmnopqrstuvwxyz"
OWNER = 1_001_234_567_890  # more than 32 bits, as Telegram warns ids may be


@pytest.fixture(autouse=True)
def _timedelta_periods(monkeypatch: pytest.MonkeyPatch) -> None:
    # PTB 22 warns (PTBDeprecationWarning, an error under our pytest config) whenever an
    # int time period such as RetryAfter.retry_after is read, unless this opt-in is set.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(TelegramEmulator(TOKEN)) as srv:
        yield srv
    assert srv.crashes == []


def build_app(url: str, token: str = TOKEN) -> Application:  # type: ignore[type-arg]
    return (
        Application.builder()
        .token(token)
        .base_url(f"{url}/bot")
        .base_file_url(f"{url}/file/bot")
        .job_queue(None)
        .build()
    )


def make_bot(url: str, token: str = TOKEN) -> Bot:
    return Bot(token, base_url=f"{url}/bot", base_file_url=f"{url}/file/bot")


@contextlib.asynccontextmanager
async def polling(app: Application) -> AsyncIterator[Application]:  # type: ignore[type-arg]
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(timeout=dtm.timedelta(seconds=1))
        try:
            yield app
        finally:
            await app.updater.stop()
            await app.stop()


def test_echo_bot_replies_and_confirms_the_update(server: LoopbackServer) -> None:
    emulator: TelegramEmulator = server.emulator  # type: ignore[assignment]

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        await update.message.reply_text(f"echo: {update.message.text}")

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        await update.message.reply_text("welcome")

    async def scenario() -> tuple[list[dict], list[dict]]:
        app = build_app(server.url)
        app.add_handler(CommandHandler("start", start))
        app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
        async with polling(app):
            emulator.send_text(OWNER, "/start", first_name="Ирина", username="irina")
            emulator.send_text(OWNER, "1 200,50 такси вчера")
            sent = await asyncio.to_thread(emulator.wait_for_sent, OWNER, 2)
            last = emulator.pending_updates()
        return sent, last

    sent, _ = asyncio.run(scenario())
    assert [m["text"] for m in sent] == ["welcome", "echo: 1 200,50 такси вчера"]
    assert sent[0]["from"]["is_bot"] is True and sent[0]["chat"]["id"] == OWNER
    assert sent[1]["message_id"] > sent[0]["message_id"]
    # PTB's shutdown call confirmed everything it fetched.
    assert emulator.pending_updates() == []
    assert emulator.confirmed_offset == emulator.next_update_id
    assert emulator.counters.by_route["get_updates"] >= 2
    assert emulator.counters.by_kind["write"] >= 2


def test_inline_keyboard_press_answer_and_edit(server: LoopbackServer) -> None:
    emulator: TelegramEmulator = server.emulator  # type: ignore[assignment]

    async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        keyboard = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton("Такси", callback_data="cat:e91:3"),
                    InlineKeyboardButton("Отменить", callback_data="undo:e91"),
                ]
            ]
        )
        await update.message.reply_text("Записано: 1 200 ₽", reply_markup=keyboard)

    async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None and query.message is not None
        await query.answer("OK")
        await query.edit_message_text(f"Категория: {query.data}")

    async def scenario() -> list[dict]:
        app = build_app(server.url)
        app.add_handler(MessageHandler(filters.TEXT, on_text))
        app.add_handler(CallbackQueryHandler(on_button, pattern=r"^(cat|undo):"))
        async with polling(app):
            emulator.send_text(OWNER, "1200 такси")
            [reply] = await asyncio.to_thread(emulator.wait_for_sent, OWNER)
            with pytest.raises(LookupError, match="no button 'cat:e91:9'"):
                emulator.press_button(OWNER, reply["message_id"], "cat:e91:9")
            emulator.press_button(OWNER, reply["message_id"], "cat:e91:3")
            return await asyncio.to_thread(
                emulator.wait_for_sent,
                OWNER,
                predicate=lambda m: m["text"].startswith("Категория"),
            )

    [edited] = asyncio.run(scenario())
    assert edited["text"] == "Категория: cat:e91:3"
    assert "edit_date" in edited
    assert "reply_markup" not in edited  # an edit without reply_markup drops the keyboard
    [answer] = emulator.callback_answers
    assert answer["text"] == "OK" and answer["data"] == "cat:e91:3" and answer["user_id"] == OWNER
    assert len(emulator.sent(OWNER)) == 1  # edited in place, not a second message


def test_document_round_trip_both_ways(server: LoopbackServer) -> None:
    emulator: TelegramEmulator = server.emulator  # type: ignore[assignment]
    payload = "Дата;Сумма\r\n27.11.2026;1200,50\r\n".encode("cp1251") + bytes(range(256))
    downloaded: list[bytes] = []

    async def on_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None and update.message.document is not None
        file = await update.message.document.get_file()
        data = bytes(await file.download_as_bytearray())
        downloaded.append(data)
        await context.bot.send_document(
            update.message.chat_id, document=data, filename="echo.csv", caption="digest"
        )

    async def scenario() -> list[dict]:
        app = build_app(server.url)
        app.add_handler(MessageHandler(filters.Document.ALL, on_document))
        async with polling(app):
            emulator.send_document(OWNER, "выписка.csv", payload, "text/csv", caption="банк")
            return await asyncio.to_thread(emulator.wait_for_sent, OWNER)

    [reply] = asyncio.run(scenario())
    assert downloaded == [payload]
    assert reply["caption"] == "digest"
    assert reply["document"]["file_name"] == "echo.csv"
    assert reply["document"]["file_size"] == len(payload)
    assert emulator.file_content(reply["document"]["file_id"]) == payload


def test_photo_from_user_is_downloadable(server: LoopbackServer) -> None:
    emulator: TelegramEmulator = server.emulator  # type: ignore[assignment]
    picture = b"\xff\xd8\xff\xe0" + b"jpeg-ish" * 100

    async def scenario() -> bytes:
        message = emulator.send_photo(OWNER, picture, caption="чек", width=640, height=480)
        async with make_bot(server.url) as bot:
            [update] = await bot.get_updates()
            assert update.message is not None and update.message.caption == "чек"
            assert update.message.photo[-1].width == 640
            file = await bot.get_file(message["photo"][-1]["file_id"])
            sent = await bot.send_photo(OWNER, photo=update.message.photo[-1].file_id)
            assert sent.photo[-1].file_id == message["photo"][-1]["file_id"]
            return bytes(await file.download_as_bytearray())

    assert asyncio.run(scenario()) == picture


def test_update_fetched_but_not_confirmed_reaches_the_next_bot(server: LoopbackServer) -> None:
    emulator: TelegramEmulator = server.emulator  # type: ignore[assignment]
    message = emulator.send_text(OWNER, "3500 реклама")
    handled: list[int] = []

    async def first_bot_dies_mid_handler() -> int:
        async with make_bot(server.url) as bot:
            [update] = await bot.get_updates(timeout=0)
            return update.update_id  # and never calls getUpdates again: killed

    async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        handled.append(update.message.message_id)
        await update.message.reply_text("ok")

    async def second_bot() -> None:
        app = build_app(server.url)
        app.add_handler(MessageHandler(filters.TEXT, on_text))
        async with polling(app):
            await asyncio.to_thread(emulator.wait_for_sent, OWNER)

    update_id = asyncio.run(first_bot_dies_mid_handler())
    assert [u["update_id"] for u in emulator.pending_updates()] == [update_id]
    asyncio.run(second_bot())
    assert handled == [message["message_id"]]
    emulator.wait_until_confirmed(update_id, timeout=1)


def test_wrong_token_is_invalid_token(server: LoopbackServer) -> None:
    async def scenario() -> None:
        async with make_bot(server.url, token="123456:WRONG-token"):
            pass

    with pytest.raises(InvalidToken):
        asyncio.run(scenario())


def test_scripted_429_is_retry_after(server: LoopbackServer) -> None:
    emulator: TelegramEmulator = server.emulator  # type: ignore[assignment]
    emulator.open_chat(OWNER)
    emulator.rate_limit_next(retry_after=3, match="sendMessage")

    async def scenario() -> None:
        async with make_bot(server.url) as bot:
            with pytest.raises(RetryAfter) as caught:
                await bot.send_message(OWNER, "digest")
            assert caught.value.retry_after == dtm.timedelta(seconds=3)
            await bot.send_message(OWNER, "digest")  # the fault was used up

    asyncio.run(scenario())
    assert [m["text"] for m in emulator.sent(OWNER)] == ["digest"]


def test_bad_requests_carry_telegrams_descriptions(server: LoopbackServer) -> None:
    emulator: TelegramEmulator = server.emulator  # type: ignore[assignment]
    emulator.open_chat(OWNER)

    def keyboard(data: str) -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data=data)]])

    async def scenario() -> None:
        async with make_bot(server.url) as bot:
            with pytest.raises(BadRequest, match="Button_data_invalid"):
                await bot.send_message(OWNER, "x", reply_markup=keyboard("a" * 65))
            # 33 Cyrillic letters are 66 bytes: too long although only 33 characters.
            with pytest.raises(BadRequest, match="Button_data_invalid"):
                await bot.send_message(OWNER, "x", reply_markup=keyboard("я" * 33))
            ok = await bot.send_message(OWNER, "x", reply_markup=keyboard("a" * 64))
            with pytest.raises(BadRequest, match="Chat not found"):
                await bot.send_message(42, "x")
            with pytest.raises(BadRequest, match="Message is too long"):
                await bot.send_message(OWNER, "й" * 4097)
            await bot.send_message(OWNER, "й" * 4096)
            with pytest.raises(BadRequest, match="Message is not modified"):
                await bot.edit_message_text(
                    "x", chat_id=OWNER, message_id=ok.message_id, reply_markup=keyboard("a" * 64)
                )
            with pytest.raises(BadRequest, match="Message to edit not found"):
                await bot.edit_message_text("y", chat_id=OWNER, message_id=999)
            with pytest.raises(BadRequest, match="Can't parse entities"):
                await bot.send_message(OWNER, "<foo>1 200</foo>", parse_mode="HTML")
            with pytest.raises(BadRequest, match="reserved and must be escaped"):
                await bot.send_message(OWNER, "Итого 1200.50", parse_mode="MarkdownV2")
            html = await bot.send_message(OWNER, "<b>1 200 ₽</b> &lt;такси&gt;", parse_mode="HTML")
            assert html.text == "1 200 ₽ <такси>"
            with pytest.raises(BadRequest, match="Query is too old"):
                await bot.answer_callback_query("no-such-query")

    asyncio.run(scenario())
    # Refused calls stored nothing.
    assert [m["text"] for m in emulator.sent(OWNER)] == ["x", "й" * 4096, "1 200 ₽ <такси>"]


def test_blocked_user_is_forbidden_until_they_write_again(server: LoopbackServer) -> None:
    emulator: TelegramEmulator = server.emulator  # type: ignore[assignment]
    emulator.open_chat(OWNER)
    emulator.block_bot(OWNER)

    async def send() -> None:
        async with make_bot(server.url) as bot:
            await bot.send_message(OWNER, "Платёж оплачен")

    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        asyncio.run(send())
    emulator.send_text(OWNER, "/start")  # "Restart" in the client unblocks
    asyncio.run(send())
    assert len(emulator.sent(OWNER)) == 1


def test_webhook_makes_get_updates_conflict(server: LoopbackServer) -> None:
    async def scenario() -> None:
        async with make_bot(server.url) as bot:
            await bot.set_webhook("https://ledger.example/hook")
            assert (await bot.get_webhook_info()).url == "https://ledger.example/hook"
            with pytest.raises(Conflict, match="webhook is active"):
                await bot.get_updates()
            await bot.delete_webhook()
            assert await bot.get_updates() == ()

    asyncio.run(scenario())


def test_commands_and_chat_action(server: LoopbackServer) -> None:
    emulator: TelegramEmulator = server.emulator  # type: ignore[assignment]
    emulator.open_chat(OWNER)

    async def scenario() -> None:
        async with make_bot(server.url) as bot:
            await bot.set_my_commands([("report", "Отчёт за вчера"), ("undo", "Отменить")])
            commands = await bot.get_my_commands()
            assert [(c.command, c.description) for c in commands] == [
                ("report", "Отчёт за вчера"),
                ("undo", "Отменить"),
            ]
            with pytest.raises(BadRequest, match="Bot_command_invalid"):
                await bot.set_my_commands([("Report!", "bad")])
            await bot.delete_my_commands()
            assert await bot.get_my_commands() == ()
            assert await bot.send_chat_action(OWNER, "upload_document") is True

    asyncio.run(scenario())
    assert emulator.chat_actions[0]["action"] == "upload_document"
