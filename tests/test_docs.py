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


# --------------------------------------------------------------------------- citations

ROOT = README.parent
SOURCES = sorted(
    path
    for folder in ("sheetledger", "tests", "bench")
    for path in (ROOT / folder).rglob("*.py")
    if ".venv" not in path.parts
)
# Documents that lived outside the repository: the code must cite docs/ instead.
GONE = re.compile(r"design\.md|mission\.md|model-codebases|\breference/|shared/|§ ?\d")
CITED_FILE = re.compile(r"[\w./*-]+\.md\b|\bfixtures/[\w./*-]+")


def _exists(cited: str) -> bool:
    cited = cited.rstrip(".,")
    if cited.startswith("fixtures/"):
        cited = "tests/" + cited
    if "/" not in cited:  # a file named alone: somewhere in the repository
        return any(ROOT.glob(f"**/{cited}"))
    return any(ROOT.glob(cited)) or (ROOT / cited).exists()


def test_the_architecture_and_api_notes_exist() -> None:
    architecture = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    for section in ("The picture", "The rooms", "The cycle", "Exactly once", "Where to add"):
        assert f"## {section}" in architecture
    assert (ROOT / "docs" / "api-notes.md").exists()


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_source_comments_cite_only_files_in_the_repository(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    gone = [f"line {n}: {line.strip()}" for n, line in enumerate(lines, 1) if GONE.search(line)]
    if path.name == "test_docs.py":  # this file names what it looks for
        gone = []
    missing = sorted({m for m in CITED_FILE.findall(text) if not _exists(m)})
    assert gone == [], f"cites a document not in this repository (cite docs/): {gone}"
    assert missing == [], f"cites files that do not exist: {missing}"


def test_docs_cite_sections_that_exist() -> None:
    """``docs/api-notes.md, "<section>"`` in the code names a heading of that page."""
    notes = (ROOT / "docs" / "api-notes.md").read_text(encoding="utf-8")
    architecture = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    headings = {
        "api-notes.md": set(re.findall(r"^## (.+)$", notes, re.M)),
        "architecture.md": set(re.findall(r"^## (.+)$", architecture, re.M)),
    }
    wrong = []
    cites = re.compile(r'docs/(api-notes\.md|architecture\.md)[,\'s]* "([^"<]+)"')
    for path in SOURCES:
        text = " ".join(path.read_text(encoding="utf-8").split())
        for page, section in cites.findall(text):
            if not any(h.startswith(section) for h in headings[page]):
                wrong.append(f"{path.relative_to(ROOT)}: {page} has no section {section!r}")
    assert wrong == []


def test_sync_once_is_still_accepted_but_not_shown(capsys: pytest.CaptureFixture[str]) -> None:
    assert build_parser().parse_args(["sync", "--once"]).once is True
    with pytest.raises(SystemExit):
        main(["sync", "--help"])
    assert "--once" not in capsys.readouterr().out
