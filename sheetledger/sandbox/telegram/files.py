"""Files as Telegram stores them: ids, paths and the objects messages carry."""

from __future__ import annotations

from sheetledger.sandbox.telegram.wire import JSON

MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024  # getFile refuses bigger files: "file is too big"


def new_file(
    number: int, content: bytes, *, kind: str, file_name: str | None, mime_type: str | None
) -> JSON:
    """The stored record of upload ``number``: Telegram-like ids, a file path, the bytes."""
    prefix = {"photo": "AgACAgIAAxkBAAI", "document": "BQACAgIAAxkBAAI"}[kind]
    folder = {"photo": "photos", "document": "documents"}[kind]
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


def photo_sizes(stored: JSON) -> list[JSON]:
    """The ``PhotoSize`` list a message carries."""
    return [
        {
            "file_id": stored["file_id"],
            "file_unique_id": stored["file_unique_id"],
            "file_size": stored["file_size"],
            "width": stored.get("width", 800),
            "height": stored.get("height", 600),
        }
    ]
