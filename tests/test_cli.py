"""The command line is built from one table: each subcommand declared once (``cli.SUBCOMMANDS``)."""

from __future__ import annotations

import argparse
import re

import pytest

from sheetledger.cli import SUBCOMMANDS, Subcommand, build_parser, cmd_sync


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def _words(text: str) -> str:
    return " ".join(text.split())


def test_every_subcommand_is_declared_once_and_listed_in_that_order() -> None:
    names = [command.name for command in SUBCOMMANDS]
    assert len(names) == len(set(names))
    assert list(_subparsers(build_parser())) == names


@pytest.mark.parametrize("command", SUBCOMMANDS, ids=lambda c: c.name)
def test_a_subcommand_gets_its_handler_help_and_arguments(command: Subcommand) -> None:
    parser = build_parser()
    sub = _subparsers(parser)[command.name]
    assert sub.get_default("func") is command.handler
    assert sub.description == command.description
    top = _words(parser.format_help())
    assert re.search(rf"\b{re.escape(command.name)} {re.escape(_words(command.help))}", top)
    shown = _words(sub.format_help())
    for argument in command.arguments:
        if argument.options.get("help") == argparse.SUPPRESS:
            assert argument.flags[0] not in shown
            continue
        assert argument.flags[-1] in shown or argument.options.get("metavar", "") in shown
        assert _words(str(argument.options["help"])) in shown


def test_a_parsed_command_line_carries_the_arguments_and_the_handler() -> None:
    args = build_parser().parse_args(["sync", "--dry-run", "--once"])
    assert args.func is cmd_sync
    assert (args.dry_run, args.full, args.once) == (True, False, True)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["sync", "--no-such-flag"])
