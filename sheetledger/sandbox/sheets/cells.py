"""How a cell's value is stored, and shown as ExtendedValue JSON."""

from __future__ import annotations

from typing import Any

# A cell value is stored as a plain Python value: None (empty), str, bool, int or
# float (integral floats are kept as int so JSON shows 53, not 53.0, like Google),
# or a Formula. Formats, validations, notes and pivot tables live beside the
# values (Sheet.extras), so a 30,000-row tab is a list of small lists.


class Formula(str):
    """A formula as entered (``=4/2``); its value is computed when read."""

    __slots__ = ()


def json_number(value: float | int) -> float | int:
    """Integral floats as int (Google's JSON shows ``53``, not ``53.0``)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def typed_value(value: Any) -> dict[str, Any]:
    """A value as ExtendedValue JSON."""
    if isinstance(value, Formula):
        return {"formulaValue": str(value)}
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int | float):
        return {"numberValue": value}
    return {"stringValue": value}
