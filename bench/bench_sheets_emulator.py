"""How fast the Sheets emulator answers at the benchmark's size (run by hand).

30,000 payment rows x 15 columns and 10,000 deals; prints the seconds of one
whole-tab ``values:batchGet`` and one 200-range ``values:batchUpdate`` through
gspread over loopback (the emulator's own cost dominates both).

    .venv/bin/python bench/bench_sheets_emulator.py
"""

from __future__ import annotations

import time

from sheetledger.ledger.google import connect
from sheetledger.sandbox.server import LoopbackServer
from sheetledger.sandbox.sheets import SheetsEmulator


def payment_row(i: int) -> list[object]:
    """One row of the tests' 15-column payments tab."""
    first = [f"pay_{i}", i * 1.5, 45000 + i % 300, "cash", f"Manager {i % 7}", i % 2 == 0]
    return [*first, "", "text", 12, 3.25, "x", "y", "z", i, "note"]


def main() -> None:
    emulator = SheetsEmulator()
    with LoopbackServer(emulator) as server:
        client = connect(
            emulator.service_account_info(server.url + "/token"), api_base_url=server.url
        )
        header = ["id", *(f"c{i}" for i in range(14))]
        payments = [header, *(payment_row(i) for i in range(30_000))]
        sid = emulator.create_spreadsheet(
            "Bench",
            [
                {"title": "Payments", "values": payments},
                {"title": "Deals", "values": payments[:10_001]},
            ],
            shared_with=[emulator.service_account_email],
        )
        book = client.open_by_key(sid)
        started = time.perf_counter()
        book.values_batch_get(
            ["'Payments'!A:O", "'Deals'!A:O"], params={"valueRenderOption": "UNFORMATTED_VALUE"}
        )
        read = time.perf_counter() - started
        rows = range(2, 30_002, 150)
        data = [{"range": f"'Payments'!F{row}", "values": [[True]]} for row in rows]
        started = time.perf_counter()
        book.values_batch_update({"valueInputOption": "RAW", "data": data})
        write = time.perf_counter() - started
    print(f"whole-tab batchGet (40,000 rows): {read:.3f} s")
    print(f"200-range values:batchUpdate:     {write:.3f} s")


if __name__ == "__main__":
    main()
