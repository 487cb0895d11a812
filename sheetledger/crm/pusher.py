"""The CRM side of a push: lead PATCHes and marker notes sent exactly once.

The planner decides *what* to push (``sheetledger.sync.push``); this object decides how
it reaches amoCRM without doubling anything, and says what happened in a ``PushOutcome``:

* the journal (local state) records every push before anything is sent;
* a lead amoCRM refuses (400) refuses its whole batch: the batch is sent again lead by
  lead, so only the refused deal's pushes wait (its note waits with its fields);
* amoCRM is the second record of every confirmation (docs/architecture.md): before a note is
  posted, its marker is looked for among the deal's notes — for every push, whatever the
  sheet or the journal say. A person who cleared a Sync state cell, sorted a range away
  from the daemon's columns or recreated the Payments tab makes the sheet forget a push;
  amoCRM does not. The lookup goes in bulk: one notes list request per 50 deals;
* a POST whose answer was lost leaves its pushes undelivered: the next cycle finds them
  by their markers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sheetledger.crm.amocrm import AmbiguousWriteError, AmoValidationError
from sheetledger.errors import RetriableError

PushKey = tuple[str, int]  # (payment id, seq): one confirmation event of one payment
# A marker as ``sync.state.marker`` writes it, whole: ``sheetledger:<payment id>#<seq>``.
# Matched as a token, so ``…#1`` is not found inside ``…#12``.
MARKER = re.compile(r"sheetledger:[^\s#]+#\d+")


class NotesCrm(Protocol):
    """What the pusher needs of ``AmoClient``."""

    def update_leads(self, patches: list[dict[str, Any]]) -> list[dict[str, Any]]: ...
    def notes(
        self, lead_ids: Sequence[int], *, note_type: str | None = None
    ) -> Iterator[dict[str, Any]]: ...
    def add_notes(self, notes: list[dict[str, Any]]) -> list[dict[str, Any]]: ...


class Journal(Protocol):
    """The local record of pushes on their way (``LocalState``), shown by ``status``."""

    def journal_add(self, entries: Iterable[tuple[str, int, int, str]]) -> None: ...


@dataclass(frozen=True)
class OutgoingNote:
    """One push as amoCRM sees it: a note carrying ``marker`` in deal ``deal_id``."""

    key: PushKey
    deal_id: int
    marker: str
    text: str


@dataclass(frozen=True)
class PushOutcome:
    """What amoCRM holds after a push (every field is a fact, none a plan)."""

    delivered: frozenset[PushKey] = frozenset()  # their notes are in amoCRM (posted or found)
    found: frozenset[str] = frozenset()  # markers found already there (not posted again)
    updated_at: Mapping[int, int] = field(default_factory=dict)  # deal id -> amoCRM updated_at
    patched: frozenset[int] = frozenset()  # deals whose PATCH amoCRM took
    refused: Mapping[int, str] = field(default_factory=dict)  # deal id -> amoCRM's reason
    problems: tuple[str, ...] = ()
    postponed: str = ""  # amoCRM could not be reached: nothing is known to have landed

    @property
    def lead_patches(self) -> int:
        return len(self.patched)


class CrmPusher:
    """Sends a cycle's pushes to amoCRM exactly once; see the module's docstring."""

    def __init__(self, crm: NotesCrm, journal: Journal) -> None:
        self.crm = crm
        self.journal = journal

    def push(
        self, patches: Sequence[Mapping[str, Any]], notes: Sequence[OutgoingNote]
    ) -> PushOutcome:
        """PATCH ``patches`` (one per deal), then post ``notes`` not already in amoCRM."""
        try:
            return self._push(patches, notes)
        except RetriableError as exc:
            # amoCRM is unreachable: the ticks stay, pushed next time (journaled, so checked).
            return PushOutcome(postponed=str(exc), problems=(f"push postponed: {exc}",))

    def _push(
        self, patches: Sequence[Mapping[str, Any]], notes: Sequence[OutgoingNote]
    ) -> PushOutcome:
        self.journal.journal_add((n.key[0], n.key[1], n.deal_id, n.marker) for n in notes)

        taken, refused = self._update_leads([dict(p) for p in patches])
        updated_at = {
            int(r["id"]): int(r["updated_at"]) for r in taken if "id" in r and r.get("updated_at")
        }
        patched = frozenset(int(p["id"]) for p in patches if int(p["id"]) not in refused)
        problems = [f"amoCRM refused the update of deal {d}: {why}" for d, why in refused.items()]
        notes = [n for n in notes if n.deal_id not in refused]

        found = self._markers_found(notes)
        to_post = [n for n in notes if n.marker not in found]
        delivered = {n.key for n in notes if n.marker in found}
        if to_post:
            try:
                self.crm.add_notes(
                    [
                        {"entity_id": n.deal_id, "note_type": "common", "params": {"text": n.text}}
                        for n in to_post
                    ]
                )
            except AmbiguousWriteError as exc:
                # Whether the notes landed is unknown: they stay journaled, looked for next cycle.
                problems.append(f"notes not confirmed by amoCRM, will check next cycle: {exc}")
            else:
                delivered.update(n.key for n in to_post)
        return PushOutcome(
            delivered=frozenset(delivered),
            found=frozenset(found),
            updated_at=updated_at,
            patched=patched,
            refused=refused,
            problems=tuple(problems),
        )

    def _update_leads(
        self, patches: list[dict[str, Any]]
    ) -> tuple[list[dict[str, Any]], dict[int, str]]:
        """amoCRM's answers for the leads it took, and the refused deals with the reason."""
        if not patches:
            return [], {}
        try:
            return self.crm.update_leads(patches), {}
        except AmoValidationError:
            pass
        # One bad lead refuses its whole batch: send them one by one to find it, so the
        # others go through. The refused deals' notes wait (note and fields together).
        taken: list[dict[str, Any]] = []
        refused: dict[int, str] = {}
        for patch in patches:
            try:
                taken.extend(self.crm.update_leads([patch]))
            except AmoValidationError as exc:
                refused[int(patch["id"])] = str(exc)
        return taken, refused

    def _markers_found(self, notes: Sequence[OutgoingNote]) -> set[str]:
        """The markers of ``notes`` already in their deals (one list request per 50 deals)."""
        if not notes:
            return set()
        markers = {n.marker for n in notes}
        found: set[str] = set()
        for note in self.crm.notes(sorted({n.deal_id for n in notes}), note_type="common"):
            text = str((note.get("params") or {}).get("text") or "")
            found.update(markers_in(text) & markers)
        return found


def markers_in(text: str) -> set[str]:
    """The whole markers a note carries (``…#1`` is not in a note that says ``…#12``)."""
    return set(MARKER.findall(text))
