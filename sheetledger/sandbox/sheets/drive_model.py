"""Drive's own files, shared drives, and the ``q`` language of ``files.list`` (pure, no HTTP).

Spreadsheets live in the Sheets model (``model.Spreadsheet``); every other Drive file - a
folder, an uploaded PDF or photo - is a ``DriveFile`` here. A shared drive is a
``SharedDrive``: its id is also the id of its root folder, and its files have no owner (the
organisation owns them), only the drive's members.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

FOLDER_MIME = "application/vnd.google-apps.folder"
SHEETS_MIME = "application/vnd.google-apps.spreadsheet"
GOOGLE_MIME_PREFIX = "application/vnd.google-apps."
MY_DRIVE_ROOT = "0AJsandboxRootFolder"  # every caller's My Drive root (alias ``root``)
ROLES = ("organizer", "fileOrganizer", "writer", "commenter", "reader")
WRITERS = ("owner", "organizer", "fileOrganizer", "writer")


def rfc3339(seconds: float) -> str:
    """Drive's timestamps: UTC with milliseconds (``2026-12-02T10:05:29.123Z``)."""
    moment = datetime.fromtimestamp(seconds, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass
class DriveFile:
    """A Drive file that is not a spreadsheet: a folder or bytes someone uploaded."""

    id: str
    name: str
    mime_type: str
    parents: list[str]
    owner: str | None  # None inside a shared drive: the organisation owns it
    created: float
    drive_id: str | None = None
    content: bytes = b""
    modified: float = 0.0
    trashed: bool = False
    version: int = 1
    description: str = ""
    app_properties: dict[str, str] = field(default_factory=dict)
    permissions: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.modified = self.modified or self.created

    @property
    def is_folder(self) -> bool:
        return self.mime_type == FOLDER_MIME

    @property
    def downloadable(self) -> bool:
        """Only binary content downloads; folders and Docs Editors files must be exported."""
        return not self.mime_type.startswith(GOOGLE_MIME_PREFIX)

    def as_state(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "mimeType": self.mime_type,
            "parents": self.parents,
            "owner": self.owner,
            "created": self.created,
            "driveId": self.drive_id,
            "content": self.content.hex(),
            "modified": self.modified,
            "trashed": self.trashed,
            "version": self.version,
            "description": self.description,
            "appProperties": self.app_properties,
            "permissions": self.permissions,
        }

    @classmethod
    def from_state(cls, data: dict[str, Any]) -> DriveFile:
        return cls(
            id=data["id"],
            name=data["name"],
            mime_type=data["mimeType"],
            parents=list(data["parents"]),
            owner=data["owner"],
            created=data["created"],
            drive_id=data["driveId"],
            content=bytes.fromhex(data["content"]),
            modified=data["modified"],
            trashed=data["trashed"],
            version=data["version"],
            description=data.get("description", ""),
            app_properties=dict(data.get("appProperties") or {}),
            permissions=list(data.get("permissions") or []),
        )

    def binary_fields(self) -> dict[str, Any]:
        """What Drive adds for a file with content: size (a string), md5, extension."""
        if not self.downloadable:
            return {}
        out: dict[str, Any] = {
            "size": str(len(self.content)),
            "md5Checksum": hashlib.md5(self.content, usedforsecurity=False).hexdigest(),
            "originalFilename": self.name,
        }
        if "." in self.name:
            out["fileExtension"] = self.name.rsplit(".", 1)[1]
            out["fullFileExtension"] = out["fileExtension"]
        return out


@dataclass
class SharedDrive:
    """A shared drive: a name and its members' roles (organizer, fileOrganizer, writer, ...)."""

    id: str
    name: str
    created: float
    members: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": "drive#drive",
            "id": self.id,
            "name": self.name,
            "createdTime": rfc3339(self.created),
            "hidden": False,
        }

    def as_state(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "created": self.created, "members": self.members}

    @classmethod
    def from_state(cls, data: dict[str, Any]) -> SharedDrive:
        return cls(data["id"], data["name"], data["created"], dict(data["members"]))


@dataclass(frozen=True)
class Place:
    """Where a spreadsheet sits in Drive (spreadsheets keep no Drive fields of their own)."""

    parents: tuple[str, ...] = (MY_DRIVE_ROOT,)
    drive_id: str | None = None


# --------------------------------------------------------------------------- the q language


class QueryError(ValueError):
    """A ``q`` Drive cannot parse (Drive answers 400 ``Invalid Value``, location ``q``)."""


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*")
      | (?P<op>!=|<=|>=|=|<|>|\(|\)|\{|\})
      | (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
    )""",
    re.VERBOSE,
)
_COMPARISONS = ("=", "!=", "<", "<=", ">", ">=", "contains")
_FIELDS = {
    "name",
    "mimeType",
    "trashed",
    "starred",
    "parents",
    "owners",
    "fullText",
    "modifiedTime",
    "createdTime",
    "sharedWithMe",
}
_PROPERTY_FIELDS = {"properties", "appProperties"}  # appProperties has { key='k' and value='v' }


def _tokens(query: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    position = 0
    query = query.rstrip()
    while position < len(query):
        match = _TOKEN.match(query, position)
        if match is None or match.end() == position:
            raise QueryError(query)
        position = match.end()
        kind = match.lastgroup or ""
        text = match.group(kind)
        if kind == "string":
            text = re.sub(r"\\(.)", r"\1", text[1:-1])
        out.append((kind, text))
    return out


class _Parser:
    """``expr := term (or term)*``, ``term := factor (and factor)*``,
    ``factor := not factor | ( expr ) | 'value' in field | field op value
    | properties has { key = 'k' and value = 'v' }``."""

    def __init__(self, query: str) -> None:
        self.tokens = _tokens(query)
        self.at = 0

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.at] if self.at < len(self.tokens) else ("end", "")

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token[0] == "end":
            raise QueryError("unexpected end")
        self.at += 1
        return token

    def keyword(self, word: str) -> bool:
        kind, text = self.peek()
        if kind == "word" and text.lower() == word:
            self.at += 1
            return True
        return False

    def parse(self) -> Any:
        tree = self.expr()
        if self.peek()[0] != "end":
            raise QueryError("trailing tokens")
        return tree

    def expr(self) -> Any:
        parts = [self.term()]
        while self.keyword("or"):
            parts.append(self.term())
        return ("or", parts) if len(parts) > 1 else parts[0]

    def term(self) -> Any:
        parts = [self.factor()]
        while self.keyword("and"):
            parts.append(self.factor())
        return ("and", parts) if len(parts) > 1 else parts[0]

    def factor(self) -> Any:
        if self.keyword("not"):
            return ("not", self.factor())
        if self.peek() == ("op", "("):
            self.take()
            inner = self.expr()
            if self.take() != ("op", ")"):
                raise QueryError("missing )")
            return inner
        kind, text = self.take()
        if kind == "string":
            if not self.keyword("in"):
                raise QueryError("expected in")
            target = self.take()
            if target[0] != "word" or target[1] not in _FIELDS:
                raise QueryError("unknown field")
            return ("in", target[1], text)
        if kind == "word" and text in _PROPERTY_FIELDS:
            return self.has(text)
        if kind != "word" or text not in _FIELDS:
            raise QueryError(f"unknown field {text}")
        _, op = self.take()
        if op not in _COMPARISONS:
            raise QueryError(f"bad operator {op}")
        value_kind, value = self.take()
        if value_kind == "word" and value.lower() in ("true", "false"):
            value = value.lower()
        elif value_kind != "string":
            raise QueryError("expected a value")
        return (op, text, value)

    def has(self, field_name: str) -> Any:
        """``{ key = 'k' and value = 'v' }`` after ``properties`` / ``appProperties``: Drive
        asks for both, the key and the value."""
        if not self.keyword("has") or self.take() != ("op", "{"):
            raise QueryError("expected has {")
        pair: dict[str, str] = {}
        for position, name in enumerate(("key", "value")):
            if position and not self.keyword("and"):
                raise QueryError("expected and")
            if not self.keyword(name) or self.take() != ("op", "="):
                raise QueryError(f"expected {name} =")
            kind, text = self.take()
            if kind != "string":
                raise QueryError("expected a string")
            pair[name] = text
        if self.take() != ("op", "}"):
            raise QueryError("missing }")
        return ("has", field_name, pair["key"], pair["value"])


def parse_query(query: str) -> Any:
    """``q`` -> a small tree ``evaluate`` walks; ``None`` for an empty query."""
    return _Parser(query).parse() if query.strip() else None


def evaluate(tree: Any, info: dict[str, Any]) -> bool:
    """Does a file's JSON (with ``parents``, ``owners``, ``trashed``...) match ``tree``?"""
    if tree is None:
        return True
    head = tree[0]
    if head == "or":
        return any(evaluate(part, info) for part in tree[1])
    if head == "and":
        return all(evaluate(part, info) for part in tree[1])
    if head == "not":
        return not evaluate(tree[1], info)
    if head == "has":
        _, field_name, key, value = tree
        return bool((info.get(field_name) or {}).get(key) == value)
    if head == "in":
        _, field_name, value = tree
        if field_name == "owners":
            return value in [o.get("emailAddress") for o in info.get("owners") or []]
        return value in (info.get(field_name) or [])
    op, field_name, value = tree
    if field_name == "fullText":
        field_name = "name"
    actual = info.get(field_name)
    if isinstance(actual, bool) or (actual is None and field_name in ("trashed", "starred")):
        actual = "true" if actual else "false"
    text = "" if actual is None else str(actual)
    if op == "contains":
        return value.lower() in text.lower()
    comparisons = {
        "=": text == value,
        "!=": text != value,
        "<": text < value,
        "<=": text <= value,
        ">": text > value,
        ">=": text >= value,
    }
    return bool(comparisons[op])
