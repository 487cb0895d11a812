"""Cabinet spreadsheets ``sheetledger init`` creates as a person (``google.oauth_user``).

A cabinet in the config without ``spreadsheet_id`` is made by init, once: a service account
cannot (a file it would own in a My Drive is refused with 403 ``storageQuotaExceeded``), a
person can. The steps, each safe to repeat:

1. **Which file.** The ID kept in state.db under ``google.cabinet.<name>`` (``recorded``);
   else the file this business's init made before, found in the person's Drive by its app
   property ``sheetledgerCabinet`` (a hash of the master's ID and the cabinet's name); else
   a new spreadsheet (Drive ``files.create``, one attempt), tagged so in the same request.
   A crash or a lost answer between the create and the recording leaves a tagged file
   behind: the next init finds it instead of creating a second one. So does an init on a
   machine whose state.db was lost.
2. **Recorded** in state.db at once; every later command reads it (``recorded_ids``).
3. **Shared**: with the service account as a writer (no e-mail: the daemon keeps using the
   service account for Sheets, and Google refuses it a file not shared with it), and with
   the cabinet's ``email`` (Drive e-mails that person). Only who lacks it is added.

A recorded spreadsheet deleted for good (Drive answers 404 to the person) is forgotten and
made again; the caller says so.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from sheetledger.ledger.drive import SHEETS_MIME, DriveFiles, NotFound
from sheetledger.store import LocalState

__all__ = [
    "TAG_KEY",
    "CabinetFile",
    "Grant",
    "ensure_cabinet",
    "ensure_shared",
    "recorded_ids",
    "sheet_link",
    "state_key",
    "tag_of",
]

TAG_KEY = "sheetledgerCabinet"
EDIT = ("owner", "organizer", "fileOrganizer", "writer")

How = Literal["recorded", "found", "created"]


@dataclass(frozen=True)
class Grant:
    """Who is to edit a cabinet, and whether Drive e-mails them about it."""

    email: str
    notify: bool


@dataclass(frozen=True)
class CabinetFile:
    name: str
    spreadsheet_id: str
    how: How  # recorded in state.db already, found in Drive, or created now
    shared: tuple[str, ...]  # the e-mails given edit access now
    gone: str | None = None  # a recorded ID Drive no longer has (deleted for good)

    @property
    def link(self) -> str:
        return sheet_link(self.spreadsheet_id)


def state_key(name: str) -> str:
    """The state.db key of the ID of the cabinet ``name`` init created."""
    return f"google.cabinet.{name}"


def sheet_link(spreadsheet_id: str) -> str:
    return f"https://docs.google.com/spreadsheets/d/{spreadsheet_id}/edit"


def tag_of(master_id: str, name: str) -> str:
    """The cabinet's app property value: this business's (master's) cabinet ``name``.

    Hashed: Drive allows 124 bytes of key and value, and a name may be long Cyrillic."""
    return hashlib.sha256(f"{master_id}\n{name}".encode()).hexdigest()[:40]


def recorded_ids(store: LocalState, names: Iterable[str]) -> dict[str, str]:
    """The IDs init recorded for the cabinets ``names`` (the ones it made so far)."""
    found = {name: store.get(state_key(name)) for name in names}
    return {name: str(value) for name, value in found.items() if value}


def ensure_cabinet(
    drive: DriveFiles,
    store: LocalState,
    *,
    name: str,
    title: str,
    master_id: str,
    grants: Iterable[Grant],
) -> CabinetFile:
    """The cabinet ``name``'s spreadsheet, made (as ``drive``'s person) when there is none,
    recorded in ``store`` and shared per ``grants`` (see the module's docstring)."""
    key = state_key(name)
    recorded = store.get(key)
    wanted = list(grants)
    gone = None
    if recorded:
        try:
            shared = ensure_shared(drive, str(recorded), wanted)
        except NotFound:
            gone = str(recorded)
            store.delete(key)
        else:
            return CabinetFile(name, str(recorded), "recorded", shared)
    tag = tag_of(master_id, name)
    found = drive.tagged(TAG_KEY, tag, SHEETS_MIME)
    how: How = "found" if found else "created"
    file = found[0] if found else drive.create(title, SHEETS_MIME, {TAG_KEY: tag})
    store.set(key, file.id)
    return CabinetFile(name, file.id, how, ensure_shared(drive, file.id, wanted), gone)


def ensure_shared(drive: DriveFiles, file_id: str, grants: Iterable[Grant]) -> tuple[str, ...]:
    """Give each grant's person edit access unless they have it; the e-mails given now."""
    grants = list(grants)
    if not grants:
        return ()
    have: Mapping[str, str] = drive.grantees(file_id)
    given: list[str] = []
    for grant in grants:
        if have.get(grant.email.lower()) not in EDIT:
            drive.share(file_id, grant.email, "writer", notify=grant.notify)
            given.append(grant.email)
    return tuple(given)
