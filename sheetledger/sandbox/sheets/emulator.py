"""``SheetsEmulator``: the resource mixins put together into one loopback server."""

from __future__ import annotations

from sheetledger.sandbox.sheets.batch_update import BatchUpdateApi
from sheetledger.sandbox.sheets.cell_requests import CellRequests
from sheetledger.sandbox.sheets.charts import ChartRequests
from sheetledger.sandbox.sheets.copy_paste import CopyPasteRequests
from sheetledger.sandbox.sheets.dimension_groups import DimensionGroupRequests
from sheetledger.sandbox.sheets.merges_filters import MergeAndFilterRequests
from sheetledger.sandbox.sheets.people import PeopleEdits
from sheetledger.sandbox.sheets.persistence import Persistence
from sheetledger.sandbox.sheets.protection import ProtectionRequests
from sheetledger.sandbox.sheets.values import ValuesApi


class SheetsEmulator(
    PeopleEdits,
    Persistence,
    BatchUpdateApi,
    ChartRequests,
    CellRequests,
    CopyPasteRequests,
    DimensionGroupRequests,
    ProtectionRequests,
    MergeAndFilterRequests,
    ValuesApi,
):
    """Google Sheets v4 + OAuth token endpoint + Drive v3 subset, on loopback.

    Each base is one resource (see the package docstring); ``SheetsCore`` under them all
    holds the state, auth and the cell-value plumbing.
    """

    name = "sheets"
