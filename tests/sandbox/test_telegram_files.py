"""Files on the Telegram emulator as the Bot API treats them: attach://, MIME types, photo
sizes, size limits, and people sending documents and photos with captions."""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from sheetledger.sandbox.server import LoopbackServer
from sheetledger.sandbox.telegram import TelegramEmulator
from sheetledger.sandbox.telegram.files import MAX_REQUEST_BYTES, image_size, photo_steps
from sheetledger.sandbox.telegram.wire import header_params, parse_multipart

TOKEN = "123456:TEST-token-abcdefghijklmnopqrstuvwxyz"
USER = 5_000_000_001
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def png(width: int, height: int) -> bytes:
    """A real (solid black) PNG of that size, built with the standard library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = (b"\x00" + b"\x00\x00\x00" * width) * height
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def jpeg(width: int, height: int) -> bytes:
    """A JPEG's header as cameras write it: SOI, an APP0 (JFIF) segment, then the frame (SOF0)."""
    app0 = b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof0 = struct.pack(">BHHB", 8, height, width, 3) + b"\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    return (
        b"\xff\xd8"
        + b"\xff\xe0"
        + struct.pack(">H", len(app0) + 2)
        + app0
        + b"\xff\xc0"
        + struct.pack(">H", len(sof0) + 2)
        + sof0
        + b"\xff\xd9"
    )


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(TelegramEmulator(TOKEN, clock=lambda: 1_764_320_000.7)) as srv:
        srv.emulator.open_chat(USER)  # type: ignore[attr-defined]
        yield srv
    assert srv.crashes == []


@pytest.fixture
def emulator(server: LoopbackServer) -> TelegramEmulator:
    return server.emulator  # type: ignore[return-value]


def post(server: LoopbackServer, method: str, data: dict[str, Any], files: Any = None) -> Any:
    return requests.post(f"{server.url}/bot{TOKEN}/{method}", data=data, files=files, timeout=10)


def result(response: requests.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()["result"]


def refusal(response: requests.Response) -> tuple[int, str]:
    return response.status_code, response.json()["description"]


def sizes(photo: list[dict[str, Any]]) -> list[tuple[int, int]]:
    return [(p["width"], p["height"]) for p in photo]


# --------------------------------------------------------------------------- attach://


def test_attach_references_a_multipart_part_on_every_file_field(
    server: LoopbackServer, emulator: TelegramEmulator
) -> None:
    document = result(
        post(
            server,
            "sendDocument",
            {"chat_id": str(USER), "document": "attach://file0", "caption": "счёт"},
            {"file0": ("bill.pdf", PDF, "application/octet-stream")},
        )
    )["document"]
    assert document["file_name"] == "bill.pdf" and document["mime_type"] == "application/pdf"
    assert emulator.file_content(document["file_id"]) == PDF

    photo = result(
        post(
            server,
            "sendPhoto",
            {"chat_id": str(USER), "photo": "attach://shot"},
            {"shot": ("receipt.png", png(1600, 1200), "image/png")},
        )
    )["photo"]
    assert sizes(photo)[-1] == (1280, 960)

    media = [
        {"type": "document", "media": "attach://a", "caption": "платёжка 1"},
        {"type": "document", "media": "attach://b"},
        {"type": "document", "media": document["file_id"]},  # a file_id works beside them
    ]
    album = result(
        post(
            server,
            "sendMediaGroup",
            {"chat_id": str(USER), "media": json.dumps(media)},
            {"a": ("order-1.pdf", PDF), "b": ("order-2.pdf", PDF + b"2")},
        )
    )
    assert [m["document"].get("file_name") for m in album] == [
        "order-1.pdf",
        "order-2.pdf",
        "bill.pdf",
    ]
    assert album[0]["caption"] == "платёжка 1" and "caption" not in album[1]
    assert len({m["media_group_id"] for m in album}) == 1
    assert [m["message_id"] for m in album] == [3, 4, 5]
    assert emulator.file_content(album[1]["document"]["file_id"]) == PDF + b"2"


def test_attach_to_a_missing_part_and_bad_albums_are_refused_before_sending(
    server: LoopbackServer, emulator: TelegramEmulator
) -> None:
    chat = {"chat_id": str(USER)}
    missing = post(server, "sendDocument", {**chat, "document": "attach://nope"}, {"x": PDF})
    assert refusal(missing) == (400, "Bad Request: there is no document in the request")

    def album(media: list[dict[str, str]], files: Any = None) -> tuple[int, str]:
        return refusal(post(server, "sendMediaGroup", {**chat, "media": json.dumps(media)}, files))

    two = {"a": ("a.pdf", PDF), "b": ("b.png", png(10, 10))}
    assert album([{"type": "document", "media": "attach://zzz"}], two) == (
        400,
        "Bad Request: can't parse InputMedia: media not found",
    )
    mixed = [{"type": "document", "media": "attach://a"}, {"type": "photo", "media": "attach://b"}]
    assert album(mixed, two) == (400, "Bad Request: document can't be mixed with other media types")
    eleven = [{"type": "document", "media": "attach://a"}] * 11
    assert album(eleven, two) == (400, "Bad Request: too much messages to send as an album")
    not_json = refusal(post(server, "sendMediaGroup", {**chat, "media": "[{"}))
    assert not_json == (400, "Bad Request: can't parse media JSON object")
    assert emulator.sent(USER) == [] and emulator.files == {}


# --------------------------------------------------------------------------- MIME types


@pytest.mark.parametrize(
    ("part", "expected"),
    [
        pytest.param(("bill.pdf", PDF), "application/pdf", id="no-content-type-pdf-by-name"),
        pytest.param(
            ("bill.pdf", PDF, "application/octet-stream"), "application/pdf", id="octet-stream"
        ),
        pytest.param(("statement.txt", b"1C", "text/csv"), "text/csv", id="the-part-type-wins"),
        pytest.param(
            ("выписка.XLSX", b"PK\x03\x04"),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            id="xlsx-by-name",
        ),
    ],
)
def test_document_mime_type_comes_from_the_part_else_the_name(
    server: LoopbackServer, part: tuple[Any, ...], expected: str | None
) -> None:
    document = result(post(server, "sendDocument", {"chat_id": str(USER)}, {"document": part}))[
        "document"
    ]
    assert document["file_name"] == part[0]
    assert document["mime_type"] == expected


def test_file_names_arrive_in_every_spelling_clients_use() -> None:
    raw = "платёжка.pdf".encode()
    assert header_params('form-data; name="d"; filename="' + raw.decode() + '"') == {
        "name": "d",
        "filename": "платёжка.pdf",
    }
    starred = 'form-data; name="d"; filename="x.pdf"; filename*=utf-8\'\'%D0%BF%D0%BB.pdf'
    assert header_params(starred)["filename"] == "пл.pdf"
    assert header_params('form-data; name="d"; filename="a%22b\\".pdf"')["filename"] == 'a"b".pdf'
    body = (
        b'--XyZ\r\nContent-Disposition: form-data; name="chat_id"\r\n\r\n42\r\n'
        b'--XyZ\r\nContent-Disposition: form-data; name="document"; filename="'
        + raw
        + b'"\r\n\r\n%PDF\r\n\r\n--XyZ--\r\n'
    )
    parsed = parse_multipart('multipart/form-data; boundary="XyZ"', body)
    assert parsed == {
        "chat_id": "42",
        "document": {"filename": "платёжка.pdf", "content": b"%PDF\r\n", "content_type": None},
    }


# --------------------------------------------------------------------------- photo sizes


def test_image_headers_give_the_real_size() -> None:
    assert image_size(png(1600, 1200)) == (1600, 1200)
    assert image_size(jpeg(4032, 3024)) == (4032, 3024)
    assert image_size(b"GIF89a" + struct.pack("<HH", 300, 200) + b"\x00" * 8) == (300, 200)
    assert image_size(PDF) is None
    assert photo_steps(4000, 3000) == [(90, 68), (320, 240), (800, 600), (1280, 960)]
    assert photo_steps(640, 480) == [(90, 68), (320, 240), (640, 480)]
    assert photo_steps(1080, 1920) == [(51, 90), (180, 320), (450, 800), (720, 1280)]
    assert photo_steps(60, 40) == [(60, 40)]


def test_bot_photo_has_telegrams_sizes_and_a_non_image_is_refused(
    server: LoopbackServer, emulator: TelegramEmulator
) -> None:
    photo = result(
        post(server, "sendPhoto", {"chat_id": str(USER)}, {"photo": ("p.png", png(1600, 1200))})
    )["photo"]
    assert sizes(photo) == [(90, 68), (320, 240), (800, 600), (1280, 960)]
    assert len({p["file_id"] for p in photo}) == len({p["file_unique_id"] for p in photo}) == 4
    again = result(post(server, "sendPhoto", {"chat_id": str(USER), "photo": photo[1]["file_id"]}))
    assert again["photo"] == photo  # any size's file_id sends the whole photo

    broken = post(server, "sendPhoto", {"chat_id": str(USER)}, {"photo": ("p.jpg", PDF)})
    assert refusal(broken) == (400, "Bad Request: IMAGE_PROCESS_FAILED")
    banner = post(server, "sendPhoto", {"chat_id": str(USER)}, {"photo": ("b.png", png(2100, 100))})
    assert refusal(banner) == (400, "Bad Request: PHOTO_INVALID_DIMENSIONS")
    assert len(emulator.sent(USER)) == 2


# --------------------------------------------------------------------------- limits


def test_get_file_and_download_and_the_20_mb_download_limit(
    server: LoopbackServer, emulator: TelegramEmulator
) -> None:
    small = emulator.send_document(USER, "bill.pdf", PDF)["document"]
    file = result(post(server, "getFile", {"file_id": small["file_id"]}))
    assert file["file_size"] == len(PDF) and file["file_path"].endswith(".pdf")
    download = requests.get(f"{server.url}/file/bot{TOKEN}/{file['file_path']}", timeout=10)
    assert download.status_code == 200 and download.content == PDF
    assert download.headers["Content-Type"] == "application/pdf"

    big = emulator.send_document(USER, "scan.pdf", b"\x00" * (20 * 1024 * 1024 + 1))["document"]
    too_big = post(server, "getFile", {"file_id": big["file_id"]})
    assert refusal(too_big) == (400, "Bad Request: file is too big")
    exactly = emulator.send_document(USER, "scan.pdf", b"\x00" * (20 * 1024 * 1024))["document"]
    assert result(post(server, "getFile", {"file_id": exactly["file_id"]}))["file_size"] == (
        20 * 1024 * 1024
    )


def test_a_body_over_the_bot_api_limit_gets_413(
    server: LoopbackServer, emulator: TelegramEmulator
) -> None:
    assert MAX_REQUEST_BYTES == 50 * 1024 * 1024
    huge = post(
        server,
        "sendDocument",
        {"chat_id": str(USER)},
        {"document": ("video.pdf", b"\x00" * MAX_REQUEST_BYTES)},
    )
    assert huge.status_code == 413
    assert huge.json() == {
        "ok": False,
        "error_code": 413,
        "description": "Request Entity Too Large",
    }
    assert emulator.sent(USER) == [] and emulator.files == {}
    assert emulator.counters.by_route["send_document_api"] == 0  # refused before the method


# --------------------------------------------------------------------------- people


def test_people_send_a_pdf_and_a_photo_with_captions_over_the_control_side(
    server: LoopbackServer, emulator: TelegramEmulator
) -> None:
    control = f"{server.url}/_sandbox/users/{USER}"
    order = requests.post(
        f"{control}/documents",
        data={"caption": "платёжка №7 на 12 500,00"},
        files={"document": ("платёжка-7.pdf", PDF)},  # no part type, as a browser may send
        timeout=10,
    )
    assert order.status_code == 201, order.text
    photo = requests.post(
        f"{control}/photos",
        data={"caption": "чек 1 200"},
        files={"photo": ("IMG_0001.JPG", jpeg(4032, 3024), "image/jpeg")},
        timeout=10,
    )
    assert photo.status_code == 201, photo.text
    not_an_image = requests.post(f"{control}/photos", files={"photo": ("x.png", PDF)}, timeout=10)
    assert not_an_image.status_code == 400 and "PNG, JPEG" in not_an_image.json()["error"]

    updates = result(requests.post(f"{server.url}/bot{TOKEN}/getUpdates", timeout=10))
    document, picture = (u["message"] for u in updates)
    assert document["caption"] == "платёжка №7 на 12 500,00"
    assert document["document"]["file_name"] == "платёжка-7.pdf"
    assert document["document"]["mime_type"] == "application/pdf"
    assert picture["caption"] == "чек 1 200"
    assert sizes(picture["photo"]) == [(90, 68), (320, 240), (800, 600), (1280, 960)]
    largest = result(post(server, "getFile", {"file_id": picture["photo"][-1]["file_id"]}))
    fetched = requests.get(f"{server.url}/file/bot{TOKEN}/{largest['file_path']}", timeout=10)
    assert fetched.content == jpeg(4032, 3024)


def test_people_photo_in_process_reads_the_image_or_takes_a_given_size(
    emulator: TelegramEmulator,
) -> None:
    message = emulator.send_photo(USER, png(640, 480), caption="чек")
    assert sizes(message["photo"]) == [(90, 68), (320, 240), (640, 480)]
    forced = emulator.send_photo(USER, b"not an image", width=100, height=50)
    assert sizes(forced["photo"]) == [(90, 45), (100, 50)]
    with pytest.raises(ValueError, match="PNG, JPEG"):
        emulator.send_photo(USER, b"not an image")


def test_people_send_an_album_one_message_per_file_sharing_a_group(
    server: LoopbackServer, emulator: TelegramEmulator
) -> None:
    orders = requests.post(
        f"{server.url}/_sandbox/users/{USER}/albums",
        data={"caption": "платёжки на сегодня"},
        files={"a": ("пп-101.pdf", PDF), "b": ("пп-102.pdf", PDF + b"102")},
        timeout=10,
    )
    assert orders.status_code == 201, orders.text
    updates = result(requests.post(f"{server.url}/bot{TOKEN}/getUpdates", timeout=10))
    first, second = (u["message"] for u in updates)
    assert first["media_group_id"] == second["media_group_id"]
    assert first["caption"] == "платёжки на сегодня" and "caption" not in second
    assert [m["document"]["file_name"] for m in (first, second)] == ["пп-101.pdf", "пп-102.pdf"]
    assert {m["document"]["mime_type"] for m in (first, second)} == {"application/pdf"}
    assert emulator.file_content(second["document"]["file_id"]) == PDF + b"102"

    photos = emulator.send_album(
        USER, [("1.png", png(640, 480)), ("2.png", png(90, 90))], kind="photo"
    )
    assert [sizes(m["photo"]) for m in photos] == [[(90, 68), (320, 240), (640, 480)], [(90, 90)]]
    assert photos[0]["media_group_id"] != first["media_group_id"]
    with pytest.raises(ValueError, match="2 to 10"):
        emulator.send_album(USER, [("a.pdf", PDF)])
    with pytest.raises(ValueError, match="PNG, JPEG"):
        emulator.send_album(USER, [("a.pdf", PDF), ("b.png", png(9, 9))], kind="photo")
    refused = requests.post(
        f"{server.url}/_sandbox/users/{USER}/albums",
        json={"files": [{"filename": "x"}]},
        timeout=10,
    )
    assert refused.status_code == 400 and "content_base64" in refused.json()["error"]


def test_photos_and_their_sizes_survive_a_state_round_trip(emulator: TelegramEmulator) -> None:
    message = emulator.send_photo(USER, png(1600, 1200), caption="чек")
    restored = TelegramEmulator(TOKEN)
    restored.load_state(json.loads(json.dumps(emulator.state())))
    with LoopbackServer(restored) as srv:
        smallest = message["photo"][0]["file_id"]
        again = result(post(srv, "sendPhoto", {"chat_id": str(USER), "photo": smallest}))
    assert again["photo"] == message["photo"]
    assert restored.file_content(message["photo"][-1]["file_id"]) == png(1600, 1200)
