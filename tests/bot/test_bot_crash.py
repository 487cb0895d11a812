"""``sheetledger bot`` as a real process, killed with SIGKILL in the middle of a handler.

The update must come again after the restart (the offset is committed only after
the row is written) and make exactly one row. The process logs at DEBUG, where
httpx prints every Bot API URL: the token must not be in the log.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from sheetledger.config import Config
from sheetledger.sandbox.runner import OWNER_ID, Sandbox
from tests.bot.botkit import expense_rows, wait_for_rows

# A fresh `sheetledger bot` process imports the whole package before its first poll: on a
# busy 2-core machine that alone can take longer than botkit's in-process WAIT. These are
# waits on events, so a longer bound costs nothing when things go well.
WAIT = 60.0


class BotProcess:
    def __init__(self, box: Sandbox, log: Path) -> None:
        self.log = log
        env = {**os.environ, "PTB_TIMEDELTA": "true"}
        command = [sys.executable, "-m", "sheetledger", "-c", str(box.config_path), "-v", "bot"]
        with log.open("ab") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(WAIT)

    def terminate(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(WAIT)

    def ensure_dead(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(WAIT)


def _hold(reached: threading.Event, release: threading.Event) -> None:
    """Block one emulator request until the test has killed the bot."""
    reached.set()
    release.wait(WAIT)


@pytest.mark.parametrize(
    "where",
    [
        pytest.param(":batchUpdate", id="killed-while-writing"),
        pytest.param("values:batchGet", id="killed-before-writing"),
    ],
)
def test_kill_9_in_a_handler_neither_loses_nor_doubles_the_expense(
    sandbox: tuple[Sandbox, Config], tmp_path: Path, where: str
) -> None:
    box, config = sandbox
    log = tmp_path / "bot.log"
    reached, release = threading.Event(), threading.Event()
    box.sheets.before_next(lambda: _hold(reached, release), match=where)

    first = BotProcess(box, log)
    try:
        box.telegram.wait_for_poll(WAIT)
        box.telegram.send_text(OWNER_ID, "3500 реклама яндекс")
        assert reached.wait(WAIT), f"the bot never called {where}"
        first.kill()  # in the middle of the handler
    finally:
        release.set()
        first.ensure_dead()
    pending = box.telegram.pending_updates()
    assert len(pending) == 1, "the update was confirmed before its row was written"
    assert box.telegram.sent(OWNER_ID) == []

    second = BotProcess(box, log)
    try:
        reply = box.telegram.wait_for_sent(OWNER_ID, timeout=WAIT)[0]
        box.telegram.wait_until_confirmed(pending[0]["update_id"], timeout=WAIT)
        rows = wait_for_rows(box, config, lambda rows: len(rows) >= 1)
        assert second.terminate() == 0
    finally:
        second.ensure_dead()
    assert "3 500 ₽" in reply["text"]
    rows = expense_rows(box, config)
    assert len(rows) == 1 and rows[0]["Category"] == "Реклама"
    assert len(box.telegram.sent(OWNER_ID)) == 1

    text = log.read_text(encoding="utf-8")
    assert "getUpdates" in text  # httpx's URL lines are there...
    assert box.telegram.token not in text  # ...without the token
    assert box.telegram.token.split(":", 1)[1] not in text
