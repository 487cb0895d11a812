"""A bill sent as a PHOTO end to end: the bot takes the largest of the sizes Telegram keeps,
and the JPEG lands in Drive byte for byte, linked from the one order it makes.

Real python-telegram-bot, gspread and google-auth against the emulators. Telegram keeps
a photo in several sizes, each its own file; the emulator serves the uploaded bytes for
every size, so the test gives the smaller sizes other bytes (as Telegram's resampled
copies are): only the largest one's bytes in Drive prove the largest was taken.
"""

from __future__ import annotations

import os
import struct

from sheetledger.config import Config
from sheetledger.connect import build_drive, build_google
from sheetledger.orders.model import OrderEvent
from sheetledger.sandbox.runner import SUPPLY_ID, Sandbox
from sheetledger.store import LocalState
from tests.bot.botkit import RunningBot, add_deal
from tests.bot.test_bot_orders import (
    CAPTION,
    News,
    last,
    order_bot,
    press,
    wait_edited,
    with_folder,
)

os.environ.setdefault("PTB_TIMEDELTA", "true")


def jpeg(width: int, height: int, body: bytes) -> bytes:
    """A JPEG's header (SOI, JFIF, a baseline frame of ``width`` x ``height``), ``body``, EOI."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    components = b"\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, height, width, 3) + components
    return b"\xff\xd8" + app0 + sof0 + body + b"\xff\xd9"


PHOTO = jpeg(2000, 1500, bytes(range(256)) * 300)


def test_a_photo_bill_takes_the_largest_size_and_is_in_drive_byte_for_byte(
    sandbox: tuple[Sandbox, Config], state: LocalState
) -> None:
    box, config = sandbox
    config = with_folder(box, config)
    add_deal(config, 31_000_777, "1045")
    # Sent before the bot polls, so the smaller sizes can be made what Telegram makes them.
    sent = box.telegram.send_photo(SUPPLY_ID, PHOTO, CAPTION)
    sizes = sent["photo"]
    assert len(sizes) >= 3 and sizes[-1]["width"] == 1280  # Telegram's largest: 1280 px
    with box.telegram.lock:
        for size in sizes[:-1]:
            stored = box.telegram.files[size["file_id"]]
            stored["content"] = b"\xff\xd8" + b"small" * (len(PHOTO) // 5) + b"\xff\xd9"
    news = News()
    bot, desk = order_bot(config, state, news)
    with RunningBot(bot):
        asked = last(box, SUPPLY_ID, 1)
        assert "12 000" in asked["text"] and "Сделка: № 1045" in asked["text"]
        press(box, SUPPLY_ID, asked, "Прочее")
        shown = wait_edited(box, SUPPLY_ID, 0, "проверьте")
        press(box, SUPPLY_ID, shown, "✅ Отправить бухгалтеру")
        done = wait_edited(box, SUPPLY_ID, 0, "отправлена бухгалтеру")

    orders = desk.orders()
    assert len(orders) == 1
    order = orders[0]
    assert order.id in done["text"] and order.deal_id == 31_000_777
    assert news.told == [(order.id, OrderEvent.CREATED)]
    stored = box.sheets.files_in(config.orders.drive_folder_id or "")
    assert len(stored) == 1
    bill = stored[0]
    assert bill.name.startswith(order.id) and bill.name.endswith(".jpg")
    assert bill.mime_type == "image/jpeg"
    assert bill.id in order.draft.bill_link
    drive = build_drive(config, build_google(config))
    assert drive.download(bill.id) == PHOTO  # the largest size, byte for byte
