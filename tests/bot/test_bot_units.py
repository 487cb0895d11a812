"""The bot's pure parts and its local state: outbox semantics, plans, totals, keyboards."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from sheetledger.bot.app import category_keyboard, main_keyboard, render_text, rub
from sheetledger.bot.expenses import DealIndex, Expense, plan_expenses, sum_by_category
from sheetledger.bot.parse import ExpenseLine
from sheetledger.store import LocalState

NOW = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)


def expense(key: str = "tg:1:2:0", **values: object) -> Expense:
    base: dict[str, object] = {
        "key": key,
        "date": date(2026, 11, 27),
        "amount": Decimal("3500.00"),
        "category": "Реклама",
        "comment": "яндекс",
        "contract_no": None,
        "deal_id": None,
        "entered_by": "Ольга",
        "recorded_at": NOW,
    }
    base.update(values)
    return Expense(**base)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- outbox


def test_outbox_add_is_idempotent_by_key(state: LocalState) -> None:
    row = expense().to_json()
    assert state.outbox_add([("tg:1:2:0", row)]) == ["tg:1:2:0"]
    assert state.outbox_add([("tg:1:2:0", {**row, "amount": "1.00"})]) == []
    [entry] = state.outbox_pending()
    assert entry["row"]["amount"] == "3500.00" and entry["op"] == "append"
    state.outbox_done([("tg:1:2:0", entry["version"])])
    assert state.outbox_pending() == []
    assert state.outbox_add([("tg:1:2:0", row)]) == []  # a written row is not accepted again


def test_a_change_merges_into_a_pending_append(state: LocalState) -> None:
    state.outbox_add([("k", expense("k").to_json())])
    assert state.outbox_change("k", {"void": True})
    [entry] = state.outbox_pending()
    assert entry["op"] == "append" and entry["row"]["void"] is True and entry["version"] == 2


def test_a_change_to_a_written_row_is_an_update_of_those_columns(state: LocalState) -> None:
    state.outbox_add([("k", expense("k").to_json())])
    state.outbox_done([("k", 1)])
    state.outbox_change("k", {"category": "Офис"})
    state.outbox_change("k", {"void": True})
    [entry] = state.outbox_pending()
    assert entry["op"] == "update" and entry["dirty"] == ["category", "void"]
    assert entry["row"]["category"] == "Офис" and entry["row"]["amount"] == "3500.00"


def test_done_with_an_old_version_keeps_a_newer_change_pending(state: LocalState) -> None:
    state.outbox_add([("k", expense("k").to_json())])
    [seen] = state.outbox_pending()
    state.outbox_change("k", {"void": True})  # lands while the flush is writing
    state.outbox_done([("k", seen["version"])])
    [entry] = state.outbox_pending()
    assert entry["row"]["void"] is True


def test_change_of_an_unknown_key_needs_the_row(state: LocalState) -> None:
    assert state.outbox_change("tg:9:9:0", {"void": True}) is False
    assert state.outbox_change("tg:9:9:0", {"void": True}, row=expense("tg:9:9:0").to_json())
    [entry] = state.outbox_pending()
    assert entry["op"] == "update" and entry["dirty"] == ["void"]


def test_find_by_message_prefix_does_not_mix_messages(state: LocalState) -> None:
    for key in ("tg:1:5:0", "tg:1:5:2", "tg:1:50:0", "tg:1:4:0", "tg:11:5:0"):
        state.outbox_add([(key, expense(key).to_json())])
    assert sorted(state.outbox_find("tg:1:5:")) == ["tg:1:5:0", "tg:1:5:2"]


def test_prune_forgets_only_written_entries(state: LocalState) -> None:
    state.outbox_add([("a", expense("a").to_json()), ("b", expense("b").to_json())])
    state.outbox_done([("a", 1)])
    assert state.outbox_prune(-1) == 1
    assert list(state.outbox_get(["a", "b"])) == ["b"]


def test_telegram_offset_survives_a_reopen(tmp_path: Path) -> None:
    first = LocalState(tmp_path / "s.db")
    assert first.telegram_offset() == 0
    first.set_telegram_offset(738_211_005)
    first.close()
    again = LocalState(tmp_path / "s.db")
    assert again.telegram_offset() == 738_211_005
    again.close()


# --------------------------------------------------------------------------- planning


def line(no: int, ref: str | None = None) -> ExpenseLine:
    return ExpenseLine(no, Decimal("100.00"), date(2026, 11, 27), "Офис", False, "кофе", ref, "")


def test_plan_keys_and_deal_links() -> None:
    deals = DealIndex({"1045": (77,), "2000": (1, 2)})
    planned = plan_expenses(
        [line(0, "1045"), line(2, "2000"), line(3, "№9999"), line(4)],
        chat_id=42,
        message_id=7,
        entered_by="Ольга",
        recorded_at=NOW,
        deals=deals,
    )
    assert [p.key for p in planned] == ["tg:42:7:0", "tg:42:7:2", "tg:42:7:3", "tg:42:7:4"]
    assert [p.deal_id for p in planned] == [77, None, None, None]  # ambiguous: not linked
    unchecked = plan_expenses(
        [line(0, "1045")], chat_id=1, message_id=1, entered_by="", recorded_at=NOW, deals=None
    )
    assert unchecked[0].deal_checked is False


def test_expense_json_round_trip_keeps_money_exact() -> None:
    original = expense(amount=Decimal("1200.50"), contract_no="1045-А", deal_id=5, void=True)
    assert Expense.from_json(original.to_json()) == original


def test_totals_exclude_void_rows_and_other_days() -> None:
    rows = [
        expense("a"),
        expense("b", category="Транспорт", amount=Decimal("1200.50")),
        expense("c", void=True, amount=Decimal("99999")),
        expense("d", date=date(2026, 11, 26)),
    ]
    totals = sum_by_category(rows, date(2026, 11, 27), date(2026, 11, 27))
    assert totals.by_category == [
        ("Реклама", Decimal("3500.00")),
        ("Транспорт", Decimal("1200.50")),
    ]
    assert totals.total == Decimal("4700.50") and totals.count == 2


# --------------------------------------------------------------------------- replies


def test_rub_formats_like_a_russian_reader_expects() -> None:
    assert rub(Decimal("1200.5")) == "1 200,50 ₽"
    assert rub(Decimal("3500")) == "3 500 ₽"
    assert rub(Decimal("1000000.01")) == "1 000 000,01 ₽"


@given(
    message_id=st.integers(1, 2**31 - 1),
    lines=st.integers(1, 40),
    categories=st.lists(st.text(min_size=1, max_size=30), min_size=1, max_size=40),
)
def test_callback_data_fits_telegrams_64_bytes(
    message_id: int, lines: int, categories: list[str]
) -> None:
    rows = [expense(f"tg:-1001234567890:{message_id}:{n * 3}") for n in range(lines)]
    keyboards = [
        main_keyboard(message_id, rows, categories),
        category_keyboard(message_id, rows[-1], categories),
        main_keyboard(message_id, [expense(f"tg:1:{message_id}:99", void=True)], categories),
    ]
    for keyboard in keyboards:
        for row in keyboard.inline_keyboard:
            for button in row:
                data = button.callback_data
                assert isinstance(data, str) and 1 <= len(data.encode()) <= 64 and data.isascii()


def test_reply_text_states_what_was_recorded() -> None:
    one = render_text([expense(contract_no="1045", deal_id=77)], pending=False)
    assert one == "Записал расход:\n3 500 ₽ · Реклама · 27.11.2026 — яндекс · договор № 1045"
    unknown = render_text([expense(contract_no="9999")], pending=False)
    assert "договор № 9999 не найден в сделках" in unknown
    waiting = render_text([expense(), expense("tg:1:2:1", void=True)], pending=True)
    assert waiting.splitlines()[0] == "Записал 2 расхода:"
    assert "❌ отменено" in waiting and "Итого: 3 500 ₽" in waiting and "⏳" in waiting
