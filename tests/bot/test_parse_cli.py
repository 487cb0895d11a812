"""``sheetledger parse``: the bot's reading of a message, without Telegram and without secrets."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from sheetledger.cli import EXIT_CONFIG, EXIT_OK, EXIT_PROBLEMS, main

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFIG = str(REPO_ROOT / "config.yaml")
SECRET_VARIABLES = ("AMOCRM_TOKEN", "TELEGRAM_BOT_TOKEN", "GOOGLE_SERVICE_ACCOUNT_JSON")


@pytest.fixture(autouse=True)
def _no_secrets_and_a_wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SECRET_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "160")  # rich would otherwise fold the table at 80


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[dict[str, object]]]:
    code = main(["-c", CONFIG, "parse", "--json", "--date", "2026-11-27", *args])
    out = capsys.readouterr().out
    return code, json.loads(out)


def test_json_has_one_object_per_expense_line(capsys: pytest.CaptureFixture[str]) -> None:
    message = "3500 реклама яндекс\n1 200,50 такси вчера\n\n45к аренда #1045"
    code, records = run_json(capsys, message)

    assert code == EXIT_OK
    assert records == [
        {
            "line": 0,
            "amount": "3500.00",
            "date": "2026-11-27",
            "category": "Реклама",
            "category_guessed": False,
            "comment": "реклама яндекс",
            "deal_ref": None,
        },
        {
            "line": 1,
            "amount": "1200.50",
            "date": "2026-11-26",
            "category": "Транспорт",
            "category_guessed": False,
            "comment": "такси",
            "deal_ref": None,
        },
        {
            "line": 3,
            "amount": "45000.00",
            "date": "2026-11-27",
            "category": "Аренда",
            "category_guessed": False,
            "comment": "аренда",
            "deal_ref": "1045",
        },
    ]


def test_json_error_object_and_exit_1_when_nothing_can_be_recorded(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, records = run_json(capsys, "привет")

    assert code == EXIT_PROBLEMS
    assert records == [
        {
            "line": 0,
            "error": "no_amount",
            "message": "Не нашёл сумму в строке «привет».",
            "text": "привет",
        }
    ]


def test_exit_1_when_any_line_would_be_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code, records = run_json(capsys, "такси 500\nаренда 28.11 45000")

    assert code == EXIT_PROBLEMS
    assert [record.get("error") for record in records] == [None, "future_date"]
    assert records[0]["amount"] == "500.00"


def test_words_given_without_quotes_are_one_message(capsys: pytest.CaptureFixture[str]) -> None:
    code, records = run_json(capsys, "3500", "реклама", "яндекс")

    assert code == EXIT_OK
    assert [(r["amount"], r["comment"]) for r in records] == [("3500.00", "реклама яндекс")]


def test_dash_reads_the_message_from_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("такси 500\nкофе 300\n"))

    code, records = run_json(capsys, "-")

    assert code == EXIT_OK
    assert [r["comment"] for r in records] == ["такси", "кофе"]


def test_a_long_comment_stays_on_one_json_line(capsys: pytest.CaptureFixture[str]) -> None:
    comment = "подарок " + "очень " * 40 + "важному клиенту"

    code, records = run_json(capsys, f"{comment} 5000")

    assert code == EXIT_OK
    assert records[0]["comment"] == comment


def test_table_shows_what_would_be_recorded(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["-c", CONFIG, "parse", "--date", "2026-11-27", "45к аренда #1045\nцветы 3000 [bold]x"]
    )

    out = capsys.readouterr().out
    assert code == EXIT_OK
    for expected in ("45000.00", "2026-11-27", "Аренда", "1045", "3000.00", "Прочее (guessed)"):
        assert expected in out
    assert "цветы [bold]x" in out  # a comment is printed as typed, never as rich markup


def test_table_lists_refused_lines_and_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["-c", CONFIG, "parse", "--date", "2026-11-27", "такси 500\nкофе -300"])

    out = capsys.readouterr().out
    assert code == EXIT_PROBLEMS
    assert "такси" in out
    assert "line 1: negative_amount" in out


def test_without_date_today_is_taken_in_the_config_zone(capsys: pytest.CaptureFixture[str]) -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    before = datetime.now(ZoneInfo("Europe/Moscow")).date()
    code = main(["-c", CONFIG, "parse", "--json", "такси 500"])
    after = datetime.now(ZoneInfo("Europe/Moscow")).date()

    (record,) = json.loads(capsys.readouterr().out)
    assert code == EXIT_OK
    assert record["date"] in {before.isoformat(), after.isoformat()}


def test_a_bad_date_option_is_a_command_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["-c", CONFIG, "parse", "--date", "27.11.2026", "такси 500"])

    assert exit_info.value.code == EXIT_CONFIG
    assert "2026-11-27" in capsys.readouterr().err


def test_a_missing_config_is_a_config_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code = main(["-c", str(tmp_path / "nope.yaml"), "parse", "такси 500"])

    assert code == EXIT_CONFIG
    assert "cannot read" in capsys.readouterr().err


def test_help_documents_the_json_shape_and_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["parse", "--help"])

    help_text = " ".join(capsys.readouterr().out.split())
    for expected in ("--json", "--date", "category_guessed", "deal_ref", "Exit code 0", "1 when"):
        assert expected in help_text
