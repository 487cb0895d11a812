"""Files as Telegram stores them: ids, paths, MIME types, image sizes and message objects."""

from __future__ import annotations

import mimetypes
import struct

from sheetledger.sandbox.telegram.wire import JSON

MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024  # getFile refuses bigger files: "file is too big"
MAX_REQUEST_BYTES = 50 * 1024 * 1024  # what a bot may upload; a bigger body gets 413
# Telegram keeps a photo in a few sizes, each fitting a square of this side (the largest,
# "y", is what a full-quality photo is shrunk to); smaller originals stop at their own size.
PHOTO_SIDES = (("s", 90), ("m", 320), ("x", 800), ("y", 1280))
# A client that does not know a file's type says so; Telegram then goes by the name.
UNKNOWN_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream"})
# The types of the files this business exchanges, fixed here because ``mimetypes`` also
# reads the machine's /etc/mime.types, which differs between hosts.
KNOWN_TYPES = {
    ".pdf": "application/pdf",
    ".csv": "text/csv",
    ".txt": "text/plain",
    ".xml": "application/xml",
    ".json": "application/json",
    ".zip": "application/zip",
    ".xls": "application/vnd.ms-excel",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".doc": "application/msword",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
}
JPEG_FRAME_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def new_file(
    number: int,
    content: bytes,
    *,
    kind: str,
    file_name: str | None,
    mime_type: str | None,
    extension: str | None = None,
) -> JSON:
    """The stored record of upload ``number``: Telegram-like ids, a file path, the bytes."""
    prefix = {"photo": "AgACAgIAAxkBAAI", "document": "BQACAgIAAxkBAAI"}[kind]
    folder = {"photo": "photos", "document": "documents"}[kind]
    if extension is None:
        extension = ""
        if file_name and "." in file_name:
            extension = "." + file_name.rsplit(".", 1)[1]
        elif kind == "photo":
            extension = ".jpg"
    return {
        "file_id": f"{prefix}{number:08d}",
        "file_unique_id": f"AgAD{number:06d}",
        "file_size": len(content),
        "file_path": f"{folder}/file_{number}{extension}",
        "file_name": file_name,
        "mime_type": mime_type,
        "kind": kind,
        "content": content,
    }


def document_mime(content_type: str | None, file_name: str | None) -> str | None:
    """A document's ``mime_type``: the type the sender gave, else the one its name implies.

    aiogram (aiohttp) labels every upload ``application/octet-stream`` and requests sends
    none for a bare ``(name, bytes)`` part; Telegram still calls ``bill.pdf``
    ``application/pdf``.
    """
    given = (content_type or "").split(";")[0].strip().lower()
    if given not in UNKNOWN_TYPES:
        return given
    name = (file_name or "").lower()
    extension = name[name.rfind(".") :] if "." in name else ""
    guessed = KNOWN_TYPES.get(extension) or mimetypes.guess_type(name)[0]
    return guessed or given or None


def image_size(content: bytes) -> tuple[int, int] | None:
    """Width and height from a PNG, JPEG, GIF or WebP header; None when it is none of them."""
    if content.startswith(b"\x89PNG\r\n\x1a\n") and content[12:16] == b"IHDR":
        width, height = struct.unpack(">II", content[16:24])
        return int(width), int(height)
    if content[:6] in (b"GIF87a", b"GIF89a") and len(content) >= 10:
        width, height = struct.unpack("<HH", content[6:10])
        return int(width), int(height)
    if content.startswith(b"RIFF") and content[8:12] == b"WEBP":
        return _webp_size(content)
    if content.startswith(b"\xff\xd8"):
        return _jpeg_size(content)
    return None


def _jpeg_size(content: bytes) -> tuple[int, int] | None:
    """Walk the JPEG segments to the frame header (SOFn), which holds height then width."""
    at = 2
    while at + 4 <= len(content):
        if content[at] != 0xFF:
            return None
        marker = content[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker in (0x01, *range(0xD0, 0xDA)):  # standalone markers carry no length
            at += 2
            continue
        (length,) = struct.unpack(">H", content[at + 2 : at + 4])
        if marker in JPEG_FRAME_MARKERS and at + 9 <= len(content):
            height, width = struct.unpack(">HH", content[at + 5 : at + 9])
            return (int(width), int(height)) if width and height else None
        at += 2 + length
    return None


def _webp_size(content: bytes) -> tuple[int, int] | None:
    chunk = content[12:16]
    if chunk == b"VP8X" and len(content) >= 30:
        width = int.from_bytes(content[24:27], "little") + 1
        height = int.from_bytes(content[27:30], "little") + 1
        return width, height
    if chunk == b"VP8 " and len(content) >= 30:
        width, height = struct.unpack("<HH", content[26:30])
        return int(width) & 0x3FFF, int(height) & 0x3FFF
    if chunk == b"VP8L" and len(content) >= 25:
        bits = int.from_bytes(content[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None


def photo_steps(width: int, height: int) -> list[tuple[int, int]]:
    """The sizes Telegram keeps of a ``width`` x ``height`` photo, smallest first.

    A 4000x3000 photo becomes 90x68, 320x240, 800x600 and 1280x960; a 640x480 one
    90x68, 320x240 and 640x480.
    """
    steps: list[tuple[int, int]] = []
    longest = max(width, height)
    for _, side in PHOTO_SIDES:
        if longest <= side:
            steps.append((width, height))
            break
        scale = side / longest
        steps.append((max(1, round(width * scale)), max(1, round(height * scale))))
    return steps


def document_object(stored: JSON) -> JSON:
    """The ``Document`` a message carries."""
    document = {
        "file_id": stored["file_id"],
        "file_unique_id": stored["file_unique_id"],
        "file_size": stored["file_size"],
    }
    if stored.get("file_name"):
        document["file_name"] = stored["file_name"]
    if stored.get("mime_type"):
        document["mime_type"] = stored["mime_type"]
    return document


def photo_size(stored: JSON) -> JSON:
    """One ``PhotoSize`` of a message's ``photo`` list."""
    return {
        "file_id": stored["file_id"],
        "file_unique_id": stored["file_unique_id"],
        "file_size": stored["file_size"],
        "width": stored.get("width", 800),
        "height": stored.get("height", 600),
    }
