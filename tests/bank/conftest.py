"""The real statement files, read as bytes (their encoding and line ends are the test)."""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "bank"


def statement_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()
