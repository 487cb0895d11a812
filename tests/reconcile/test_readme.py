"""The README explains every finding code with what to do (people read it to act on one)."""

from __future__ import annotations

from pathlib import Path

from sheetledger.reconcile.findings import CODES

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_reconciliation_code_is_in_the_readme_with_what_to_do() -> None:
    text = README.read_text(encoding="utf-8")
    missing = [
        code
        for code, known in CODES.items()
        if f"| `{code}` | {known.severity} | {known.title} | {known.todo} |" not in text
    ]
    assert missing == [], f"README.md does not explain: {missing}"
