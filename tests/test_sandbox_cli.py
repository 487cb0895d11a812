"""``sheetledger sandbox`` as a person runs it: a process that says where its config is,
whose config works with no environment at all, and whose state survives a restart.

The command blocks until SIGTERM/Ctrl+C, so it runs as a subprocess; readiness is the
line it prints naming the config (no polling, no sleeps).
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from sheetledger.cli import main
from sheetledger.config import load_config
from sheetledger.crm.amocrm import AmoClient

STARTUP = 60.0  # seconds: a bound on waiting for a line, not a sleep
READY = "Ctrl+C stops it"  # the last line the sandbox prints once it is serving


class SandboxProcess:
    """``python -m sheetledger sandbox`` with its stdout read line by line."""

    def __init__(self, state_dir: Path, *extra: str, sig: int = signal.SIGTERM) -> None:
        # Wide lines: rich would otherwise fold a long path across two lines.
        env = {**os.environ, "COLUMNS": "1000"}
        self.sig = sig
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.output: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sheetledger", "sandbox", "--state-dir", str(state_dir), *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            env=env,
        )
        assert self.proc.stdout is not None
        self.reader = threading.Thread(target=self._read, args=(self.proc.stdout,), daemon=True)
        self.reader.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def wait_for(self, prefix: str) -> str:
        while True:
            try:
                line = self.lines.get(timeout=STARTUP)
            except queue.Empty:
                raise AssertionError(f"no line {prefix!r} in {STARTUP}s: {self.output}") from None
            if line is None:
                raise AssertionError(f"the sandbox exited ({self.proc.wait()}): {self.output}")
            self.output.append(line)
            if line.startswith(prefix):
                return line

    def stop(self) -> int:
        self.proc.send_signal(self.sig)
        code = self.proc.wait(timeout=STARTUP)
        while (line := self.lines.get(timeout=STARTUP)) is not None:
            self.output.append(line)
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.reader.join(timeout=STARTUP)  # it reads to the end once the process is gone
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@pytest.fixture
def run_sandbox() -> Iterator[Any]:
    started: list[SandboxProcess] = []

    def start(state_dir: Path, *extra: str, sig: int = signal.SIGTERM) -> SandboxProcess:
        process = SandboxProcess(state_dir, *extra, sig=sig)
        started.append(process)
        return process

    yield start
    for process in started:  # a failed test must not leave a server running
        process.kill()


def check_with(config: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["-c", str(config), "check"])
    out, err = capsys.readouterr()
    return code, out + err


def test_the_sandbox_runs_its_config_needs_no_environment_and_survives_a_restart(
    tmp_path: Path,
    run_sandbox: Any,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "400")
    state_dir = tmp_path / "sandbox"
    config = state_dir / "config.yaml"

    # -- first run ------------------------------------------------------------------
    first = run_sandbox(state_dir, "--seed", "empty")
    first.wait_for(READY)
    assert f"config: {config}  (try: sheetledger -c {config} check)" in first.output
    assert f"ids and tokens: {state_dir / 'sandbox.json'}" in first.output
    info = json.loads((state_dir / "sandbox.json").read_text(encoding="utf-8"))
    for service in ("amocrm", "google", "telegram"):
        url = info["control"][service]
        assert url.startswith("http://127.0.0.1:") and url.endswith("/_sandbox/")
        assert any(url in x for x in first.output)  # printed for the person too

    # The config works as it is: no ${VAR} anywhere, every secret from a file beside it.
    assert "${" not in config.read_text(encoding="utf-8")
    loaded = load_config(config, environ={})
    assert loaded.amocrm.token.reveal() == info["amocrm"]["token"]
    assert loaded.telegram.token.reveal() == info["telegram"]["token"]

    assert main(["-c", str(config), "init"]) == 0
    code, output = check_with(config, capsys)
    assert code == 0, output
    assert output.rstrip().endswith("all good")

    # Something made through the real API before the restart.
    crm = AmoClient(info["urls"]["amocrm"], info["amocrm"]["token"])
    pipeline = info["amocrm"]["pipeline_id"]
    [lead] = crm.create_leads(
        [{"name": "Договор 77/1 — кухня", "price": 150000, "pipeline_id": pipeline}]
    )

    assert first.stop() == 0
    assert first.output[-1] == "sandbox stopped, state saved"
    for name in ("amocrm.json", "sheets.json", "telegram.json"):
        assert (state_dir / "state" / name).is_file()

    # -- second run, same folder: Ctrl+C stops it this time ------------------------------
    second = run_sandbox(state_dir, sig=signal.SIGINT)
    second.wait_for(READY)
    again = json.loads((state_dir / "sandbox.json").read_text(encoding="utf-8"))
    assert again["google"] == info["google"]  # the same spreadsheets
    assert again["amocrm"]["token"] == info["amocrm"]["token"]
    assert again["telegram"]["token"] == info["telegram"]["token"]
    assert again["amocrm"]["fields"] == info["amocrm"]["fields"]

    crm = AmoClient(again["urls"]["amocrm"], again["amocrm"]["token"])
    kept = crm.lead(int(lead["id"]))
    assert kept is not None and kept["name"] == "Договор 77/1 — кухня" and kept["price"] == 150000

    # No init this time: the tabs made before the restart are still there.
    code, output = check_with(config, capsys)
    assert code == 0, output

    assert second.stop() == 0
    assert second.output[-1] == "sandbox stopped, state saved"
