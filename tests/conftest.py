"""Shared test set-up: the whole suite talks only to loopback."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from sheetledger.sandbox.runner import Sandbox

# python-telegram-bot 22 warns (PTBDeprecationWarning) when reading RetryAfter.retry_after as
# an int; with filterwarnings=error that would replace the real exception. Opt in to timedelta.
os.environ.setdefault("PTB_TIMEDELTA", "true")

_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address: object) -> None:
    host = address[0] if isinstance(address, tuple) else address
    if (
        isinstance(host, str)
        and host not in ("127.0.0.1", "localhost", "::1")
        and self.family
        in (
            socket.AF_INET,
            socket.AF_INET6,
        )
    ):
        raise OSError(f"test tried to reach {address!r}: only loopback is allowed")
    return _real_connect(self, address)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test opens a socket beyond loopback: the emulators of sheetledger/sandbox/ are there."""
    monkeypatch.setattr(socket.socket, "connect", _loopback_only)


@pytest.fixture
def box(tmp_path: Path) -> Iterator[Sandbox]:
    """A fresh sandbox (the emulators on loopback, its config beside them), stopped after the
    test. Folders whose tests need more (prepared tabs, a manual clock) define their own."""
    sandbox = Sandbox.start(tmp_path / "sandbox")
    yield sandbox
    sandbox.stop(save=False)
