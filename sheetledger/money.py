"""Roubles as a Russian reader writes them: the one formatter of amounts for people.

``rub(Decimal("12000"))`` is ``"12 000 ₽"``; ``rub(Decimal("1200.5"))`` is
``"1 200,50 ₽"``. Thousands are grouped with a space and kopeks follow a comma,
rounded half-up (the way a cashier rounds). Whole roubles drop ``,00`` in the bot's
replies and the demo; the notes left in amoCRM keep them (``kopeks=True``), since an
accountant compares them with a bank statement, which always shows kopeks.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, localcontext

__all__ = ["KOPEKS", "rub", "to_kopeks"]

KOPEKS = Decimal("0.01")
NO_AMOUNT = "—"
_SHOWN_DIGITS = 20  # a longer run of digits was pasted by mistake: no need to show it all


def to_kopeks(value: Decimal) -> Decimal:
    """``value`` rounded half-up to two places, however many digits it has."""
    with localcontext() as context:
        # The default 28 digits would make quantize() raise on a long pasted number.
        context.prec = max(context.prec, value.adjusted() + 4)
        return value.quantize(KOPEKS, rounding=ROUND_HALF_UP)


def rub(value: Decimal | int | None, *, kopeks: bool = False) -> str:
    """An amount in roubles for people to read; ``—`` for no amount.

    ``kopeks=True`` always shows them (``"12 000,00 ₽"``).
    """
    if value is None:
        return NO_AMOUNT
    amount = Decimal(value)
    if not amount.is_finite():
        return NO_AMOUNT
    if amount.adjusted() > _SHOWN_DIGITS:
        return f"{amount:.3E} ₽"
    text = f"{to_kopeks(amount):,.2f}".replace(",", " ").replace(".", ",")
    if not kopeks:
        text = text.removesuffix(",00")
    return f"{text} ₽"
