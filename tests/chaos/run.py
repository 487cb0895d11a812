"""A seeded chaos run over the sandbox: faults, kills and people's edits, checked by invariants.

One run starts the three emulators, prepares the ledger with ``sheetledger init``,
creates deals in amoCRM and then plays a seeded random schedule of steps. A step
is a person's edit in the spreadsheet (tick, untick, partial receipt, sort, insert
or delete rows, duplicate a row, clear the daemon's cells, rename a header, delete
the Payments tab), a change in amoCRM, or a sync run under injected faults: 429s
and 5xx from amoCRM and Google, dropped connections, a write applied but never
answered, a timeout, or ``kill -9`` of a real ``sheetledger sync`` process at its
n-th write. Every edit goes through the Sheets API, as a person's browser would.

After every step the run checks what must always hold: no confirmation marker is
in amoCRM twice, no command ended in a traceback, no secret in what the commands
printed. Every ``settle_every`` steps, and at the end, it stops the faults, lets
the daemon settle, and checks what must hold then: every payment slot in amoCRM
has exactly one ledger row, every pushed confirmation has exactly one note per
event, amoCRM's confirmed total equals the ledger's for every deal, every line of
every expense message the owner sent is exactly one row, the bot never said
"nothing was written", and no formula came from people's or amoCRM's text.

The owner's bot runs as a real ``sheetledger bot`` process throughout; it is
killed with ``kill -9`` between writing an expense and answering, and Telegram
refuses some of its replies.

    python -m tests.chaos.run --seed 20261202 --steps 700     (make chaos)

A failing seed is reproduced by running the same command again.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

from sheetledger.cli import main as cli_main
from sheetledger.config import Config
from sheetledger.connect import build_google
from sheetledger.crm.amocrm import AmoClient
from sheetledger.retry import RetryPolicy
from sheetledger.sandbox.runner import Sandbox
from sheetledger.sandbox.telegram import TelegramTimeout

MARKER = re.compile(r"sheetledger:(\S+?)#(\d+)")
METHODS = (
    "Наличными в кассу",
    "Перевод на карту",
    "Оплата по терминалу",
    "Безналичный перевод",
    "Кредитный договор",
)
# Deal names a person typed into amoCRM: they must reach the sheet as text, never as formulas.
HOSTILE_NAMES = ('=HYPERLINK("http://x";"x")', "+79990001122", "-1+2", "@admin", "=1+1")

# Steps known to break an invariant today; the run skips them unless ``breaking`` is set.
# (Empty: clearing the daemon's cells, deleting a confirmed row, pasting a copy, sorting a
# range of columns and deleting the Payments tab are played in every run.)
KNOWN_BREAKING: frozenset[str] = frozenset()

TIMEOUT = 3  # the daemon's client timeouts in this run; a "timeout" fault answers later
# The product's backoff between retries runs this much faster here: the waits are not what the
# run checks, and at full length they were most of its wall time. A wait a server asked for
# (Retry-After) or a quota's minimum is kept whole.
BACKOFF_SCALE = 0.25
FAULT_KINDS = ("429", "5xx", "drop", "drop_after_commit", "timeout", "kill", "reply_fails")


@dataclass
class Tally:
    faults: Counter[str] = field(default_factory=Counter)  # injected and fired, by kind
    edits: Counter[str] = field(default_factory=Counter)
    violations: list[str] = field(default_factory=list)
    steps: int = 0
    settles: int = 0

    @property
    def fault_total(self) -> int:
        return sum(self.faults.values())

    def summary(self) -> str:
        lines = [
            f"steps: {self.steps}, settles: {self.settles}",
            f"faults injected: {self.fault_total}  "
            + ", ".join(f"{k} {self.faults[k]}" for k in FAULT_KINDS),
            "people's edits: " + ", ".join(f"{k} {v}" for k, v in sorted(self.edits.items())),
            f"invariant violations: {len(self.violations)}",
        ]
        lines += [f"  - {v}" for v in self.violations[:50]]
        return "\n".join(lines)


@dataclass
class Deal:
    id: int
    slots: int


class ChaosRun:
    """One seeded run; ``play()`` returns the tally."""

    def __init__(
        self,
        folder: Path,
        seed: int,
        *,
        steps: int,
        settle_every: int = 40,
        deals: int = 12,
        breaking: bool = False,
        log: Callable[[str], None] = lambda line: None,
    ) -> None:
        self.folder = Path(folder)
        self.rng = random.Random(seed)
        self.seed = seed
        self.steps = steps
        self.settle_every = settle_every
        self.deal_count = deals
        self.breaking = breaking
        self.log = log
        self.tally = Tally()
        self.output: list[str] = []  # everything the commands printed (checked for secrets)
        self.deals: list[Deal] = []
        self.renamed: tuple[str, str] | None = None  # (tab title, original header)
        self.expense_lines: dict[int, int] = {}  # the owner's message id -> its expense lines
        self.bot: subprocess.Popen[str] | None = None
        self.tab_deleted = False

    # ------------------------------------------------------------------ set-up

    def play(self) -> Tally:
        with _scaled_backoff(BACKOFF_SCALE):
            return self._play()

    def _play(self) -> Tally:
        self.box = Sandbox.start(self.folder / "sandbox")
        try:
            self._configure()
            self._cli("init")
            self.col = {header: i for i, header in enumerate(self._header())}
            for n in range(self.deal_count):
                self._new_deal(n)
            self._sync()
            self.owner = int(self.box.info["telegram"]["users"][0]["id"])
            self.box.telegram.open_chat(self.owner)
            self._start_bot()
            for step in range(self.steps):
                self.tally.steps = step + 1
                self._step(step)
                self._check_always(f"step {step + 1}")
                if (step + 1) % self.settle_every == 0:
                    self._settle_and_check(f"after step {step + 1}")
            self._settle_and_check("at the end")
        finally:
            self._stop_bot()
            self.box.stop(save=False)
        return self.tally

    def _configure(self) -> None:
        """Short client timeouts, so an injected delay is a real timeout, not a slow answer."""
        self.config: Config = self.box.load_config()  # the observer's: normal timeouts
        path = self.box.config_path
        text = path.read_text(encoding="utf-8")
        text = text.replace("amocrm:\n", f"amocrm:\n  timeout_seconds: {TIMEOUT}\n", 1)
        text = text.replace("google:\n", f"google:\n  timeout_seconds: {TIMEOUT}\n", 1)
        path.write_text(text, encoding="utf-8")
        self.secrets = [
            self.config.amocrm.token.reveal(),
            self.box.info["telegram"]["token"],
        ]
        self.google = build_google(self.config)
        self.book = self.google.open_by_key(self.config.google.spreadsheet_id)
        self.crm = AmoClient(self.config.amocrm.base_url, self.config.amocrm.token.reveal())
        self.payments_title = self.config.google.tabs.payments
        self.deals_title = self.config.google.tabs.deals

    # ------------------------------------------------------------------ the schedule

    def _step(self, step: int) -> None:
        actions: list[tuple[str, int, Callable[[], None]]] = [
            ("tick", 14, self._tick),
            ("untick", 4, self._untick),
            ("partial", 3, self._partial),
            ("sort_rows", 3, self._sort_rows),
            ("sort_columns", 1, self._sort_columns),
            ("insert_rows", 2, self._insert_rows),
            ("delete_row", 2, self._delete_row),
            ("delete_confirmed_row", 1, self._delete_confirmed_row),
            ("duplicate_row", 1, self._duplicate_row),
            ("clear_state", 2, self._clear_state),
            ("rename_header", 1, self._rename_header),
            ("delete_tab", 1, self._delete_tab),
            ("crm_new_deal", 2, lambda: self._new_deal(len(self.deals))),
            ("crm_change_amount", 2, self._crm_change_amount),
            ("faulty_sync", 30, self._faulty_sync),
            ("kill_sync", 6, self._kill_sync),
            ("bot_expense", 5, self._bot_expense),
            ("bot_reply_fails", 2, self._bot_reply_fails),
            ("kill_bot", 2, self._kill_bot),
        ]
        allowed = [a for a in actions if self.breaking or a[0] not in KNOWN_BREAKING]
        name, _, action = self.rng.choices(allowed, weights=[a[1] for a in allowed])[0]
        self.log(f"step {step + 1}: {name}")
        if not name.startswith(("faulty_", "kill_", "bot_")):
            self.tally.edits[name] += 1
        action()
        if self.renamed is not None and name != "rename_header" and self.rng.random() < 0.5:
            self._restore_header()

    # ------------------------------------------------------------------ people in the sheet

    def _payment_rows(self) -> list[tuple[int, list[Any]]]:
        """(row number, values) of every payment row with an ID, as the API reads them."""
        values = self.book.values_get(
            f"'{self.payments_title}'!A1:Z",
            params={"valueRenderOption": "UNFORMATTED_VALUE"},
        ).get("values", [])
        return [(n, row) for n, row in enumerate(values, start=1) if n > 1 and row and row[0]]

    def _header(self) -> list[str]:
        values = self.book.values_get(f"'{self.payments_title}'!1:1").get("values", [[]])
        return [str(h) for h in values[0]] if values else []

    def _column(self, header: str) -> str | None:
        headers = self._header()
        return _letter(headers.index(header)) if header in headers else None

    def _type(self, a1: str, value: Any) -> None:
        self.book.values_update(
            f"'{self.payments_title}'!{a1}",
            params={"valueInputOption": "USER_ENTERED"},
            body={"values": [[value]]},
        )

    def _pick_row(self, want: Callable[[list[Any]], bool]) -> int | None:
        rows = [n for n, row in self._payment_rows() if want(row)]
        return self.rng.choice(rows) if rows else None

    def _cell(self, row: list[Any], header: str) -> Any:
        """A cell of a row by the header it stood under when the run began."""
        index = self.col[header]
        return row[index] if len(row) > index else None

    def _ticked(self, row: list[Any]) -> bool:
        return self._cell(row, "Confirmed") is True

    def _state(self, row: list[Any]) -> str:
        return str(self._cell(row, "Sync state") or "")

    def _tick(self) -> None:
        column = self._column("Confirmed")
        row = self._pick_row(lambda r: not self._ticked(r))
        if column and row:
            self._type(f"{column}{row}", "TRUE")

    def _untick(self) -> None:
        column = self._column("Confirmed")
        row = self._pick_row(self._ticked)
        if column and row:
            self._type(f"{column}{row}", "FALSE")

    def _partial(self) -> None:
        received = self._column("Received amount")
        row = self._pick_row(lambda r: (self._cell(r, "Amount") or 0) > 2)
        if received and row:
            amount = self._cell(next(r for n, r in self._payment_rows() if n == row), "Amount")
            self._type(f"{received}{row}", int(amount or 0) // 2)

    def _sheet_id(self, title: str) -> int | None:
        for sheet in self.book.fetch_sheet_metadata()["sheets"]:
            if sheet["properties"]["title"] == title:
                return int(sheet["properties"]["sheetId"])
        return None

    def _batch(self, *requests: dict[str, Any]) -> None:
        self.book.batch_update({"requests": list(requests)})

    def _sort_rows(self) -> None:
        sheet_id = self._sheet_id(self.payments_title)
        if sheet_id is None:
            return
        self._batch(
            {
                "sortRange": {
                    "range": {"sheetId": sheet_id, "startRowIndex": 1},
                    "sortSpecs": [
                        {
                            "dimensionIndex": self.rng.randrange(0, 8),
                            "sortOrder": self.rng.choice(["ASCENDING", "DESCENDING"]),
                        }
                    ],
                }
            }
        )

    def _sort_columns(self) -> None:
        """A person selects only the first columns and sorts them: the rest stay behind."""
        sheet_id = self._sheet_id(self.payments_title)
        if sheet_id is None:
            return
        self._batch(
            {
                "sortRange": {
                    "range": {
                        "sheetId": sheet_id,
                        "startRowIndex": 1,
                        "startColumnIndex": 0,
                        "endColumnIndex": self.rng.randrange(3, 11),
                    },
                    "sortSpecs": [{"dimensionIndex": 0, "sortOrder": "DESCENDING"}],
                }
            }
        )

    def _insert_rows(self) -> None:
        sheet_id = self._sheet_id(self.payments_title)
        rows = self._payment_rows()
        if sheet_id is None or not rows:
            return
        at = self.rng.randrange(1, rows[-1][0] + 1)
        self._batch(
            {
                "insertDimension": {
                    "range": {
                        "sheetId": sheet_id,
                        "dimension": "ROWS",
                        "startIndex": at,
                        "endIndex": at + self.rng.randrange(1, 3),
                    },
                    "inheritFromBefore": True,
                }
            }
        )

    def _delete_rows_at(self, row: int) -> None:
        sheet_id = self._sheet_id(self.payments_title)
        if sheet_id is None:
            return
        self._batch(
            {
                "deleteDimension": {
                    "range": {
                        "sheetId": sheet_id,
                        "dimension": "ROWS",
                        "startIndex": row - 1,
                        "endIndex": row,
                    }
                }
            }
        )

    def _delete_row(self) -> None:
        """A person deletes a row nobody has confirmed yet (the daemon brings it back)."""
        row = self._pick_row(lambda r: not self._ticked(r) and not self._state(r))
        if row:
            self._delete_rows_at(row)

    def _delete_confirmed_row(self) -> None:
        """A person deletes a row whose confirmation amoCRM already has."""
        row = self._pick_row(lambda r: self._state(r).startswith(("pushed", "partial")))
        if row:
            self._delete_rows_at(row)

    def _duplicate_row(self) -> None:
        """A person copies a payment row and pastes it under the table."""
        rows = self._payment_rows()
        if not rows:
            return
        _, values = self.rng.choice(rows)
        last = rows[-1][0]
        self.book.values_update(
            f"'{self.payments_title}'!A{last + 1}",
            params={"valueInputOption": "RAW"},
            body={"values": [values]},
        )

    def _clear_state(self) -> None:
        """Pasting over rows clears the daemon's columns of a pushed row."""
        state = self._column("Sync state")
        pushed = self._column("Pushed amount")
        row = self._pick_row(lambda r: bool(self._state(r)))
        if state and pushed and row:
            self.book.values_batch_clear(
                body={"ranges": [f"'{self.payments_title}'!{pushed}{row}:{state}{row}"]}
            )

    def _rename_header(self) -> None:
        headers = self._header()
        if self.renamed is not None or not headers:
            return
        index = self.rng.randrange(0, len(headers))
        self.renamed = (self.payments_title, headers[index])
        self._type(f"{_letter(index)}1", headers[index] + " (old)")

    def _restore_header(self) -> None:
        assert self.renamed is not None
        _, original = self.renamed
        headers = self._header()
        if original + " (old)" in headers:
            self._type(f"{_letter(headers.index(original + ' (old)'))}1", original)
        self.renamed = None
        self.tally.edits["restore_header"] += 1

    def _delete_tab(self) -> None:
        """A person deletes the Payments tab; ``init`` and ``rebuild`` bring it back."""
        sheet_id = self._sheet_id(self.payments_title)
        if sheet_id is None or self.renamed is not None:
            return
        self._batch({"deleteSheet": {"sheetId": sheet_id}})
        self._cli("init")
        self._cli("rebuild")

    # ------------------------------------------------------------------ amoCRM side

    def _new_deal(self, n: int) -> None:
        amo = self.box.info["amocrm"]
        slots = self.rng.randrange(1, len(amo["slots"]) + 1)
        values: list[dict[str, Any]] = [
            {"field_id": amo["fields"]["contract_no"], "values": [{"value": str(7000 + n)}]}
        ]
        for slot in amo["slots"][:slots]:
            paid_on = date(2026, 11, 1) + timedelta(days=self.rng.randrange(0, 25))
            noon = datetime(paid_on.year, paid_on.month, paid_on.day, 12, tzinfo=UTC)
            amount = str(self.rng.randrange(5, 90) * 1000)
            values += [
                {"field_id": slot["amount"], "values": [{"value": amount}]},
                {"field_id": slot["method"], "values": [{"value": self.rng.choice(METHODS)}]},
                {"field_id": slot["date"], "values": [{"value": int(noon.timestamp())}]},
            ]
        name = self.rng.choice(HOSTILE_NAMES) if self.rng.random() < 0.3 else f"Договор {7000 + n}"
        lead = {
            "name": name,
            "price": 200_000,
            "pipeline_id": amo["pipeline_id"],
            "status_id": amo["statuses"]["Договор заключен"],
            "responsible_user_id": self.rng.choice(amo["managers"]),
            "custom_fields_values": values,
        }
        created = self.crm.create_leads([lead])
        self.deals.append(Deal(int(created[0]["id"]), slots))

    def _crm_change_amount(self) -> None:
        if not self.deals:
            return
        deal = self.rng.choice(self.deals)
        slot = self.box.info["amocrm"]["slots"][self.rng.randrange(0, deal.slots)]
        self.crm.update_leads(
            [
                {
                    "id": deal.id,
                    "custom_fields_values": [
                        {
                            "field_id": slot["amount"],
                            "values": [{"value": str(self.rng.randrange(5, 90) * 1000)}],
                        }
                    ],
                }
            ]
        )

    # ------------------------------------------------------------------ the owner and the bot

    _EXPENSES: ClassVar[tuple[str, ...]] = (
        "такси до салона",
        "канцелярия",
        "реклама яндекс директ",
        "вода в офис",
        "бензин доставка",
    )

    def _command(self, *argv: str) -> list[str]:
        return [sys.executable, "-m", "sheetledger", "-c", str(self.box.config_path), *argv]

    def _env(self) -> dict[str, str]:
        return {k: v for k, v in os.environ.items() if not k.startswith(("AMOCRM", "TELEGRAM"))}

    def _start_bot(self) -> None:
        self.bot = subprocess.Popen(
            self._command("bot"),
            env=self._env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def _stop_bot(self, *, kill: bool = False) -> None:
        if self.bot is None:
            return
        if self.bot.poll() is None:
            self.bot.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        out, _ = self.bot.communicate(timeout=60)
        self.output.append(out)
        self.bot = None

    def _send_expense(self) -> int:
        """The owner sends one to three expense lines; returns the message id."""
        lines = [
            f"{self.rng.randrange(1, 400) * 10 + len(self.expense_lines)} "
            f"{self.rng.choice(self._EXPENSES)}"
            for _ in range(self.rng.randrange(1, 4))
        ]
        message = self.box.telegram.send_text(self.owner, "\n".join(lines))
        message_id = int(message["message_id"])
        self.expense_lines[message_id] = len(lines)
        return message_id

    def _expense_ids(self) -> Counter[str]:
        title = self.config.google.tabs.expenses
        values = self.box.sheets.values(self.config.google.spreadsheet_id, title)
        return Counter(str(row[0]) for row in values[1:] if row and row[0])

    def _recorded(self, message_id: int) -> int:
        prefix = f"tg:{self.owner}:{message_id}:"
        return sum(n for key, n in self._expense_ids().items() if key.startswith(prefix))

    def _wait_recorded(self, message_id: int, timeout: float = 60.0) -> bool:
        """Wait (on the emulator's write event, not by sleeping) for the message's rows."""
        deadline = datetime.now(UTC) + timedelta(seconds=timeout)
        while self._recorded(message_id) < self.expense_lines[message_id]:
            remaining = (deadline - datetime.now(UTC)).total_seconds()
            if remaining <= 0:
                return False
            self.box.sheets.changed.clear()
            if self._recorded(message_id) >= self.expense_lines[message_id]:
                break
            self.box.sheets.changed.wait(min(remaining, 1.0))
        return True

    def _bot_expense(self) -> None:
        """The owner records expenses while Google misbehaves a little."""
        if self.rng.random() < 0.5:
            kind = self.rng.choice(["429", "5xx"])
            self.box.sheets.fail_next(429 if kind == "429" else 503, match=":append")
            self.tally.faults[kind] += 1
        self._wait_recorded(self._send_expense())
        self.box.sheets.faults.clear()

    def _bot_reply_fails(self) -> None:
        """Telegram refuses the bot's replies: the rows are written once, the reply comes later."""
        fired = len(self.box.telegram.faults.fired)
        answered = len(self.box.telegram.sent(self.owner))
        self.box.telegram.fail_next(500, count=self.rng.randrange(1, 3), match="sendMessage")
        message_id = self._send_expense()
        self._wait_recorded(message_id)
        # The rows are written before the reply is tried: wait for the reply that got through
        # (after the refused tries), so the faults fire before they are cleared.
        try:
            self.box.telegram.wait_for_sent(self.owner, count=answered + 1, timeout=60)
        except TelegramTimeout as exc:
            self._violate(f"step {self.tally.steps}", f"the bot never answered: {exc}")
        self.tally.faults["reply_fails"] += len(self.box.telegram.faults.fired) - fired
        self.box.telegram.faults.clear()

    def _kill_bot(self) -> None:
        """``kill -9`` of the bot right after it wrote the rows, before it answered."""
        assert self.bot is not None
        bot = self.bot
        killed = threading.Event()

        def kill() -> None:
            bot.send_signal(signal.SIGKILL)
            killed.set()

        self.box.telegram.before_next(kill, match="sendMessage")
        message_id = self._send_expense()
        self._wait_recorded(message_id)
        killed.wait(30)
        self.box.telegram.faults.clear()
        self._stop_bot(kill=True)
        if killed.is_set():
            self.tally.faults["kill"] += 1
        self._start_bot()  # Telegram hands the update to the new process again

    def _check_expenses(self, where: str) -> None:
        for message in self.box.telegram.sent(self.owner):
            if "ничего не записано" in str(message.get("text", "")):
                self._violate(where, f"the bot said nothing was written: {message['text']!r}")
        ids = self._expense_ids()
        for key, count in ids.items():
            if count > 1:
                self._violate(where, f"expense row {key} is in the sheet {count} times")
        for message_id, lines in self.expense_lines.items():
            if not self._wait_recorded(message_id, timeout=30):
                got = self._recorded(message_id)
                self._violate(where, f"message {message_id}: {lines} lines, {got} rows")

    # ------------------------------------------------------------------ the daemon under faults

    def _emulators(self) -> dict[str, Any]:
        return {"amocrm": self.box.amo, "google": self.box.sheets}

    _WRITES: ClassVar[dict[str, tuple[str, ...]]] = {
        "amocrm": ("PATCH /api/v4/leads", "POST /api/v4/leads/notes"),
        "google": (":batchUpdate", ":append", "PUT /v4/spreadsheets"),
    }

    def _faulty_sync(self) -> None:
        """A sync run in this process while the services misbehave a few times."""
        emulators = self._emulators()
        fired_before = {name: len(e.faults.fired) for name, e in emulators.items()}
        for _ in range(self.rng.randrange(2, 6)):
            service = self.rng.choice(sorted(emulators))
            emulator = emulators[service]
            kind = self.rng.choice(["429", "5xx", "drop", "drop_after_commit", "timeout"])
            count = self.rng.randrange(1, 4)
            match = self.rng.choice(self._WRITES[service]) if kind == "drop_after_commit" else ""
            if kind == "429":
                emulator.fail_next(429, count=count, match=match)
            elif kind == "5xx":
                emulator.fail_next(self.rng.choice([500, 502, 503]), count=count, match=match)
            elif kind == "drop":
                emulator.drop_next(count=count, match=match, after_commit=False)
            elif kind == "drop_after_commit":
                emulator.drop_next(count=count, match=match, after_commit=True)
            else:
                count = 1
                emulator.delay_next(TIMEOUT + 0.5, count=1, match=match)
        self._sync()
        for name, emulator in emulators.items():
            for fired in emulator.faults.fired[fired_before[name] :]:
                self.tally.faults[_fault_kind(fired)] += 1
            emulator.faults.clear()

    def _kill_sync(self) -> None:
        """``kill -9`` of a real ``sheetledger sync`` at its n-th write to one service."""
        service = self.rng.choice(["amocrm", "google"])
        emulator = self._emulators()[service]
        nth = self.rng.randrange(1, 4)
        killed = threading.Event()
        process: dict[str, subprocess.Popen[str]] = {}
        seen = {"writes": 0}

        def maybe_kill() -> None:
            seen["writes"] += 1
            if seen["writes"] == nth and "p" in process:
                process["p"].send_signal(signal.SIGKILL)
                killed.set()

        faults = [
            emulator.before_next(maybe_kill, match=pattern, count=nth)
            for pattern in self._WRITES[service]
        ]
        process["p"] = subprocess.Popen(
            self._command("sync"),
            env=self._env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        out, _ = process["p"].communicate(timeout=120)
        self.output.append(out)
        del faults  # the kill's hooks, consumed or not, go with the run
        emulator.faults.clear()
        if killed.is_set():
            self.tally.faults["kill"] += 1

    def _sync(self, *args: str) -> int:
        return self._cli("sync", *args)

    def _cli(self, *argv: str) -> int:
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            try:
                code = cli_main(["-c", str(self.box.config_path), *argv])
            except SystemExit as exc:  # argparse: a command this version does not have
                code = int(exc.code or 0)
            except Exception as exc:  # a command must end with a message, never a traceback
                self._violate(f"{' '.join(argv)}", f"ended with {type(exc).__name__}: {exc}")
                code = -1
        self.output.append(out.getvalue())
        return code

    # ------------------------------------------------------------------ invariants

    def _violate(self, where: str, what: str) -> None:
        line = f"{where}: {what}"
        self.log("VIOLATION " + line)
        self.tally.violations.append(line)

    def _markers(self) -> Counter[tuple[str, int]]:
        found: Counter[tuple[str, int]] = Counter()
        for deal in self.deals:
            for note in self.box.amo.notes_of(deal.id):
                text = str((note.get("params") or {}).get("text", ""))
                for payment_id, seq in MARKER.findall(text):
                    found[(payment_id, int(seq))] += 1
        return found

    def _check_always(self, where: str) -> None:
        for (payment_id, seq), count in self._markers().items():
            if count > 1:
                self._violate(where, f"marker {payment_id}#{seq} is in amoCRM {count} times")
        printed = "\n".join(self.output)
        self.output.clear()
        for secret in self.secrets:
            if secret and secret in printed:
                self._violate(where, "a secret was printed")

    def _formulas(self, title: str) -> Iterator[tuple[str, str]]:
        if self._sheet_id(title) is None:
            return
        got = self.book.fetch_sheet_metadata(
            params={"includeGridData": "true", "ranges": f"'{title}'"}
        )
        for sheet in got.get("sheets", []):
            for grid in sheet.get("data", []):
                for r, row in enumerate(grid.get("rowData", []) or [], start=1):
                    for c, cell in enumerate(row.get("values", []) or []):
                        formula = (cell.get("userEnteredValue") or {}).get("formulaValue")
                        if formula:
                            yield f"{_letter(c)}{r}", str(formula)

    def _settle_and_check(self, where: str) -> None:
        """No faults, headers restored, a deleted tab rebuilt: the daemon settles, then check."""
        self.tally.settles += 1
        for emulator in self._emulators().values():
            emulator.faults.clear()
        if self.renamed is not None:
            self._restore_header()
        if self._sheet_id(self.payments_title) is None:
            self._cli("init")
            self._cli("rebuild")
        self._remove_flagged_copies()
        quiet = 0
        for _ in range(8):
            before = self.box.amo.counters.by_kind.get("write", 0)
            self._sync()
            after = self.box.amo.counters.by_kind.get("write", 0)
            quiet = quiet + 1 if after == before else 0
            if quiet == 2:
                break
        else:
            self._violate(where, "the daemon never settled: amoCRM writes in every cycle")
        self._check_always(where)
        self._check_expenses(where)
        for title in (self.deals_title, self.payments_title):
            for a1, formula in self._formulas(title):
                self._violate(where, f"a formula in {title}!{a1}: {formula}")
        self._check_settled(where)

    def _remove_flagged_copies(self) -> None:
        """What the README asks of a person when rows are flagged E_DUPLICATE: delete the
        extra copies (the lowest ones), so that one row of each payment is left."""
        self._sync()
        seen: set[str] = set()
        extra: list[int] = []
        for number, row in self._payment_rows():
            if str(row[0]) in seen:
                extra.append(number)
            seen.add(str(row[0]))
        for number in sorted(extra, reverse=True):
            self._delete_rows_at(number)
            self.tally.edits["delete_flagged_copy"] += 1

    def _check_settled(self, where: str) -> None:
        rows = self._payment_rows()
        ids = Counter(str(row[0]) for _, row in rows)
        expected = {f"{deal.id}:{slot}" for deal in self.deals for slot in self._slots_of(deal)}
        for payment_id in sorted(expected):
            if ids[payment_id] != 1:
                self._violate(where, f"payment {payment_id} has {ids[payment_id]} ledger rows")
        for payment_id in sorted(set(ids) - expected):
            self._violate(where, f"ledger row {payment_id} matches no payment in amoCRM")
        markers = self._markers()
        ledger_totals: Counter[int] = Counter()
        for _, row in rows:
            payment_id = str(row[0])
            state = self._state(row)
            seq = int(m.group(1)) if (m := re.search(r"#(\d+)", state)) else 0
            for n in range(1, seq + 1):
                if markers[(payment_id, n)] != 1:
                    self._violate(
                        where,
                        f"{payment_id} says {state!r} but marker #{n} is in amoCRM "
                        f"{markers[(payment_id, n)]} times",
                    )
            ticked = self._ticked(row)
            if ticked and not state.startswith(("pushed", "partial")) and "E_" not in state:
                self._violate(where, f"{payment_id} is ticked but its state is {state!r}")
            amount = _decimal(self._cell(row, "Amount"))
            received = _decimal(self._cell(row, "Received amount"))
            deal_id = int(str(self._cell(row, "Deal ID")))
            if ticked and amount is not None:
                ledger_totals[deal_id] += received if received is not None else amount
            elif received is not None and received > 0:
                ledger_totals[deal_id] += received
        confirmed_field = self.box.info["amocrm"]["fields"]["confirmed_total"]
        for deal in self.deals:
            crm = Decimal(0)
            for entry in (self.box.amo.lead(deal.id) or {}).get("custom_fields_values") or ():
                if entry["field_id"] == confirmed_field:
                    crm = Decimal(str(entry["values"][0]["value"] or 0))
            ledger = Decimal(ledger_totals.get(deal.id, 0))
            if crm != ledger:
                self._violate(where, f"deal {deal.id}: amoCRM confirmed {crm}, ledger {ledger}")
                for _, row in rows:
                    if str(self._cell(row, "Deal ID")) == str(deal.id):
                        self.log(f"    row {row}")
                for note in self.box.amo.notes_of(deal.id):
                    self.log(f"    note {(note.get('params') or {}).get('text', '')!r}")

    def _slots_of(self, deal: Deal) -> list[int]:
        lead = self.box.amo.lead(deal.id) or {}
        filled = {e["field_id"] for e in lead.get("custom_fields_values") or ()}
        return [
            number
            for number, slot in enumerate(self.box.info["amocrm"]["slots"], start=1)
            if slot["amount"] in filled
        ]


@contextlib.contextmanager
def _scaled_backoff(scale: float) -> Iterator[None]:
    """``RetryPolicy.delay`` in this process with its own backoff times ``scale``."""
    original = RetryPolicy.delay

    def delay(
        policy: RetryPolicy, attempt: int, asked: float | None = None, minimum: float = 0.0
    ) -> float:
        if asked is not None:
            return original(policy, attempt, asked, minimum)
        return max(minimum, original(policy, attempt) * scale)

    RetryPolicy.delay = delay  # type: ignore[method-assign]
    try:
        yield
    finally:
        RetryPolicy.delay = original  # type: ignore[method-assign]


def _fault_kind(fired: dict[str, Any]) -> str:
    """The tally's name for a fault the emulator reports as fired."""
    kind = str(fired.get("kind"))
    if kind == "status":
        return "429" if fired.get("status") == 429 else "5xx"
    return {"delay": "timeout"}.get(kind, kind)


def _letter(index: int) -> str:
    text = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        text = chr(65 + rest) + text
    return text


def _decimal(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=20261202)
    parser.add_argument("--steps", type=int, default=700)
    parser.add_argument("--settle-every", type=int, default=40)
    parser.add_argument("--breaking", action="store_true", help="also play KNOWN_BREAKING steps")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="sheetledger-chaos-") as folder:
        run = ChaosRun(
            Path(folder),
            args.seed,
            steps=args.steps,
            settle_every=args.settle_every,
            breaking=args.breaking,
            log=print if args.verbose else (lambda line: None),
        )
        started = datetime.now(UTC)
        tally = run.play()
    print(f"chaos run, seed {args.seed}, {(datetime.now(UTC) - started).total_seconds():.0f} s")
    print(tally.summary())
    if tally.violations:
        print(f"reproduce: python -m tests.chaos.run --seed {args.seed} --steps {args.steps} -v")
    return 1 if tally.violations else 0


if __name__ == "__main__":
    sys.exit(main())
