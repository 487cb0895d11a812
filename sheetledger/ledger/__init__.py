"""The ledger: the master Google spreadsheet and the cabinets, and the one adapter to Google."""
