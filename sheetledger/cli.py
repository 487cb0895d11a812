"""The ``sheetledger`` command line; the one place errors become messages and exit codes.

Exit codes: 0 all good, 1 the job found problems or failed, 2 the config (or the
command line) is wrong, 130 interrupted.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path

from rich.console import Console

from sheetledger import __version__
from sheetledger.config import Config, load_config
from sheetledger.errors import ConfigError, FatalError, RetriableError, SheetledgerError

log = logging.getLogger("sheetledger")

Command = Callable[[argparse.Namespace, Console], int]

EXIT_OK, EXIT_PROBLEMS, EXIT_CONFIG, EXIT_INTERRUPTED = 0, 1, 2, 130


def _load(args: argparse.Namespace, *, require_secrets: bool = True) -> Config:
    return load_config(args.config, require_secrets=require_secrets)


# --------------------------------------------------------------------------- commands


def cmd_check(args: argparse.Namespace, console: Console) -> int:
    from sheetledger.check import run_check

    return run_check(args.config, console)


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        message = f"expected a date such as 2026-11-27, got {text!r}"
        raise argparse.ArgumentTypeError(message) from exc


def cmd_parse(args: argparse.Namespace, console: Console) -> int:
    """Print what the bot would record for a message; exit 1 when a line would be refused."""
    import json

    from rich.table import Table
    from rich.text import Text

    from sheetledger.bot.parse import parse_message, result_records

    config = _load(args, require_secrets=False)
    text = sys.stdin.read() if args.text == ["-"] else " ".join(args.text)
    # The bot dates an expense by the day the message was sent in the configured zone.
    today = args.date or datetime.now(config.tz).date()
    result = parse_message(
        text,
        today=today,
        categories=config.expenses.categories,
        default_category=config.expenses.default_category,
        ceiling=config.expenses.ceiling,
    )
    if args.json:
        console.out(json.dumps(result_records(result), ensure_ascii=False, indent=2))
    else:
        table = Table(title=f"What the bot would record (today {today.isoformat()})")
        for column in ("line", "amount", "date", "category", "comment", "deal"):
            table.add_column(column, overflow="fold")
        for e in result.expenses:
            category = f"{e.category} (guessed)" if e.category_guessed else e.category
            cells = (str(e.line_no), str(e.amount), e.date.isoformat(), category, e.comment)
            # Text cells: a comment is data, never rich markup.
            table.add_row(*(Text(cell) for cell in (*cells, e.deal_ref or "")))
        if result.expenses:
            console.print(table)
        for error in result.errors:
            console.print(Text(f"line {error.line_no}: {error.code}: {error.message}", style="red"))
    return EXIT_OK if result.ok else EXIT_PROBLEMS


# --------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sheetledger",
        description=(
            "A Google Spreadsheet as the management ledger of a business that sells "
            "through amoCRM: payments in, confirmations back, expenses from Telegram."
        ),
    )
    parser.add_argument("--version", action="version", version=f"sheetledger {__version__}")
    parser.add_argument(
        "-c",
        "--config",
        type=Path,
        default=Path("config.yaml"),
        help="the configuration file (default: ./config.yaml)",
    )
    parser.add_argument(
        "--log-format", choices=("text", "json"), default=None, help="log lines as text or JSON"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    check = sub.add_parser(
        "check",
        help="validate the config and reach amoCRM, the spreadsheet(s) and the bot",
        description="Validate config.yaml, then reach amoCRM (/api/v4/account), open the "
        "spreadsheet and every cabinet, and call the bot's getMe. Prints every problem; "
        "exits non-zero when there is any.",
    )
    check.set_defaults(func=cmd_check)

    parse = sub.add_parser(
        "parse",
        help="show what the Telegram bot would record for an expense message",
        description="Read TEXT as the bot reads an expense message (one expense per line: "
        "amount, date word, #contract, category keywords, comment) and print what it would "
        "record. Needs only the expense categories of the config: no secrets, no network. "
        "Use it to try category keywords. --json prints a list with one object per "
        "non-empty line: {line, amount (a string such as \"3500.00\"), date, category, "
        "category_guessed, comment, deal_ref}, or {line, error, message, text} for a line "
        "the bot would refuse; line is the 0-based index used in the dedup key "
        "tg:<chat>:<message>:<line>. Exit code 0 when every non-empty line would be "
        "recorded, 1 when any line (or the whole message) would be refused.",
    )
    parse.add_argument(
        "text", nargs="+", metavar="TEXT", help="the message (quote it; '-' reads stdin)"
    )
    parse.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parse.add_argument(
        "--date",
        type=_iso_date,
        default=None,
        metavar="YYYY-MM-DD",
        help="the day the message was sent (default: today in the config's time zone)",
    )
    parse.set_defaults(func=cmd_parse)

    return parser


def _setup_logging(args: argparse.Namespace) -> None:
    from sheetledger.logs import setup_logging

    setup_logging(
        level="DEBUG" if args.verbose else "INFO",
        fmt=args.log_format or "text",
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    console = Console(highlight=False)
    err = Console(stderr=True, highlight=False)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return EXIT_CONFIG
    _setup_logging(args)
    func: Command = args.func
    try:
        return func(args, console)
    except ConfigError as exc:
        err.print(f"[red]config problem[/red] {exc}", markup=True, soft_wrap=True)
        return EXIT_CONFIG
    except FatalError as exc:
        err.print(f"[red]stopped:[/red] {exc}", soft_wrap=True)
        return EXIT_PROBLEMS
    except RetriableError as exc:
        err.print(f"[yellow]temporary failure:[/yellow] {exc}", soft_wrap=True)
        return EXIT_PROBLEMS
    except SheetledgerError as exc:
        err.print(f"[red]error:[/red] {exc}", soft_wrap=True)
        return EXIT_PROBLEMS
    except KeyboardInterrupt:
        err.print("interrupted")
        return EXIT_INTERRUPTED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
