"""A bot token Telegram rejects (401 on getMe): said plainly, never printed, no traceback.

The emulator answers 401 "Unauthorized" to any other token, as Telegram does; PTB's
``InvalidToken`` quotes the token in its message, so it must never reach the output.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from sheetledger.cli import main
from sheetledger.config import Config
from sheetledger.errors import FatalError
from sheetledger.sandbox.runner import Sandbox
from sheetledger.store import LocalState
from tests.bot.botkit import WAIT, RunningBot, make_bot

WRONG = "7000000001:" + "Bq9" * 11 + "xy"
REJECTED = "the bot token was rejected by Telegram"


def use_wrong_token(box: Sandbox) -> None:
    (box.folder / "secrets" / "telegram-token").write_text(WRONG, encoding="utf-8")


def own_logs(caplog: pytest.LogCaptureFixture) -> str:
    """What sheetledger itself logged (httpx's URL lines are redacted by the handler that
    ``setup_logging`` installs, which pytest's capture does not use; the subprocess test
    checks the real output)."""
    return "\n".join(
        f"{r.getMessage()} {r.exc_text or ''}"
        for r in caplog.records
        if r.name.startswith("sheetledger")
    )


def assert_token_absent(text: str) -> None:
    assert WRONG not in text
    assert WRONG.split(":", 1)[1] not in text


def test_sheetledger_bot_with_a_rejected_token_stops_with_one_clear_line(
    sandbox: tuple[Sandbox, Config],
) -> None:
    box, _config = sandbox
    use_wrong_token(box)
    env = {**os.environ, "PTB_TIMEDELTA": "true"}
    command = [sys.executable, "-m", "sheetledger", "-c", str(box.config_path), "-v", "bot"]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=WAIT * 3)
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert REJECTED in done.stderr
    assert "Traceback" not in output and "InvalidToken" not in output
    assert_token_absent(output)


def test_check_says_the_token_was_rejected(
    sandbox: tuple[Sandbox, Config],
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    box, _config = sandbox
    use_wrong_token(box)
    monkeypatch.setenv("COLUMNS", "400")
    caplog.set_level("DEBUG")
    assert main(["-c", str(box.config_path), "check"]) == 1
    out, err = capsys.readouterr()
    assert f"Telegram: {REJECTED}" in out
    assert "Traceback" not in out + err
    assert_token_absent(out + err + own_logs(caplog))


def test_the_bot_refuses_a_rejected_token_without_quoting_it(
    sandbox: tuple[Sandbox, Config], state: LocalState, caplog: pytest.LogCaptureFixture
) -> None:
    """In process (as under ``sheetledger run``): a FatalError whose whole chain is clean."""
    box, _config = sandbox
    use_wrong_token(box)
    caplog.set_level("DEBUG")
    running = RunningBot(make_bot(box.load_config(), state)).start()
    with pytest.raises(FatalError) as caught:
        running.stop()
    assert REJECTED in str(caught.value)
    chain = []
    error: BaseException | None = caught.value
    while error is not None:
        chain.append(f"{error!r} {error}")
        error = error.__cause__ or error.__context__
    assert_token_absent(" ".join(chain) + own_logs(caplog))
