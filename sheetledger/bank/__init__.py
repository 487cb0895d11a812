"""Bank statements: parse 1CClientBankExchange files, match their money to payments."""

from __future__ import annotations

from decimal import Decimal


def rub(value: Decimal) -> str:
    """``Decimal('15000')`` → ``'15 000,00 ₽'``: the one way the bank feature writes money."""
    text = format(value.quantize(Decimal("0.01")), ",f")
    whole, _, cents = text.partition(".")
    return f"{whole.replace(',', ' ')},{cents} ₽"
