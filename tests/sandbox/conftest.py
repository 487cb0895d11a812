"""Every Sheets-emulator test here also checks that an all-or-nothing edit leaves its origin be.

A batchUpdate or a person's edit works on ``Spreadsheet.fork()``, whose tabs share their
rows with the file until they change them (``Sheet.row_to_write``). Should any handler
change a shared row in place, the file would change even when the batch fails. This
fixture records each forked file's full state and, when the request or the edit is over
(done or refused), compares the file with it.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from sheetledger.sandbox.sheets import SheetsEmulator
from sheetledger.sandbox.sheets.model import Spreadsheet

_forked = threading.local()


def _pending() -> list[tuple[Spreadsheet, dict[str, Any]]]:
    if not hasattr(_forked, "books"):
        _forked.books = []
    return _forked.books  # type: ignore[no-any-return]


@pytest.fixture(autouse=True)
def _forks_leave_their_origin_unchanged(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    real_fork = Spreadsheet.fork
    broken: list[str] = []

    def fork(book: Spreadsheet) -> Spreadsheet:
        _pending().append((book, copy.deepcopy(SheetsEmulator._book_state(book))))
        return real_fork(book)

    def checked(method: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any, **kwargs: Any) -> Any:
            try:
                return method(*args, **kwargs)
            finally:
                for book, before in _pending():
                    if SheetsEmulator._book_state(book) != before:
                        broken.append(f"{method.__name__} changed its origin {book.title!r}")
                _pending().clear()

        return run

    monkeypatch.setattr(Spreadsheet, "fork", fork)
    # Every API request (batchUpdate among them) goes through dispatch.
    monkeypatch.setattr(SheetsEmulator, "dispatch", checked(SheetsEmulator.dispatch))
    monkeypatch.setattr(SheetsEmulator, "_person_edit", checked(SheetsEmulator._person_edit))
    yield
    assert broken == []
