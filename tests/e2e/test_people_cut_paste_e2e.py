"""A person cuts a payment row and pastes it lower down while the daemon is mid-cycle.

Ctrl+X on a row, Ctrl+V on an empty row below the table: the row's cells move, an
empty row stays where it was (the emulator's ``cut_paste_rows`` is the API's own
cutPaste). The daemon must write every change to the row that now holds its
payment, keep the empty row a person made, and duplicate nothing.
"""

from __future__ import annotations

import pytest

from tests.e2e.world import CASH, World, make_world


@pytest.fixture
def world(tmp_path):
    w = make_world(tmp_path)
    w.ledger.sleep = lambda seconds: None  # backoff waits cost nothing in tests
    yield w
    w.store.close()
    w.box.stop(save=False)


def _payments(world: World) -> dict[str, dict]:
    return {row["Payment ID"]: row for row in world.rows("payments") if row["Payment ID"]}


def test_a_row_cut_and_pasted_below_the_table_keeps_its_payment_and_gets_its_writes(
    world: World,
) -> None:
    ids = [world.deal(str(8100 + n), payments=((1000 * (n + 1), CASH, None),)) for n in range(4)]
    world.sync()
    title = world.ledger.tabs["payments"][0]
    moved = f"{ids[1]}:1"
    from_row = world.row_number("payments", moved)
    slot = world.amo_info["slots"][0]
    world.crm.update_leads(
        [
            {
                "id": ids[1],
                "custom_fields_values": [
                    {"field_id": slot["amount"], "values": [{"value": "2222"}]}
                ],
            }
        ]
    )
    world.tick(f"{ids[3]}:1")

    def person_moves_a_row() -> None:
        world.box.sheets.cut_paste_rows(world.spreadsheet_id, title, from_row, to_row=12)

    # After the daemon's read, before its write: the row it means to update has moved.
    world.box.amo.before_next(person_moves_a_row, match="PATCH /api/v4/leads")
    world.sync()
    rows = _payments(world)
    assert set(rows) == {f"{d}:1" for d in ids}  # none lost, none doubled
    assert rows[moved]["Amount"] == 2222
    assert world.row_number("payments", moved) == 12  # the update followed the row
    assert rows[f"{ids[3]}:1"]["Confirmed"] is True
    assert sum(1 for row in world.rows("payments") if row["Payment ID"] == moved) == 1
    before = world.rows("payments")
    world.sync()
    assert world.rows("payments") == before  # a settled cycle changes nothing
