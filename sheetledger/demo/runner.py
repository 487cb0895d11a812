"""The demo's runner: an empty folder, the log file, the steps in order, the verdict."""

from __future__ import annotations

import contextlib
import logging
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

from rich.console import Console
from rich.panel import Panel
from rich.text import Text

from sheetledger.demo.bank import BankSteps
from sheetledger.demo.base import DemoResult, StopDemo
from sheetledger.demo.bot import BotSteps
from sheetledger.demo.evening import EveningSteps
from sheetledger.demo.orders import OrderSteps
from sheetledger.demo.output import print_verdict
from sheetledger.demo.payments import PaymentSteps
from sheetledger.demo.start import StartSteps
from sheetledger.demo.story import OWN_ENTRIES
from sheetledger.errors import SheetledgerError
from sheetledger.logs import RedactingFilter
from sheetledger.sandbox.demo_seed import DEMO_TIMEZONE

log = logging.getLogger("sheetledger.demo")


@contextlib.contextmanager
def _logs_into(path: Path) -> Iterator[None]:
    """The daemon's log lines go to ``path`` while the demo prints; warnings too."""
    root = logging.getLogger()
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    quiet = [(h, h.level) for h in root.handlers if getattr(h, "_sheetledger", False)]
    for other, _ in quiet:
        other.setLevel(logging.CRITICAL + 1)
    level = root.level
    root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    try:
        yield
    finally:
        root.removeHandler(handler)
        handler.close()
        root.setLevel(level)
        for other, old in quiet:
            other.setLevel(old)


def prepare_folder(folder: Path) -> None:
    """Make ``folder`` empty for a fresh run, refusing to wipe anything the demo did not make."""
    if folder.exists():
        strangers = sorted(p.name for p in folder.iterdir() if p.name not in OWN_ENTRIES)
        if strangers:
            raise SheetledgerError(
                f"{folder} holds files the demo did not make ({', '.join(strangers[:5])}); "
                "choose another --state-dir or empty it"
            )
        shutil.rmtree(folder)
    folder.mkdir(parents=True)


class Demo(StartSteps, PaymentSteps, BankSteps, BotSteps, OrderSteps, EveningSteps):
    """The whole day: the steps in order, a clean stop whatever happens, the verdict."""

    # -- the story ------------------------------------------------------------------------

    def run(self) -> DemoResult:
        try:
            self.start_sandbox()
            self.init_spreadsheets()
            self.go_live()
            self.morning_deals()
            self.cash_handover()
            self.accountant_ticks()
            self.owner_expenses()
            self.push_back()
            self.payment_order()
            self.evening()
            self.finish()
        except StopDemo:
            self.console.print(Text("The demo cannot go on after this failure.", style="bold red"))
        except Exception as exc:  # a bug or an outage: a failed check, and a clean stop
            log.exception("the demo failed")
            self.check("the step ran without an error", False, f"{type(exc).__name__}: {exc}")
        finally:
            self.shut_down()
        self.result.seconds = time.monotonic() - self.started
        print_verdict(self.console, self.result)
        return self.result

    def shut_down(self) -> None:
        if self.serving is not None:
            self.serving.stop()
            self.daemon.close()
        if self.box is not None:
            self.box.stop(save=True)
            saved = sorted(p.name for p in (self.folder / "state").glob("*.json"))
            self.step_name = "11. End of the day"
            self.check(
                "the sandbox state is saved in the folder",
                len(saved) == len(self.box.servers),  # one file per emulator
                ", ".join(saved),
            )


def run_demo(folder: Path, console: Console | None = None, *, log_file: bool = True) -> DemoResult:
    """Play the day in ``folder`` (emptied first) and print it; the result holds every check."""
    folder = Path(folder)
    console = console or Console(highlight=False)
    prepare_folder(folder)
    console.print(
        Panel(
            Text.assemble(
                ("sheetledger demo", "bold"),
                " — a working day of a furniture business that sells through amoCRM.\n",
                "amoCRM, Google Sheets and Telegram are emulators on this machine; "
                "the daemon is the real one.\n",
                f"State folder: {folder}/ · the business's time zone: {DEMO_TIMEZONE}",
            ),
            expand=False,
        )
    )
    demo = Demo(folder, console)
    logs: contextlib.AbstractContextManager[None] = (
        _logs_into(folder / "demo.log") if log_file else contextlib.nullcontext()
    )
    with logs:
        return demo.run()
