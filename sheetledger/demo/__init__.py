"""``sheetledger demo``: a working day of a furniture business, played on the sandbox.

Everything runs on this machine and needs no account anywhere: the three emulators
(amoCRM, Google Sheets, Telegram) on loopback, seeded with two months of deals
(``sandbox/demo_seed.py``), and the **real daemon** (``Daemon``: its sync job and its
Telegram bot, in this process) doing the work. The demo only plays the people — managers
in amoCRM, the owner, the cashier and the accountant in their spreadsheets and in
Telegram — and asks the daemon for a sync when the story needs one (``run_sync_now``, as
the minute timer would). Every step is checked against the emulators' own state; the exit
code is 1 when any check fails.

The story:

1. the sandbox starts with the demo business (``--seed demo``);
2. ``init`` prepares the master spreadsheet and the cabinets;
3. go-live: the daemon starts and imports every deal; the owner ticks the payments her old
   records say were received, and the daemon writes them into amoCRM once;
4. morning: five new deals arrive through amoCRM's API and the daemon pulls them;
5. evening: the cashier accepts a manager's cash handover in the cashbox cabinet;
6. the accountant ticks bank and card payments in her cabinet (one arrived short);
7. the owner types three expenses to the bot;
8. the daemon pushes everything back: notes, confirmed totals, statuses — once;
9. a payment order: the supply manager asks in his Requests tab for a bill of a new deal to
   be paid, the accountant is told (Telegram and SMS) and pays it in her Orders tab, the
   deal's note and «costs paid» appear in amoCRM, and the supply manager is told;
10. evening: reconciliation, the digest and the owner's figures;
11. the daemon stops and the sandbox state is saved, to be looked around in.

The package, one module per part: ``runner`` (the folder, the log, the steps in order),
``base`` (the checks and what every step reads and types), ``output`` (the tables and the
verdict), ``story`` (the day as data), and the steps: ``start`` (1–3), ``payments`` (4, 5, 8),
``bank`` (6), ``bot`` (7), ``orders`` (9), ``evening`` (10, 11).
"""

from __future__ import annotations

from sheetledger.demo.bank import demo_statement
from sheetledger.demo.base import (
    Check,
    DemoResult,
    SheetTab,
    StopDemo,
    money_of,
    read_tab,
    rub,
    sheet_day,
)
from sheetledger.demo.output import cash_table
from sheetledger.demo.runner import Demo, prepare_folder, run_demo
from sheetledger.demo.story import (
    BANK_FEE,
    BOT_TIMEOUT,
    CHART_PNG,
    CYCLE_TIMEOUT,
    MORNING_DEALS,
    OPENING_BY,
    OWN_ENTRIES,
    STATEMENT_FILE,
    STRANGER_DAYS,
    NewDeal,
)

__all__ = [
    "BANK_FEE",
    "BOT_TIMEOUT",
    "CHART_PNG",
    "CYCLE_TIMEOUT",
    "MORNING_DEALS",
    "OPENING_BY",
    "OWN_ENTRIES",
    "STATEMENT_FILE",
    "STRANGER_DAYS",
    "Check",
    "Demo",
    "DemoResult",
    "NewDeal",
    "SheetTab",
    "StopDemo",
    "cash_table",
    "demo_statement",
    "money_of",
    "prepare_folder",
    "read_tab",
    "rub",
    "run_demo",
    "sheet_day",
]
