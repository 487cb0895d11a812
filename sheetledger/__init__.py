"""sheetledger: a Google Spreadsheet as the management ledger of an amoCRM business."""

__version__ = "0.1.0"
