"""The ledger's view and changes now live with the ledger (``sheetledger.ledger.view``).

Kept so older imports keep working; new code imports ``sheetledger.ledger.view``.
"""

from sheetledger.ledger.view import (
    LedgerChanges,
    LedgerView,
    RowAppend,
    RowUpdate,
    TabRows,
    apply_changes,
    differing,
)

__all__ = [
    "LedgerChanges",
    "LedgerView",
    "RowAppend",
    "RowUpdate",
    "TabRows",
    "apply_changes",
    "differing",
]
