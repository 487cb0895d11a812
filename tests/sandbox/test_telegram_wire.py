"""The Telegram emulator on the wire: offsets, long polling, conflicts, bodies, control side."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from sheetledger.sandbox.server import LoopbackServer
from sheetledger.sandbox.telegram import TelegramEmulator, TelegramTimeout

TOKEN = "123456:TEST-token-abcdefghijklmnopqrstuvwxyz"
USER = 5_000_000_001


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(TelegramEmulator(TOKEN, clock=lambda: 1_764_320_000.7)) as srv:
        yield srv
    assert srv.crashes == []


@pytest.fixture
def emulator(server: LoopbackServer) -> TelegramEmulator:
    return server.emulator  # type: ignore[return-value]


def call(server: LoopbackServer, method: str, **params: Any) -> requests.Response:
    """A Bot API call the way PTB sends it: urlencoded, non-strings JSON-encoded."""
    data = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
    return requests.post(f"{server.url}/bot{TOKEN}/{method}", data=data or None, timeout=10)


def result(response: requests.Response) -> Any:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ok"] is True
    return body["result"]


def test_get_updates_redelivers_until_an_offset_confirms(
    server: LoopbackServer, emulator: TelegramEmulator
) -> None:
    sent = emulator.send_text(USER, "1200 такси", first_name="Ирина")
    first = result(call(server, "getUpdates"))
    again = result(call(server, "getUpdates", offset=0))
    assert first == again and len(first) == 1
    update = first[0]
    assert update["message"]["text"] == "1200 такси"
    assert update["message"]["message_id"] == sent["message_id"]
    assert update["message"]["date"] == 1_764_320_000  # unix seconds, an int
    assert update["message"]["chat"] == {"id": USER, "type": "private", "first_name": "Ирина"}

    emulator.send_text(USER, "3500 реклама")
    confirmed = result(call(server, "getUpdates", offset=update["update_id"] + 1))
    assert [u["message"]["text"] for u in confirmed] == ["3500 реклама"]
    assert confirmed[0]["update_id"] == update["update_id"] + 1
    assert emulator.confirmed_offset == update["update_id"] + 1
    assert result(call(server, "getUpdates", offset=confirmed[0]["update_id"] + 1)) == []
    assert emulator.pending_updates() == []


def test_negative_offset_and_limit(server: LoopbackServer, emulator: TelegramEmulator) -> None:
    for text in ("a", "b", "c", "d"):
        emulator.send_text(USER, text)
    assert [u["message"]["text"] for u in result(call(server, "getUpdates", limit=2))] == ["a", "b"]
    last_two = result(call(server, "getUpdates", offset=-2))
    assert [u["message"]["text"] for u in last_two] == ["c", "d"]
    assert [u["message"]["text"] for u in emulator.pending_updates()] == ["c", "d"]


def test_long_poll_returns_as_soon_as_an_update_arrives(
    server: LoopbackServer, emulator: TelegramEmulator
) -> None:
    def user_writes_once_the_poll_waits() -> None:
        emulator.wait_for_poll(timeout=5)
        emulator.send_text(USER, "пришло")

    writer = threading.Thread(target=user_writes_once_the_poll_waits)
    writer.start()
    started = time.monotonic()
    updates = result(call(server, "getUpdates", timeout=20))
    elapsed = time.monotonic() - started
    writer.join(5)
    assert [u["message"]["text"] for u in updates] == ["пришло"]
    assert elapsed < 10  # woken by the update, not by the 20 s timeout


def test_long_poll_without_updates_returns_empty_at_its_timeout(server: LoopbackServer) -> None:
    started = time.monotonic()
    assert result(call(server, "getUpdates", timeout=0.3)) == []
    assert time.monotonic() - started >= 0.3


def test_second_poller_terminates_the_first_with_409(
    server: LoopbackServer, emulator: TelegramEmulator
) -> None:
    answers: list[requests.Response] = []
    first = threading.Thread(target=lambda: answers.append(call(server, "getUpdates", timeout=20)))
    first.start()
    emulator.wait_for_poll(timeout=5)
    assert result(call(server, "getUpdates", timeout=0)) == []
    first.join(5)
    [answer] = answers
    assert answer.status_code == 409
    assert answer.json() == {
        "ok": False,
        "error_code": 409,
        "description": "Conflict: terminated by other getUpdates request; make sure that only "
        "one bot instance is running",
    }


def test_allowed_updates_is_sticky_and_only_shapes_new_updates(
    server: LoopbackServer, emulator: TelegramEmulator
) -> None:
    message = emulator.send_text(USER, "3500 реклама")
    emulator.edit_text(USER, message["message_id"], "3600 реклама")  # created before the filter
    [plain, edited] = result(call(server, "getUpdates", allowed_updates=["message"]))
    assert "message" in plain and edited["edited_message"]["text"] == "3600 реклама"
    emulator.edit_text(USER, message["message_id"], "3700 реклама")
    emulator.send_text(USER, "ещё")
    # No allowed_updates this time: the previous setting stays.
    updates = result(call(server, "getUpdates", offset=edited["update_id"] + 1))
    assert [list(u)[1] for u in updates] == ["message"]
    assert emulator.dropped_updates == 1


def test_user_commands_carry_bot_command_entities_in_utf16(emulator: TelegramEmulator) -> None:
    message = emulator.send_text(USER, "💸 /report@sheetledger_bot вчера")
    assert message["entities"] == [{"offset": 3, "length": 23, "type": "bot_command"}]
    assert "entities" not in emulator.send_text(USER, "1200 такси")


def test_group_privacy_mode(server: LoopbackServer, emulator: TelegramEmulator) -> None:
    group = -1_001_234_567_890
    emulator.send_text(USER, "3500 реклама", chat_id=group, chat_type="supergroup", title="Бух")
    emulator.send_text(USER, "/report", chat_id=group)
    emulator.send_text(USER, "эй @sheetledger_bot", chat_id=group)
    texts = [u["message"]["text"] for u in result(call(server, "getUpdates"))]
    assert texts == ["/report", "эй @sheetledger_bot"]
    chat = emulator.chat_history(group)[0]["chat"]
    assert chat == {"id": group, "type": "supergroup", "title": "Бух"}
    with pytest.raises(ValueError, match="negative"):
        emulator.send_text(USER, "x", chat_id=77, chat_type="group")


def test_json_multipart_and_query_string_bodies(
    server: LoopbackServer, emulator: TelegramEmulator
) -> None:
    emulator.open_chat(USER)
    url = f"{server.url}/bot{TOKEN}"
    markup = {"inline_keyboard": [[{"text": "OK", "callback_data": "ok"}]]}
    as_json = requests.post(
        f"{url}/sendMessage", json={"chat_id": USER, "text": "json", "reply_markup": markup}
    )
    assert result(as_json)["reply_markup"] == markup
    as_multipart = requests.post(
        f"{url}/sendDocument",
        data={"chat_id": str(USER), "caption": "счёт"},
        files={"document": ("bill.pdf", b"%PDF-1.4 fake", "application/pdf")},
    )
    document = result(as_multipart)["document"]
    assert document["mime_type"] == "application/pdf" and document["file_name"] == "bill.pdf"
    as_query = requests.get(f"{url}/SENDMESSAGE", params={"chat_id": USER, "text": "query"})
    assert result(as_query)["text"] == "query"  # method names are case-insensitive
    file = result(call(server, "getFile", file_id=document["file_id"]))
    download = requests.get(f"{server.url}/file/bot{TOKEN.replace(':', '%3A')}/{file['file_path']}")
    assert download.status_code == 200 and download.content == b"%PDF-1.4 fake"
    assert [m.get("text", m.get("caption")) for m in emulator.sent(USER)] == [
        "json",
        "счёт",
        "query",
    ]


def test_error_statuses_and_bodies(server: LoopbackServer, emulator: TelegramEmulator) -> None:
    wrong = requests.post(f"{server.url}/bot123456:nope/getMe", timeout=5)
    assert wrong.status_code == 401
    assert wrong.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    unknown = call(server, "sendTelepathy")
    assert unknown.status_code == 404 and unknown.json()["description"] == "Not Found"
    emulator.open_chat(USER)
    too_long = call(
        server,
        "sendMessage",
        chat_id=USER,
        text="x",
        reply_markup={"inline_keyboard": [[{"text": "x", "callback_data": "d" * 65}]]},
    )
    assert too_long.status_code == 400
    assert too_long.json()["description"] == "Bad Request: BUTTON_DATA_INVALID"
    emulator.rate_limit_next(retry_after=7, match="sendMessage")
    limited = call(server, "sendMessage", chat_id=USER, text="x")
    assert limited.status_code == 429
    assert limited.json()["parameters"] == {"retry_after": 7}
    emulator.fail_next(502)
    assert call(server, "getMe").status_code == 502
    me = result(call(server, "getMe"))
    assert me["id"] == 123456 and me["is_bot"] is True and me["username"] == "sheetledger_bot"
    assert emulator.sent(USER) == []


def test_edits_and_answers_from_the_bot_side(
    server: LoopbackServer, emulator: TelegramEmulator
) -> None:
    emulator.open_chat(USER)
    markup = {"inline_keyboard": [[{"text": "Такси", "callback_data": "cat:1"}]]}
    message = result(
        call(server, "sendMessage", chat_id=USER, text="Записано", reply_markup=markup)
    )
    query = emulator.press_button(USER, message["message_id"], "cat:1")
    assert query["message"]["reply_markup"] == markup
    assert result(call(server, "answerCallbackQuery", callback_query_id=query["id"])) is True
    twice = call(server, "answerCallbackQuery", callback_query_id=query["id"])
    assert twice.status_code == 400 and "query is too old" in twice.json()["description"]
    stripped = result(
        call(server, "editMessageReplyMarkup", chat_id=USER, message_id=message["message_id"])
    )
    assert "reply_markup" not in stripped
    with pytest.raises(LookupError, match="no button"):
        emulator.press_button(USER, message["message_id"], "cat:1")
    user_message = emulator.send_text(USER, "1200")
    foreign = call(
        server, "editMessageText", chat_id=USER, message_id=user_message["message_id"], text="x"
    )
    assert foreign.json()["description"] == "Bad Request: message can't be edited"
    assert user_message["message_id"] == message["message_id"] + 1  # one id sequence per chat


def test_wait_for_sent_times_out_with_what_was_sent(emulator: TelegramEmulator) -> None:
    with pytest.raises(TelegramTimeout, match="got 0"):
        emulator.wait_for_sent(USER, timeout=0.05)


def test_http_control_side(server: LoopbackServer, emulator: TelegramEmulator) -> None:
    control = f"{server.url}/_sandbox"
    posted = requests.post(f"{control}/users/{USER}/messages", json={"text": "/start"}, timeout=5)
    assert posted.status_code == 201 and posted.json()["entities"][0]["type"] == "bot_command"

    def bot_replies() -> None:
        markup = {"inline_keyboard": [[{"text": "Оплачено", "callback_data": "paid:7"}]]}
        call(server, "sendMessage", chat_id=USER, text="Счёт №7", reply_markup=markup)

    # With count, the control GET waits (on the Condition) until the bot has sent that many.
    replier = threading.Thread(target=bot_replies)
    replier.start()
    sent = requests.get(f"{control}/chats/{USER}/sent", params={"count": 1, "timeout": 5})
    replier.join(5)
    assert sent.status_code == 200 and sent.json()[0]["text"] == "Счёт №7"
    message_id = sent.json()[0]["message_id"]

    missing = requests.post(
        f"{control}/users/{USER}/press", json={"message_id": message_id, "callback_data": "x"}
    )
    assert missing.status_code == 404 and "paid:7" in missing.json()["error"]
    pressed = requests.post(
        f"{control}/users/{USER}/press", json={"message_id": message_id, "callback_data": "paid:7"}
    )
    assert pressed.status_code == 201 and pressed.json()["data"] == "paid:7"

    doc = requests.post(
        f"{control}/users/{USER}/documents",
        json={"filename": "st.txt", "content_base64": base64.b64encode(b"1C").decode()},
    )
    file_id = doc.json()["document"]["file_id"]
    assert requests.get(f"{control}/files/{file_id}").content == b"1C"

    assert requests.post(f"{control}/users/{USER}/block").status_code == 204
    blocked = call(server, "sendMessage", chat_id=USER, text="x")
    assert blocked.status_code == 403
    assert blocked.json()["description"] == "Forbidden: bot was blocked by the user"
    assert requests.delete(f"{control}/users/{USER}/block").status_code == 204

    updates = requests.get(f"{control}/updates").json()
    assert [list(u)[1] for u in updates["pending"]] == ["message", "callback_query", "message"]
    too_few = requests.get(f"{control}/chats/{USER}/sent", params={"count": 5, "timeout": 0.05})
    assert too_few.status_code == 408
    assert requests.post(f"{control}/rate_limit", json={"retry_after": 2}).status_code == 201
    assert call(server, "getMe").json()["parameters"]["retry_after"] == 2
    counters = requests.get(f"{control}/counters").json()
    assert counters["by_route"]["send_message"] >= 2


def test_state_round_trip(server: LoopbackServer, emulator: TelegramEmulator) -> None:
    emulator.send_text(USER, "1200 такси")
    emulator.send_document(USER, "a.csv", b"\x00\x01binary", "text/csv")
    result(call(server, "sendMessage", chat_id=USER, text="ok"))
    emulator.block_bot(USER)
    state = json.loads(json.dumps(emulator.state()))
    restored = TelegramEmulator(TOKEN)
    restored.load_state(state)
    assert restored.pending_updates() == emulator.pending_updates()
    assert restored.sent(USER) == emulator.sent(USER)
    file_id = emulator.pending_updates()[1]["message"]["document"]["file_id"]
    assert restored.file_content(file_id) == b"\x00\x01binary"
    assert restored.state() == state
    # Ids continue where they stopped.
    assert restored.send_text(USER, "next")["message_id"] == 4
