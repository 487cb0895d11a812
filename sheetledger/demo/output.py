"""What the demo prints besides its steps: the cash table and the verdict with what to try next."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from sheetledger.demo.base import DemoResult, money_of, rub, sheet_day


def cash_text(cash: Mapping[str, Decimal]) -> str:
    return ", ".join(f"{m}: {rub(v)}" for m, v in sorted(cash.items()))


def cash_table(title: str, rows: list[dict[str, Any]]) -> Table:
    """The Cash on hand tab as the owner sees it, with a total."""
    table = Table(title=title, title_justify="left")
    for column in ("manager", "cash held", "payments", "oldest"):
        table.add_column(column, justify="left" if column == "manager" else "right")
    for row in rows:
        oldest = sheet_day(row.get("Oldest"))
        table.add_row(
            str(row["Manager"]),
            rub(row["Cash held"]),
            str(row["Payments"]),
            f"{oldest:%d.%m.%Y}" if oldest else "—",
        )
    total = sum((money_of(r["Cash held"]) for r in rows), Decimal(0))
    table.add_row(Text("total", style="bold"), Text(rub(total), style="bold"), "", "")
    return table


def print_verdict(console: Console, result: DemoResult) -> None:
    """Every check's outcome in one line (or the failed ones), then what to look at next."""
    failed = result.failed
    passed = len(result.checks) - len(failed)
    console.print()
    if failed:
        text = Text(f"✘ {len(failed)} of {len(result.checks)} checks failed:\n", style="bold red")
        for c in failed:
            text.append(f"  {c.step}: {c.what}" + (f" — {c.detail}" if c.detail else "") + "\n")
        console.print(Panel(text, border_style="red", expand=False))
    else:
        console.print(
            Text(
                f"✔ all {passed} checks passed in {result.seconds:.1f}s",
                style="bold green",
            )
        )
    folder = result.folder
    console.print(
        Panel(
            Text.assemble(
                ("Look around: ", "bold"),
                f"everything is saved in {folder}/ (the daemon's log: {folder}/demo.log)\n\n",
                f"  sheetledger sandbox --state-dir {folder}\n",
                (
                    "      the emulators again, on the saved state "
                    "(on the same ports when they are free)\n",
                    "dim",
                ),
                (
                    "      and a web page (it prints the address): the spreadsheets, amoCRM "
                    "deals and Telegram chats\n      as people see them; tick, type, write "
                    "to the bot as the cashier, the accountant or the owner\n",
                    "bold",
                ),
                f"  sheetledger -c {folder}/config.yaml status\n",
                ("      what the daemon did last\n", "dim"),
                f"  sheetledger -c {folder}/config.yaml run\n",
                ("      the daemon, while the sandbox runs (another terminal)\n", "dim"),
                f"  sheetledger -c {folder}/config.yaml sync --dry-run\n",
                ("      what a cycle would do now\n", "dim"),
                f"  {folder}/sandbox.json",
                ("   ids, tokens, and the emulators' /_sandbox/ control URLs", "dim"),
            ),
            title="next",
            title_align="left",
            expand=False,
        )
    )
