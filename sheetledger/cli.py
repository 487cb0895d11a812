"""The ``sheetledger`` command line; the one place errors become messages and exit codes.

Exit codes: 0 all good, 1 the job found problems or failed, 2 the config (or the
command line) is wrong, 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from sheetledger import __version__, commands
from sheetledger.bank.importer import run_import
from sheetledger.bot.app import run_bot
from sheetledger.bot.parse import parse_message, result_records
from sheetledger.check import run_check
from sheetledger.config import Config, load_config
from sheetledger.daemon import run_daemon
from sheetledger.errors import ConfigError, FatalError, RetriableError, SheetledgerError
from sheetledger.logs import setup_logging
from sheetledger.orders.command import list_orders
from sheetledger.rebuild.command import rebuild
from sheetledger.reconcile.command import EXIT_NOT_RUN, backup, digest, reconcile, restore
from sheetledger.status import print_status

log = logging.getLogger("sheetledger")

Command = Callable[[argparse.Namespace, Console], int]

EXIT_OK, EXIT_PROBLEMS, EXIT_CONFIG, EXIT_INTERRUPTED = 0, 1, 2, 130


def _load(args: argparse.Namespace, *, require_secrets: bool = True) -> Config:
    return load_config(args.config, require_secrets=require_secrets)


# --------------------------------------------------------------------------- commands


def cmd_check(args: argparse.Namespace, console: Console) -> int:
    return run_check(args.config, console)


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        message = f"expected a date such as 2026-11-27, got {text!r}"
        raise argparse.ArgumentTypeError(message) from exc


def cmd_parse(args: argparse.Namespace, console: Console) -> int:
    """Print what the bot would record for a message; exit 1 when a line would be refused."""
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


def cmd_init(args: argparse.Namespace, console: Console) -> int:
    return commands.init(_load(args), console)


def cmd_discover(args: argparse.Namespace, console: Console) -> int:
    return commands.discover(_load(args), console)


def cmd_sync(args: argparse.Namespace, console: Console) -> int:
    return commands.sync(_load(args), console, full=args.full, dry_run=args.dry_run)


def cmd_report(args: argparse.Namespace, console: Console) -> int:
    return commands.report(
        _load(args),
        console,
        month=args.month,
        start=args.start,
        end=args.end,
        by=args.by,
        json_out=args.json,
        png=args.png,
    )


def cmd_import_statement(args: argparse.Namespace, console: Console) -> int:
    return run_import(
        _load(args),
        console,
        args.files,
        dry_run=args.dry_run,
        accept_unbalanced=args.accept_unbalanced,
    )


def cmd_rebuild(args: argparse.Namespace, console: Console) -> int:
    return rebuild(_load(args), console, dry_run=args.dry_run)


def cmd_reconcile(args: argparse.Namespace, console: Console) -> int:
    try:
        config = _load(args)
    except ConfigError as exc:  # cron reads 2 as "could not run", whatever stopped it
        Console(stderr=True).print(f"config problem {exc}", markup=False, soft_wrap=True)
        return EXIT_NOT_RUN
    return reconcile(config, console, as_json=args.json)


def cmd_backup(args: argparse.Namespace, console: Console) -> int:
    return backup(_load(args), console)


def cmd_restore(args: argparse.Namespace, console: Console) -> int:
    ids = [i.strip() for i in args.ids.split(",") if i.strip()] if args.ids else None
    return restore(
        _load(args), console, backup=args.backup, tab=args.tab, ids=ids, dry_run=args.dry_run
    )


def cmd_digest(args: argparse.Namespace, console: Console) -> int:
    return digest(_load(args), console, now=args.now, to=args.to)


def cmd_auth_google(args: argparse.Namespace, console: Console) -> int:
    """``sheetledger auth google``: sign in once as a person; keep the refresh token."""
    # optional dependency: google-auth-oauthlib, loaded by the adapter only for this command
    from sheetledger.ledger.google import installed_app_flow

    out = Path(args.out)
    info = installed_app_flow(args.client_secrets, open_browser=not args.no_browser)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.touch(mode=0o600, exist_ok=True)
    out.chmod(0o600)
    out.write_text(json.dumps(info, indent=2), encoding="utf-8")
    console.print(
        f"saved the refresh token to {out} (mode 600). Add to the config:\n"
        f"google:\n  oauth_user:\n    credentials_file: {out}"
    )
    return EXIT_OK


def cmd_orders(args: argparse.Namespace, console: Console) -> int:
    return list_orders(_load(args), console, overdue=args.overdue, as_json=args.json)


def cmd_bot(args: argparse.Namespace, console: Console) -> int:
    return run_bot(_load(args))


def cmd_sandbox(args: argparse.Namespace, console: Console) -> int:
    # Local, and only here and in `demo`: the product never loads the sandbox otherwise.
    from sheetledger.sandbox.runner import Sandbox
    from sheetledger.sandbox.web import WebPage  # the sandbox's web page

    # A folder with a saved sandbox is resumed, whatever --seed says.
    resumed = (args.state_dir / "sandbox.json").exists()
    box = Sandbox.start(
        args.state_dir,
        seed=args.seed,
        ports=(args.amocrm_port, args.google_port, args.telegram_port),
    )
    what = "resumed" if resumed else args.seed
    table = Table(title=f"sheetledger sandbox ({what}) — state in {args.state_dir}")
    table.add_column("service")
    table.add_column("base URL")
    table.add_column("control side")
    for name, url in box.urls.items():
        table.add_row(name, url, f"{url}/_sandbox/")
    console.print(table)
    console.print(
        f"config: {box.config_path}  (try: sheetledger -c {box.config_path} check)", soft_wrap=True
    )
    console.print(f"ids and tokens: {box.folder / 'sandbox.json'}", soft_wrap=True)
    page = WebPage(box, getattr(args, "web_port", 0)).start()
    console.print(
        f"[bold]web page:[/bold] {page.url}\n"
        "  the spreadsheets, amoCRM, the Telegram chats and the SMS, live; act as the cashier, "
        "the accountant or the owner (loopback only; the token is the key)",
        soft_wrap=True,
    )
    console.print("Ctrl+C stops it; the state is saved to the folder and resumed next time.")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(30):
            box.save()  # a crash loses at most half a minute of sandbox state
    except KeyboardInterrupt:
        pass
    page.stop()
    box.stop(save=True)
    console.print("sandbox stopped, state saved")
    return 0


def cmd_demo(args: argparse.Namespace, console: Console) -> int:
    # Local: the demo runs on the sandbox, which the product never loads otherwise.
    from sheetledger.demo import run_demo

    result = run_demo(args.state_dir, console)
    if args.keep and result.exit_code == EXIT_OK:
        # Look around right away: the emulators again, on the state the demo saved.
        ports = {"amocrm_port": 0, "google_port": 0, "telegram_port": 0}
        cmd_sandbox(argparse.Namespace(state_dir=args.state_dir, seed="demo", **ports), console)
    return result.exit_code


def cmd_run(args: argparse.Namespace, console: Console) -> int:
    config = _load(args)
    if args.log_format is None:  # the command line wins over the config's `logging`
        level = "DEBUG" if args.verbose else config.logging.level
        setup_logging(level=level, fmt=config.logging.format)
    return run_daemon(config)


def cmd_status(args: argparse.Namespace, console: Console) -> int:
    return print_status(_load(args, require_secrets=False), console)


# --------------------------------------------------------------------------- parser


@dataclass(frozen=True)
class Arg:
    """One ``add_argument`` call: its flags (or name) and its keyword options."""

    flags: tuple[str, ...]
    options: Mapping[str, Any]


def arg(*flags: str, **options: Any) -> Arg:
    return Arg(flags, options)


@dataclass(frozen=True)
class Subcommand:
    """A subcommand, declared once: its name, help, description, arguments and handler."""

    name: str
    handler: Command
    help: str
    description: str
    arguments: tuple[Arg, ...] = ()

    def add_to(self, sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
        parser = sub.add_parser(self.name, help=self.help, description=self.description)
        for argument in self.arguments:
            parser.add_argument(*argument.flags, **argument.options)
        parser.set_defaults(func=self.handler)


# The subcommands, in the order ``sheetledger --help`` lists them.
SUBCOMMANDS: tuple[Subcommand, ...] = (
    Subcommand(
        "check",
        handler=cmd_check,
        help="validate the config and reach amoCRM, the spreadsheet(s) and the bot",
        description="Validate config.yaml, then reach amoCRM (/api/v4/account), open the "
        "spreadsheet and every cabinet, and call the bot's getMe. Prints every problem; "
        "exits non-zero when there is any.",
    ),
    Subcommand(
        "init",
        handler=cmd_init,
        help="prepare the spreadsheet's tabs, headers, formats and checkboxes (safe to repeat)",
        description="Add the managed tabs (Deals, Payments, Cash on hand, Invoices, hidden _state; "
        "a cabinet's Payments, Orders, Requests) with "
        "their headers, formats, checkboxes and warning-only protection. With "
        "google.oauth_user, a cabinet without spreadsheet_id is created in your Drive, shared "
        "with the service account (and the cabinet's email), and its ID kept in state.db. "
        "Running it again changes nothing; it never deletes tabs, rows or columns people added.",
    ),
    Subcommand(
        "discover",
        handler=cmd_discover,
        help="list amoCRM pipelines, statuses, users and deal fields, to fill config.yaml",
        description="Print the account's pipelines with their statuses, the users, and every "
        "deal custom field with its id, type and options.",
    ),
    Subcommand(
        "sync",
        handler=cmd_sync,
        help="run one sync cycle: pull deals and payments, push confirmations",
        description="One cycle: read the ledger, pull deals changed in amoCRM since the cursor, "
        "write new and changed rows, push ticked payments to amoCRM (fields, status, a note), "
        "rewrite Cash on hand. Exit code 1 when a row or a service had a problem.",
        arguments=(
            # `sync` always runs one cycle (`run` is the daemon); `--once`, from the first design,
            # is still accepted so scripts that pass it keep working, and not shown.
            arg("--once", action="store_true", help=argparse.SUPPRESS),
            arg(
                "--dry-run",
                action="store_true",
                help="print what would change; write nothing anywhere",
            ),
            arg(
                "--full",
                action="store_true",
                help="re-read every deal, not only those changed since the cursor",
            ),
        ),
    ),
    Subcommand(
        "report",
        handler=cmd_report,
        help="print revenue, costs and net profit for a period, by manager, product, salon, city",
        description="Read Deals, Payments and Expenses once and print the P&L of the period "
        "(each month and the total) and net profit by manager, product, salon and city with "
        "the allocation of untagged operating costs shown (reports.allocation). The same "
        "figures as the Profit, P&L and Dimensions tabs. Writes nothing.",
        arguments=(
            arg("--month", metavar="YYYY-MM", help="one calendar month (default: this one)"),
            arg(
                "--from",
                dest="start",
                type=date.fromisoformat,
                metavar="YYYY-MM-DD",
                help="the first day of the period (default: 1 January)",
            ),
            arg(
                "--to",
                dest="end",
                type=date.fromisoformat,
                metavar="YYYY-MM-DD",
                help="the last day of the period (default: today)",
            ),
            arg(
                "--by",
                choices=("manager", "product", "salon", "city"),
                help="only this dimension (default: all four)",
            ),
            arg("--json", action="store_true", help="print JSON (amounts as strings)"),
            arg(
                "--png",
                type=Path,
                metavar="FILE",
                help="also save the chart of marketing spend against turnover by month as a PNG",
            ),
        ),
    ),
    Subcommand(
        "import-statement",
        handler=cmd_import_statement,
        help="import bank statements (1CClientBankExchange .txt) and confirm the money found",
        description="Parse each file (1CClientBankExchange 1.02/1.03, any encoding), check its "
        "balances, add its lines to the Bank tab (a line already there is skipped, so "
        "importing again or an overlapping statement is safe), match incoming money to "
        "unconfirmed non-cash payments, tick the sure matches and push them to amoCRM with "
        "a note naming the rule. A file of an account not in bank.accounts, a file cut short "
        "or one that does not add up is refused and nothing is written.",
        arguments=(
            arg("files", nargs="+", type=Path, metavar="FILE", help="statement file(s)"),
            arg("--dry-run", action="store_true", help="print what would happen; write nothing"),
            arg(
                "--accept-unbalanced",
                action="store_true",
                help="import a file whose balances or turnovers do not add up (they are printed)",
            ),
        ),
    ),
    Subcommand(
        "rebuild",
        handler=cmd_rebuild,
        help="restore the ledger from amoCRM: every deal and payment row, every confirmation",
        description="Recreate deleted tabs, then bring back every deal and payment row from "
        "amoCRM and every confirmation, partial receipt and reversal from the marker notes the "
        "daemon left in the deals (with who confirmed and when). People's cells that still "
        "hold something are left as they are; nothing is sent to amoCRM. Run it when a sync "
        "says a tab was deleted or emptied.",
        arguments=(
            arg(
                "--dry-run", action="store_true", help="print what would be restored; write nothing"
            ),
        ),
    ),
    Subcommand(
        "reconcile",
        handler=cmd_reconcile,
        help="compare the ledger with amoCRM and itself; write the Reconciliation tab",
        description="Read the ledger, every deal of the synced pipelines and every marker "
        "note in amoCRM (in bulk), and list what does not agree: payments missing from the "
        "ledger, ticks not in amoCRM, amounts changed after confirmation, lost confirmations, "
        "duplicated rows, cash held too long, overdue payments, unpaid won deals, vanished "
        "deals, uncategorised expenses. The Reconciliation tab shows each finding with what "
        "to do; tick Seen to mute one until it changes. Exit code 0 when clean, 1 when "
        "there are errors, 2 when it could not run (for cron).",
        arguments=(arg("--json", action="store_true", help="print the findings as JSON"),),
    ),
    Subcommand(
        "backup",
        handler=cmd_backup,
        help="save every tab of the master and the cabinets to state_dir/backups (.xlsx, JSON)",
        description="Read every tab of the master spreadsheet and of each cabinet, values as "
        "they are (two Sheets requests per spreadsheet), and save them in a new folder "
        "state_dir/backups/<UTC time>/ as <name>.xlsx and <name>.jsonl. Older backups beyond "
        "backup.keep are deleted. The daemon takes one every night.",
    ),
    Subcommand(
        "restore",
        handler=cmd_restore,
        help="put rows deleted from a tab back from a backup, by ID, touching no existing row",
        description="Read TAB of the master from BACKUP (a folder in state_dir/backups, or "
        "its name) and append the rows whose ID the tab no longer has, with every cell they "
        "had (ticks, comments, sync state): a sync afterwards pushes nothing again. Rows that "
        "are still in the tab are never written.",
        arguments=(
            arg("backup", metavar="BACKUP", help="the backup folder, or its name"),
            arg("--tab", required=True, help="the tab's title (or key, e.g. payments)"),
            arg(
                "--ids",
                default=None,
                metavar="ID,...",
                help="only these row IDs (default: every lost row)",
            ),
            arg("--dry-run", action="store_true", help="print what would come back; write nothing"),
        ),
    ),
    Subcommand(
        "digest",
        handler=cmd_digest,
        help="send the daily Telegram digest (to the owner and the cashier)",
        description="Build the day's digest from the ledger — yesterday's confirmed revenue "
        "and costs, the month to date against the same days of last month, cash on each "
        "manager and for how long, the open reconciliation findings — and send it in "
        "Telegram to the owners (the cashiers get the cash on the managers). Without --now "
        "it sends only when due (after digest.at, once a day, remembered in state.db).",
        arguments=(
            arg(
                "--now",
                action="store_true",
                help="send it now, whatever the time and the memory say",
            ),
            arg("--to", type=int, default=None, metavar="CHAT", help="send only to this chat id"),
        ),
    ),
    Subcommand(
        "auth",
        handler=cmd_auth_google,
        help="sign in to a service once and keep the credentials (auth google)",
        description="auth google: the installed-app OAuth flow for a personal Google account; "
        "its refresh token is kept as a secret file, so bills are uploaded to Drive as that "
        "person and `sheetledger init` can create the cabinets' spreadsheets (a service "
        "account cannot own files in a personal Drive).",
        arguments=(
            arg("service", choices=["google"], help="the service to sign in to: google"),
            arg(
                "--client-secrets",
                required=True,
                help="the OAuth client (Desktop app) JSON downloaded from Google Cloud Console",
            ),
            arg("--out", default="secrets/google-user.json", help="where to keep it"),
            arg("--no-browser", action="store_true", help="print the link instead"),
        ),
    ),
    Subcommand(
        "bot",
        handler=cmd_bot,
        help="run the Telegram bot alone: expenses from whitelisted people into the ledger",
        description="Poll Telegram and record expense messages of the people listed in "
        "telegram.users into the Expenses tab (one row per line, dedup key "
        "tg:<chat>:<message>:<line>). An update is confirmed only after its row is written "
        "or kept in the local outbox (state_dir/state.db) while Google is unreachable; the "
        "outbox is flushed every schedule.outbox_flush. Runs until SIGINT/SIGTERM.",
    ),
    Subcommand(
        "run",
        handler=cmd_run,
        help="the daemon: sync on schedule, flush the bot's outbox, run the Telegram bot",
        description="Run until SIGTERM/SIGINT: the sync job (every minute by default, "
        "schedule.sync), the outbox flush and the Telegram bot, in one process. A stop "
        "finishes the running job first. Outages are logged and announced once.",
    ),
    Subcommand(
        "status",
        handler=cmd_status,
        help="last run, result and duration of each job, the cursor, the outbox, the last error",
        description="Read the local state (state.db) and print what the daemon did last; "
        "usable while the daemon runs. Needs no secrets.",
    ),
    Subcommand(
        "sandbox",
        handler=cmd_sandbox,
        help="run emulators of amoCRM, Google Sheets and Telegram on loopback, with a config",
        description="Start faithful emulators of amoCRM API v4, Google Sheets v4 (+ Drive and "
        "OAuth), the Telegram Bot API and an SMS gateway (sms.ru, SMSC) on free loopback ports, "
        "seed them, and write STATE_DIR/config.yaml (complete: no environment needed) and "
        "STATE_DIR/sandbox.json; serve a web page showing the spreadsheets, amoCRM and the "
        "Telegram chats (its address is printed). Runs until interrupted; the state is saved "
        "to STATE_DIR and resumed next time.",
        arguments=(
            arg(
                "--seed",
                choices=("empty", "demo"),
                default="empty",
                help="what the accounts start with",
            ),
            arg(
                "--state-dir",
                type=Path,
                default=Path(".sandbox"),
                help="where config and state go (default .sandbox)",
            ),
            arg(
                "--amocrm-port",
                type=int,
                default=0,
                help="fixed port for amoCRM (default: any free one)",
            ),
            arg(
                "--google-port",
                type=int,
                default=0,
                help="fixed port for Google (default: any free one)",
            ),
            arg(
                "--telegram-port",
                type=int,
                default=0,
                help="fixed port for Telegram (default: any free one)",
            ),
            arg(
                "--web-port",
                type=int,
                default=0,
                help="fixed port for the web page (default: any free one)",
            ),
        ),
    ),
    Subcommand(
        "demo",
        handler=cmd_demo,
        help="play a working day of a furniture business on the sandbox, checking every step",
        description="Start the sandbox with the demo business (about 200 deals over two months), "
        "prepare the spreadsheets, run the real daemon (sync and bot) in this process and play "
        "a day: new deals, a cash handover, a bank statement sent to the bot, expenses sent to "
        "the bot, confirmations pushed to amoCRM, a payment order paid, the evening's "
        "reconciliation, digest and reports. Prints each step and checks it; exits 1 if any "
        "check fails. STATE_DIR is emptied first and keeps the sandbox state afterwards.",
        arguments=(
            arg(
                "--state-dir",
                type=Path,
                default=Path(".demo"),
                help="where the sandbox goes (default .demo; emptied first)",
            ),
            arg(
                "--keep",
                action="store_true",
                help="afterwards keep the sandbox running on that state until Ctrl+C",
            ),
        ),
    ),
    Subcommand(
        "orders",
        handler=cmd_orders,
        help="list the payment orders: open ones, and those paid or rejected lately",
        description="Read the master's Invoices tab once and print the open payment orders "
        "(by due day), then those paid or rejected in the last orders.recent_days. "
        "--overdue lists only the orders unpaid after their due day (E_OVERDUE). Writes nothing.",
        arguments=(
            arg("--overdue", action="store_true", help="only the overdue orders"),
            arg("--json", action="store_true", help="print JSON (amounts as strings)"),
        ),
    ),
    Subcommand(
        "parse",
        handler=cmd_parse,
        help="show what the Telegram bot would record for an expense message",
        description="Read TEXT as the bot reads an expense message (one expense per line: "
        "amount, date word, #contract, category keywords, comment) and print what it would "
        "record. Needs only the expense categories of the config: no secrets, no network. "
        "Use it to try category keywords. --json prints a list with one object per "
        'non-empty line: {line, amount (a string such as "3500.00"), date, category, '
        "category_guessed, comment, deal_ref}, or {line, error, message, text} for a line "
        "the bot would refuse; line is the 0-based index used in the dedup key "
        "tg:<chat>:<message>:<line>. Exit code 0 when every non-empty line would be "
        "recorded, 1 when any line (or the whole message) would be refused.",
        arguments=(
            arg("text", nargs="+", metavar="TEXT", help="the message (quote it; '-' reads stdin)"),
            arg("--json", action="store_true", help="print JSON instead of a table"),
            arg(
                "--date",
                type=_iso_date,
                default=None,
                metavar="YYYY-MM-DD",
                help="the day the message was sent (default: today in the config's time zone)",
            ),
        ),
    ),
)


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
    for command in SUBCOMMANDS:
        command.add_to(sub)

    return parser


def _setup_logging(args: argparse.Namespace) -> None:
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
