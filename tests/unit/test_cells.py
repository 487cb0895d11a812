"""cells: typed values to Sheets cells and back."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sheetledger.ledger.cells import (
    SHEETS_EPOCH,
    CellProblem,
    Kind,
    date_to_serial,
    from_cell,
    neutralise,
    serial_to_date,
    to_cell,
    unneutralise,
)
from tests.unit.builders import TZ

MOSCOW = ZoneInfo("Europe/Moscow")


def roundtrip(kind: Kind, value: object, tz: ZoneInfo = TZ) -> object:
    return from_cell(kind, to_cell(kind, value, tz), tz)


# -- empty cells ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(Kind))
@pytest.mark.parametrize("empty", [None, ""])
def test_empty_value_clears_and_empty_cell_reads_none(kind: Kind, empty: object) -> None:
    assert to_cell(kind, empty, TZ) == ""
    assert from_cell(kind, empty, TZ) is None


# -- money ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["0.01", "0.10", "1.00", "1234.56", "100000.00", "99999999.99", "-500.25", "0.00", "33.33"],
)
def test_money_round_trip_is_exact_to_the_cent(value: str) -> None:
    amount = Decimal(value)
    cell = to_cell(Kind.MONEY, amount, TZ)
    assert isinstance(cell, float)
    back = roundtrip(Kind.MONEY, amount)
    assert back == amount
    assert back.as_tuple().exponent == -2


@given(
    st.decimals(min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=2, allow_nan=False)
)
def test_money_round_trip_property(amount: Decimal) -> None:
    assert roundtrip(Kind.MONEY, amount) == amount


def test_money_rounds_half_up_to_cents() -> None:
    assert to_cell(Kind.MONEY, Decimal("10.005"), TZ) == 10.01
    assert to_cell(Kind.MONEY, "2.345", TZ) == 2.35
    assert from_cell(Kind.MONEY, 0.1 + 0.2, TZ) == Decimal("0.30")


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("12 000,50", "12000.50"),
        ("12\u00a0000,50 ₽", "12000.50"),
        ("45000 руб.", "45000.00"),
        ("1500.", "1500.00"),
        ("  7 ", "7.00"),
        (3500, "3500.00"),
        (1200.5, "1200.50"),
    ],
)
def test_money_typed_by_people(typed: object, expected: str) -> None:
    assert from_cell(Kind.MONEY, typed, TZ) == Decimal(expected)


@pytest.mark.parametrize(
    "garbage", ["сто рублей", "abc", "12,000.50.1", True, False, "nan", "Infinity", 1e30, "-"]
)
def test_money_garbage_is_a_cell_problem(garbage: object) -> None:
    with pytest.raises(CellProblem):
        from_cell(Kind.MONEY, garbage, TZ)


# -- text and formula injection ----------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["=SUM(A1:A9)", "+79991234567", "-5", "@mention", '=HYPERLINK("x")']
)
def test_text_starting_like_a_formula_is_neutralised(text: str) -> None:
    cell = to_cell(Kind.TEXT, text, TZ)
    assert cell == "'" + text
    assert from_cell(Kind.TEXT, cell, TZ) == text


@pytest.mark.parametrize("text", ["Кухня «Модерн»", "Д-1045", "a=b", "'quoted'", "'", "  ", "100"])
def test_plain_text_is_written_as_is(text: str) -> None:
    assert to_cell(Kind.TEXT, text, TZ) == text
    assert from_cell(Kind.TEXT, text, TZ) == text


@pytest.mark.parametrize("text", ["'=x", "''=x", "'-", "'+7"])
def test_text_that_already_starts_with_an_apostrophe_survives(text: str) -> None:
    # "'=x" read back as "=x" would differ from the CRM's "'=x" on every cycle.
    assert roundtrip(Kind.TEXT, text) == text


@given(st.text(min_size=1))
def test_neutralise_round_trip_property(text: str) -> None:
    written = neutralise(text)
    assert unneutralise(written) == text
    assert not written.startswith(("=", "+", "-", "@"))


@given(st.text(alphabet="'=+-@ax ", max_size=6))
def test_unneutralise_strips_one_apostrophe_and_only_before_a_formula(text: str) -> None:
    plain = unneutralise(text)
    if plain != text:
        assert text == "'" + plain
        assert plain.lstrip("'").startswith(("=", "+", "-", "@"))
    assert neutralise(plain) == text or plain == text


def test_numbers_in_a_text_column_read_as_plain_text() -> None:
    assert from_cell(Kind.TEXT, 1045.0, TZ) == "1045"
    assert from_cell(Kind.TEXT, 1045, TZ) == "1045"
    assert from_cell(Kind.TEXT, 10.5, TZ) == "10.5"


# -- dates ------------------------------------------------------------------------------


def test_date_serials_match_google_sheets() -> None:
    assert date_to_serial(SHEETS_EPOCH) == 0
    assert date_to_serial(date(1900, 1, 1)) == 2
    assert date_to_serial(date(2024, 4, 1)) == 45383
    assert serial_to_date(45383) == date(2024, 4, 1)
    assert serial_to_date(45383.75) == date(2024, 4, 1)  # a datetime typed into a date column


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31)))
def test_date_round_trip(day: date) -> None:
    cell = to_cell(Kind.DATE, day, TZ)
    assert isinstance(cell, int)
    assert roundtrip(Kind.DATE, day) == day


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("2024-04-01", date(2024, 4, 1)),
        ("01.04.2024", date(2024, 4, 1)),
        ("01.04.24", date(2024, 4, 1)),
        ("01/04/2024", date(2024, 4, 1)),
        (" 31.12.2024 ", date(2024, 12, 31)),
    ],
)
def test_dates_typed_as_text(typed: str, expected: date) -> None:
    assert from_cell(Kind.DATE, typed, TZ) == expected


@pytest.mark.parametrize("garbage", ["вчера", "32.01.2024", "2024/13/01", 31122024, 1e12, True])
def test_date_garbage_is_a_cell_problem(garbage: object) -> None:
    # 31122024 is "31.12.2024" typed without dots: a serial far past year 9999.
    with pytest.raises(CellProblem):
        from_cell(Kind.DATE, garbage, TZ)


def test_datetime_serial_uses_the_config_zone() -> None:
    instant = datetime(2024, 4, 1, 9, 0, tzinfo=UTC)  # 12:00 in Moscow
    serial = to_cell(Kind.DATETIME, instant, MOSCOW)
    assert serial == pytest.approx(45383.5)
    back = from_cell(Kind.DATETIME, serial, MOSCOW)
    assert back == instant
    assert back.tzinfo is not None


@given(
    st.datetimes(
        min_value=datetime(1950, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ).map(lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000))
)
def test_datetime_round_trip_to_the_millisecond(instant: datetime) -> None:
    assert roundtrip(Kind.DATETIME, instant, MOSCOW) == instant


def test_datetime_text_without_zone_is_in_the_config_zone() -> None:
    parsed = from_cell(Kind.DATETIME, "2024-04-01T12:00:00", MOSCOW)
    assert parsed == datetime(2024, 4, 1, 9, 0, tzinfo=UTC)
    assert from_cell(Kind.DATETIME, "2024-04-01T12:00:00+00:00", MOSCOW) == datetime(
        2024, 4, 1, 12, tzinfo=UTC
    )
    with pytest.raises(CellProblem):
        from_cell(Kind.DATETIME, "завтра", MOSCOW)
    with pytest.raises(CellProblem):
        from_cell(Kind.DATETIME, 1e12, MOSCOW)


def test_serial_datetime_differs_by_zone() -> None:
    instant = datetime(2024, 4, 1, 0, 0, tzinfo=UTC)
    utc_serial = to_cell(Kind.DATETIME, instant, ZoneInfo("UTC"))
    msk_serial = to_cell(Kind.DATETIME, instant, MOSCOW)
    assert isinstance(utc_serial, float)
    assert isinstance(msk_serial, float)
    assert msk_serial - utc_serial == pytest.approx(3 / 24)
    assert from_cell(Kind.DATETIME, msk_serial, MOSCOW) - instant == timedelta(0)


# -- ticks and whole numbers ------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (True, True),
        (False, False),
        ("TRUE", True),
        ("да", True),
        ("☑", True),
        ("1", True),
        ("FALSE", False),
        ("нет", False),
        ("0", False),
    ],
)
def test_ticks(raw: object, expected: bool) -> None:
    assert from_cell(Kind.BOOL, raw, TZ) is expected


@pytest.mark.parametrize("garbage", ["может быть", "2", "x"])
def test_tick_garbage_is_a_cell_problem(garbage: object) -> None:
    with pytest.raises(CellProblem):
        from_cell(Kind.BOOL, garbage, TZ)


@pytest.mark.parametrize("value", [True, False])
def test_bool_round_trip(value: bool) -> None:
    assert to_cell(Kind.BOOL, value, TZ) is value
    assert roundtrip(Kind.BOOL, value) is value


@given(st.integers(min_value=-(2**53), max_value=2**53))
def test_int_round_trip(number: int) -> None:
    assert roundtrip(Kind.INT, number) == number


def test_int_accepts_whole_floats_and_text() -> None:
    assert from_cell(Kind.INT, 37948215.0, TZ) == 37948215
    assert from_cell(Kind.INT, "37948215", TZ) == 37948215


@pytest.mark.parametrize("garbage", ["abc", "12.5", 12.5, "Infinity", "NaN", "1 2"])
def test_int_garbage_is_a_cell_problem(garbage: object) -> None:
    with pytest.raises(CellProblem):
        from_cell(Kind.INT, garbage, TZ)
