"""sheetledger's errors, grouped by what to do next.

    SheetledgerError
    ├── ConfigError        the config is broken: fix it (exit code 2)
    ├── RetriableError     429, 5xx, timeouts: back off and try the job again
    └── FatalError         401, 402, 403, a missing tab, a broken header: stop and tell the admin

A wrong row is no error to raise: the planners flag it in its own cell with a ``RowCode``
(``model.py``) and go on with the others.

Messages are built here, once; the CLI, the job wrapper and the bot only print them.
"""

from __future__ import annotations

from collections.abc import Sequence


class SheetledgerError(Exception):
    """Base of every error sheetledger raises on purpose."""


class ConfigError(SheetledgerError):
    """The config has problems; ``problems`` lists each as ``path: what is wrong``."""

    def __init__(self, source: str, problems: Sequence[str]) -> None:
        self.source = source
        self.problems = list(problems)
        count = len(self.problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"{source}: {count} problem{'s' if count != 1 else ''}\n{lines}")


class RetriableError(SheetledgerError):
    """A passing fault (429, 5xx, timeout, dropped connection): try again later."""

    def __init__(self, service: str, detail: str) -> None:
        self.service = service
        self.detail = detail
        super().__init__(f"{service}: {detail} (will retry)")


class FatalError(SheetledgerError):
    """A fault a person must fix (bad token, unpaid account, broken sheet): stop and tell."""

    def __init__(self, service: str, detail: str, *, hint: str = "") -> None:
        self.service = service
        self.detail = detail
        self.hint = hint
        text = f"{service}: {detail}"
        if hint:
            text += f" — {hint}"
        super().__init__(text)
