"""The expense parser: several lines, error codes, the ceiling, dates, categories, properties."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sheetledger.bot.parse import (
    ERROR_CODES,
    HELP_EXAMPLES,
    LineError,
    ParseResult,
    dedup_key,
    match_category,
    parse_message,
    result_records,
)
from sheetledger.config import Category, ExpensesConfig, load_config
from sheetledger.contract_ref import contract_key, find_contract_refs

REPO_ROOT = Path(__file__).resolve().parents[2]
TODAY = date(2026, 11, 27)


@cache
def example_expenses() -> ExpensesConfig:
    return load_config(REPO_ROOT / "config.yaml", require_secrets=False).expenses


def parse(text: str, *, today: date = TODAY, ceiling: Decimal | None = None) -> ParseResult:
    expenses = example_expenses()
    return parse_message(
        text,
        today=today,
        categories=expenses.categories,
        default_category=expenses.default_category,
        ceiling=expenses.ceiling if ceiling is None else ceiling,
    )


def only_error(text: str, **kwargs: object) -> LineError:
    result = parse(text, **kwargs)  # type: ignore[arg-type]
    assert result.expenses == (), f"{text!r} was recorded: {result.expenses}"
    (error,) = result.errors
    assert error.message, "the user is told what went wrong"
    assert error.code in ERROR_CODES
    return error


# --------------------------------------------------------------------------- several lines


def test_each_line_is_one_expense_and_empty_lines_keep_their_index() -> None:
    result = parse("3500 реклама яндекс\n1 200,50 такси вчера\n\n   \n45к аренда #1045\n")

    assert result.ok
    assert [e.line_no for e in result.expenses] == [0, 1, 4]
    assert [e.amount for e in result.expenses] == [
        Decimal("3500.00"),
        Decimal("1200.50"),
        Decimal("45000.00"),
    ]
    assert [e.category for e in result.expenses] == ["Реклама", "Транспорт", "Аренда"]
    assert [e.date for e in result.expenses] == [TODAY, TODAY - timedelta(days=1), TODAY]
    assert [e.deal_ref for e in result.expenses] == [None, None, "1045"]
    keys = [dedup_key(-100123, 77, e.line_no) for e in result.expenses]
    assert keys == ["tg:-100123:77:0", "tg:-100123:77:1", "tg:-100123:77:4"]


def test_a_date_on_one_line_does_not_leak_into_the_next() -> None:
    result = parse("такси 500 вчера\nкофе 300")

    assert [e.date for e in result.expenses] == [TODAY - timedelta(days=1), TODAY]


def test_a_bad_line_is_reported_and_the_good_ones_still_parse() -> None:
    result = parse("такси 500\nпривет как дела\nкофе 0\nбензин 2000\r\n")

    assert not result.ok
    assert [(e.line_no, e.amount) for e in result.expenses] == [
        (0, Decimal("500.00")),
        (3, Decimal("2000.00")),
    ]
    assert [(err.line_no, err.code, err.text) for err in result.errors] == [
        (1, "no_amount", "привет как дела"),
        (2, "zero_amount", "кофе 0"),
    ]


def test_windows_line_ends_are_lines_too() -> None:
    result = parse("такси 500\r\nкофе 300\r\n")

    assert [(e.line_no, e.comment) for e in result.expenses] == [(0, "такси"), (1, "кофе")]


def test_a_line_number_of_a_pasted_list_is_not_an_amount() -> None:
    result = parse("1. такси 500\n2. кофе 300\n3) бензин 2 000")

    assert [(e.amount, e.comment) for e in result.expenses] == [
        (Decimal("500.00"), "такси"),
        (Decimal("300.00"), "кофе"),
        (Decimal("2000.00"), "бензин"),
    ]


# --------------------------------------------------------------------------- error codes


@pytest.mark.parametrize("text", ["", "   ", "\n\n  \n"])
def test_an_empty_message_is_an_error(text: str) -> None:
    assert only_error(text).code == "empty"


@pytest.mark.parametrize(
    "text",
    ["привет", "такси вчера", "/start", "45км бензин", "аи92", "#1045", "№4521 счёт", "15%"],
)
def test_no_amount(text: str) -> None:
    error = only_error(text)
    assert error.code == "no_amount"
    assert text.strip() in error.message


@pytest.mark.parametrize("text", ["такси 500р кофе 300р", "3к аренда 5к реклама"])
def test_two_amounts_marked_as_money_are_refused(text: str) -> None:
    error = only_error(text)
    assert error.code == "several_amounts"
    assert "отдельной строкой" in error.message


@pytest.mark.parametrize("text", ["-500 такси", "такси -500", "такси −500р", "возврат -3,5к"])
def test_negative_amount(text: str) -> None:
    assert only_error(text).code == "negative_amount"


@pytest.mark.parametrize("text", ["0 такси", "такси 0р", "0,00 кофе", "кофе 0,004"])
def test_zero_amount_after_rounding_to_kopeks(text: str) -> None:
    assert only_error(text).code == "zero_amount"


def test_the_smallest_amount_is_one_kopek_rounded_half_up() -> None:
    (expense,) = parse("кофе 0,005").expenses
    assert expense.amount == Decimal("0.01")


def test_the_ceiling_itself_is_allowed_and_a_kopek_more_is_not() -> None:
    ceiling = Decimal("100000")

    (at_ceiling,) = parse("аренда 100 000", ceiling=ceiling).expenses
    assert at_ceiling.amount == Decimal("100000.00")
    error = only_error("аренда 100 000,01", ceiling=ceiling)
    assert error.code == "over_ceiling"
    assert "100 000 ₽" in error.message  # the ceiling, as a Russian reader writes it


@pytest.mark.parametrize(
    "text",
    # 27 digits once crashed the message (quantize beyond the default 28-digit precision).
    ["20 млн аренда", "аренда 10 000 001", "1" + "0" * 26, "9" * 60 + " такси"],
)
def test_over_the_example_ceiling(text: str) -> None:
    assert only_error(text).code == "over_ceiling"


@pytest.mark.parametrize(
    "text",
    ["31.04 такси 500", "такси 500 30.02.2026", "такси 500 15.13.2026", "такси 500 31 ноября",
     "такси 500 29.02", "такси 500 31.02.1900"],
)  # fmt: skip
def test_a_day_that_does_not_exist_is_a_bad_date(text: str) -> None:
    assert only_error(text).code == "bad_date"


@pytest.mark.parametrize(
    "text",
    ["такси 500 28.11", "такси 500 01.12.2026", "такси 500 27.11.27", "такси 500 30 ноября"],
)
def test_a_date_after_the_message_day_is_refused(text: str) -> None:
    error = only_error(text)
    assert error.code == "future_date"
    assert "ещё не наступила" in error.message


@pytest.mark.parametrize(
    "text", ["такси 500 01.01.1900", "такси 500 01.01.1999", "500 такси 5 мая 1999"]
)
def test_a_date_before_2000_is_refused_as_too_old_not_as_no_such_day(text: str) -> None:
    error = only_error(text)
    assert error.code == "old_date"
    assert "слишком давняя" in error.message and "такого дня нет" not in error.message


@pytest.mark.parametrize(("text", "days"), [("500 такси завтра", 1), ("послезавтра 500 такси", 2)])
def test_tomorrow_is_refused_like_any_future_date(text: str, days: int) -> None:
    error = only_error(text)
    assert error.code == "future_date"
    assert f"{TODAY + timedelta(days=days):%d.%m.%Y}" in error.message


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("5️⃣0️⃣0️⃣ такси", "500.00"),
        ("такси 1️⃣2️⃣0️⃣0️⃣", "1200.00"),
        ("3⃣5⃣0⃣0⃣ реклама", "3500.00"),  # keycaps without the emoji variation selector
        ("🔟 такси", "10.00"),
        ("4️⃣5️⃣к аренда", "45000.00"),
    ],
)
def test_keycap_digits_are_digits(text: str, amount: str) -> None:
    (line,) = parse(text).expenses
    assert line.amount == Decimal(amount)
    assert "⃣" not in line.comment and "\ufe0f" not in line.comment


def test_several_dates_and_several_deals() -> None:
    assert only_error("такси 500 вчера 25.11").code == "several_dates"
    assert only_error("материалы 500 #1045 #1046").code == "several_deals"


def test_amount_problems_are_reported_before_date_problems() -> None:
    assert only_error("привет 31.04").code == "no_amount"


def test_every_error_code_is_produced_by_some_message() -> None:
    messages = {
        "empty": "",
        "no_amount": "привет",
        "several_amounts": "такси 500р кофе 300р",
        "negative_amount": "такси -500",
        "zero_amount": "такси 0",
        "over_ceiling": "аренда 20 млн",
        "bad_date": "такси 500 31.04",
        "old_date": "такси 500 01.01.1900",
        "future_date": "такси 500 28.11",
        "several_dates": "такси 500 вчера позавчера",
        "several_deals": "такси 500 #1 #2",
    }
    assert set(messages) == set(ERROR_CODES)
    for code, text in messages.items():
        assert only_error(text).code == code, text


# --------------------------------------------------------------------------- dates


def test_the_date_defaults_to_the_day_the_message_was_sent() -> None:
    sent = date(2026, 3, 2)
    (expense,) = parse("такси 500", today=sent).expenses
    assert expense.date == sent
    (yesterday,) = parse("такси 500 вчера", today=sent).expenses
    assert yesterday.date == date(2026, 3, 1)
    (before,) = parse("такси 500 позавчера", today=sent).expenses
    assert before.date == date(2026, 2, 28)


def test_a_day_month_in_early_january_means_last_december() -> None:
    new_year = date(2027, 1, 5)

    (expense,) = parse("подарки 5000 25.12", today=new_year).expenses
    assert expense.date == date(2026, 12, 25)
    (named,) = parse("подарки 5000 28 декабря", today=new_year).expenses
    assert named.date == date(2026, 12, 28)


def test_a_day_month_earlier_this_year_stays_this_year() -> None:
    (expense,) = parse("такси 500 15.05").expenses
    assert expense.date == date(2026, 5, 15)


def test_the_message_day_itself_is_not_the_future() -> None:
    (expense,) = parse("такси 500 27.11.2026").expenses
    assert expense.date == TODAY


# --------------------------------------------------------------------------- text is data


def test_a_formula_looking_comment_is_kept_as_typed() -> None:
    (expense,) = parse('=HYPERLINK("http://evil.example/?x=1";"жми") 500').expenses

    assert expense.amount == Decimal("500.00")
    assert expense.comment == '=HYPERLINK("http://evil.example/?x=1";"жми")'


def test_an_arithmetic_expression_is_never_evaluated() -> None:
    (expense,) = parse("=2*1000 кофе 300").expenses

    assert expense.amount == Decimal("300.00")
    assert expense.comment == "=2*1000 кофе"


# --------------------------------------------------------------------------- categories

TEST_CATEGORIES = (
    Category(name="Реклама", keywords=("реклама", "яндекс", "вк")),
    Category(name="Транспорт", keywords=("такси", "яндекс такси", "ёлка доставка")),
    Category(name="Офис", keywords=("вода", "кофе")),
    Category(name="Other"),
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("реклама", "Реклама"),
        ("РЕКЛАМУ", "Реклама"),
        ("рекламы в метро", "Реклама"),
        ("рекламой", "Реклама"),
        ("рекламная кампания", "Реклама"),
        ("вк", "Реклама"),
        ("воды 19 л", "Офис"),
        ("воду", "Офис"),
        ("кофе", "Офис"),
        ("ЕЛКА ДОСТАВКА", "Транспорт"),  # ё in the keyword, е in the text
        ("ёлка доставка", "Транспорт"),
        ("яндекс такси", "Транспорт"),  # the two-word alias beats 'яндекс'
        ("такси яндекс", "Транспорт"),  # no two-word match: the earliest keyword
        ("яндекс директ", "Реклама"),
        ("кофе и реклама", "Офис"),
        ("other stuff", "Other"),  # the category's own name is an alias
    ],
)
def test_category_matches_word_forms_and_aliases(text: str, expected: str) -> None:
    assert match_category(text, TEST_CATEGORIES, "Other") == (expected, False)


@pytest.mark.parametrize("text", ["вкусно", "водитель", "кофта", "ремонт", "", "рек", "водный"])
def test_category_does_not_match_other_words(text: str) -> None:
    assert match_category(text, TEST_CATEGORIES, "Other") == ("Other", True)


def test_category_tie_goes_to_the_category_listed_first() -> None:
    twice = (Category(name="A", keywords=("кофе",)), Category(name="B", keywords=("кофе",)))

    assert match_category("кофе", twice, "A") == ("A", False)
    assert match_category("кофе", tuple(reversed(twice)), "A") == ("B", False)


def test_a_keyword_stem_is_not_a_prefix_of_unrelated_words() -> None:
    cats = example_expenses().categories
    assert match_category("обед с директором", cats, "Прочее") == ("Прочее", True)
    assert match_category("премиум подписка", cats, "Прочее") == ("Сервисы", False)


# --------------------------------------------------------------------------- help, records


def test_every_example_in_the_help_parses() -> None:
    examples = [
        line.split("—")[0].strip() for line in HELP_EXAMPLES.splitlines() if line.startswith("  ")
    ]
    assert len(examples) >= 4
    for example in examples:
        result = parse(example)
        assert result.ok, (example, result.errors)
        assert not result.expenses[0].category_guessed, example


def test_result_records_are_in_line_order_with_string_amounts() -> None:
    records = result_records(parse("привет\n45к аренда #1045"))

    assert records == [
        {
            "line": 0,
            "error": "no_amount",
            "message": "Не нашёл сумму в строке «привет».",
            "text": "привет",
        },
        {
            "line": 1,
            "amount": "45000.00",
            "date": "2026-11-27",
            "category": "Аренда",
            "category_guessed": False,
            "comment": "аренда",
            "deal_ref": "1045",
        },
    ]


# --------------------------------------------------------------------------- properties

amounts = st.decimals(
    min_value=Decimal("0.01"), max_value=Decimal("9999999.99"), places=2, allow_nan=False
)


def _grouped(whole: int, separator: str) -> str:
    return f"{whole:,}".replace(",", separator)


def _typed_forms(amount: Decimal) -> list[str]:
    """The ways people type ``amount`` that must read back as exactly ``amount``."""
    whole, kopeks = divmod(amount, 1)
    whole = int(whole)
    cents = f"{int(kopeks * 100):02d}"
    forms = [
        f"{whole},{cents}",
        f"{_grouped(whole, ' ')},{cents}",
        f"{_grouped(whole, chr(0xA0))},{cents} ₽",
        f"{whole}.{cents}р",
        f"{whole},{cents} руб.",
    ]
    if whole > 31:  # '12.10' would be a date: kopeks after a dot need a big enough number
        forms.append(f"{whole}.{cents}")
    if kopeks == 0:
        forms += [str(whole), _grouped(whole, " "), f"{whole}р", f"{_grouped(whole, ' ')} рублей"]
        if whole >= 1000:
            forms.append(_grouped(whole, "."))
        thousands = Decimal(whole) / 1000
        text = f"{thousands.normalize():f}"
        forms += [f"{text}к", f"{text.replace('.', ',')} тыс", f"{text}т.р."]
        if whole % 10_000 == 0 and whole >= 1_000_000:
            forms.append(f"{(Decimal(whole) / 1_000_000).normalize():f}".replace(".", ",") + " млн")
    return forms


@settings(max_examples=300, deadline=None)  # no timing in tests: a busy CI box is slow
@given(
    amount=amounts,
    words=st.sampled_from(["такси", "реклама яндекс", "кофе в офис", "материалы"]),
    data=st.data(),
)
def test_amounts_typed_any_usual_way_read_back_exactly(
    amount: Decimal, words: str, data: st.DataObject
) -> None:
    form = data.draw(st.sampled_from(_typed_forms(amount)), label="form")
    leading = data.draw(st.booleans(), label="leading")
    text = f"{form} {words}" if leading else f"{words} {form}"

    result = parse(text)

    assert result.errors == ()
    (expense,) = result.expenses
    assert expense.amount == amount
    assert expense.comment == words


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=300))
def test_parse_never_raises_and_accounts_for_every_line(text: str) -> None:
    result = parse(text)

    non_empty = [i for i, line in enumerate(text.splitlines()) if line.strip()]
    seen = sorted([e.line_no for e in result.expenses] + [e.line_no for e in result.errors])
    assert seen == (non_empty or [0])
    for expense in result.expenses:
        assert Decimal("0.01") <= expense.amount <= example_expenses().ceiling
        assert expense.amount.as_tuple().exponent == -2
        assert expense.date <= TODAY
        assert expense.comment == expense.comment.strip()
    for error in result.errors:
        assert error.code in ERROR_CODES
        assert error.message


_MESSAGE_ALPHABET = st.sampled_from(
    [*"0123456789 ,.-#№:р₽кk\n", "тыс", "млн", "руб", "вчера", "такси", "25.11", "#10"]
)


@settings(max_examples=500, deadline=None)
@given(st.lists(_MESSAGE_ALPHABET, max_size=40).map("".join))
def test_parse_never_raises_on_number_heavy_text(text: str) -> None:
    result = parse(text)

    for expense in result.expenses:
        assert expense.amount > 0
        assert expense.date <= TODAY
        if expense.deal_ref is not None:
            assert re.search(r"\d", expense.deal_ref)
            # The reference is out of the comment (``#10,0`` left there is a decimal, no reference).
            key = contract_key(expense.deal_ref)
            assert all(ref.key != key for ref in find_contract_refs(expense.comment))
