"""The contract-reference recognizer, on the spellings people and banks really use."""

from __future__ import annotations

import pytest

from sheetledger.contract_ref import contract_key, find_contract_refs


def keys(text: str) -> list[str]:
    return [ref.key for ref in find_contract_refs(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the markers of the payment-orders issue
        ("#1045", ["1045"]),
        ("№1045", ["1045"]),
        ("№ 1045", ["1045"]),
        ("дог. 1045", ["1045"]),
        ("договор 1045", ["1045"]),
        ("по договору №1045 от 12.11.2026", ["1045"]),
        ("дог-р 1045", ["1045"]),
        # bank purposes
        ("Оплата по счету 1045", ["1045"]),
        ("Оплата по счёту № 1045 от 01.12.2026. Без НДС", ["1045"]),
        ("Оплата по сч. 1045 за кухню", ["1045"]),
        ("Оплата счета на оплату 1045", ["1045"]),
        ("дог.1045 от 12.11", ["1045"]),
        ("Предоплата по договору поставки 1045-А от 01.12.2026г. НДС не облагается", ["1045-А"]),
        ("Оплата по заказу клиента №9614, НДС не облагается", ["9614"]),
        ("ОПЛАТА ПО ДОГОВОРУ N 1045 ОТ 12.11.2026 СУММА 15000-00 БЕЗ НДС", ["1045"]),
        ("Оплата по дог. No. 1045", ["1045"]),
        ("д-р 77/2 доплата", ["77-2"]),
        ("контракт 5512", ["5512"]),
        # glued to the words around
        ("дог1045", ["1045"]),
        ("договор№1045", ["1045"]),
        ("№1045от12.11", ["1045"]),
        ("Оплатаподоговору1045", ["1045"]),
        ("Оплата по дог.1045от 12.11.26 за мебель", ["1045"]),
        # the expense bot's lines
        ("фурнитура 3200 (дог. 1045)", ["1045"]),
        ("№1045 фурнитура 3200", ["1045"]),
        ("45к аренда #1045", ["1045"]),
        # several
        ("по договорам 1045, 1046 и 1047", ["1045", "1046", "1047"]),
        ("Оплата по счетам №№ 15, 16", ["15", "16"]),
        ("дог. 1045 и дог. 1046", ["1045", "1046"]),
        ("дог. 1045, см. договор 1045", ["1045"]),  # one contract once
    ],
)
def test_references_are_found(text: str, expected: list[str]) -> None:
    assert keys(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Оплата по договору",  # no number
        "Перевод средств 15000",  # a bare number may be the amount
        "договор от 12.11.2026",  # a date after the marker
        "счет 1045.50",  # a decimal
        "ИНН 7700000008 КПП 770001001",
        "р/с 40702810000000074935",
        "расчет 15000",  # 'расчет' holds the letters of 'счет'
        "педагог 5",  # 'дог' inside a word
        "В т.ч. НДС 20% - 2500.00",
        "Оплата стоимости пакета услуг (п. 17.2.1.). НДС не облагается.",
        "",
    ],
)
def test_no_reference(text: str) -> None:
    assert keys(text) == []


def test_the_number_after_a_date_is_the_reference() -> None:
    """«договор от 12.11.2026 № 1045»: the date is skipped, the № number is taken."""
    assert keys("по договору от 12.11.2026 № 1045") == ["1045"]


def test_a_contract_word_takes_the_number_right_after_it() -> None:
    # A contract number may look like an amount: it is taken because of its marker.
    refs = find_contract_refs("Оплата по договору 15000 сумма 15000")
    assert [(r.key, r.marker) for r in refs] == [("15000", "contract")]


def test_span_and_spelling_are_kept() -> None:
    text = "Оплата по дог. № 1045-а от 12.11"
    (ref,) = find_contract_refs(text)
    assert ref.number == "1045-а"
    assert ref.key == "1045-А"
    assert text[ref.start : ref.end] == "дог. № 1045-а"


def test_list_spans_cover_each_number() -> None:
    text = "по договорам 1045, 1046"
    first, second = find_contract_refs(text)
    assert text[first.start : first.end].endswith("1045")
    assert text[second.start : second.end].endswith("1046")


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("1045", "1045"),
        (" 1045 ", "1045"),
        ("01045", "1045"),
        ("№1045", "1045"),
        ("#1045", "1045"),
        ("N 1045", "1045"),
        ("1045-А", "1045-А"),
        ("1045-A", "1045-А"),  # Latin A typed for Cyrillic А
        ("1045а", "1045-А"),
        ("1045 а", "1045-А"),
        ("1045/А", "1045-А"),
        ("77/2", "77-2"),
        ("0", "0"),
        ("", ""),
        ("  ", ""),
    ],
)
def test_contract_key(typed: str, key: str) -> None:
    assert contract_key(typed) == key


def test_different_contracts_keep_different_keys() -> None:
    assert contract_key("1045-2") != contract_key("10452")
    assert contract_key("1045") != contract_key("1046")
    assert contract_key("1045-А") != contract_key("1045-Б")
