"""The ``sheetledger`` command line; the one place errors become messages and exit codes.

Exit codes: 0 all good, 1 the job found problems or failed, 2 the config (or the
command line) is wrong, 130 interrupted.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
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
