"""The docs are tested against the code: every command has help and is in the README."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from sheetledger.cli import build_parser, main

README = Path(__file__).resolve().parents[1] / "README.md"


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    [action] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(action.choices)


def summaries() -> dict[str, str]:
    parser = build_parser()
    [action] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return {choice.dest: choice.help or "" for choice in action._choices_actions}


COMMANDS = sorted(subcommands())


def test_there_are_commands() -> None:
    assert {"check", "init", "sandbox"} <= set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_a_summary_and_a_description(command: str) -> None:
    assert summaries()[command].strip(), f"`sheetledger {command}` has no help= summary"
    description = subcommands()[command].description or ""
    assert description.strip(), f"`sheetledger {command}` has no description="


@pytest.mark.parametrize("command", COMMANDS)
def test_every_option_is_explained(command: str) -> None:
    undocumented = [
        action.option_strings[0] if action.option_strings else action.dest
        for action in subcommands()[command]._actions
        if not isinstance(action, argparse._HelpAction) and not (action.help or "").strip()
    ]
    assert undocumented == [], f"`sheetledger {command}`: no help for {undocumented}"


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_answers_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: sheetledger {command}")
    description = " ".join((subcommands()[command].description or "").split())
    assert description in " ".join(out.split())


def test_the_top_level_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert [c for c in COMMANDS if not re.search(rf"^\s+{c}\s", out, re.M)] == []


def test_no_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage: sheetledger" in capsys.readouterr().out


def test_every_command_is_in_the_readme() -> None:
    text = README.read_text(encoding="utf-8")
    missing = [c for c in COMMANDS if not re.search(rf"\bsheetledger {re.escape(c)}\b", text)]
    shown = ", ".join(f"sheetledger {c}" for c in missing)
    assert missing == [], f"README.md does not show: {shown}"


def test_every_command_the_readme_lists_exists() -> None:
    """The README's command table documents only commands the CLI has."""
    text = README.read_text(encoding="utf-8")
    listed = re.findall(r"^\|\s*`sheetledger ([a-z][a-z-]*)", text, re.M)
    assert listed, "README.md has no command table (| `sheetledger CMD ...` | ... |)"
    assert sorted(set(listed) - set(COMMANDS)) == []
