"""amoCRM lead JSON -> ``Deal`` and its ``Payment``s. Pure.

Payments are deal custom fields: each configured slot names the fields holding its
amount, payment type (a select) and date. amoCRM quirks handled here
(docs/api-notes.md, "amoCRM: field values"): ``custom_fields_values`` is ``null`` when nothing is
filled; numeric values arrive as strings; dates as unix seconds (ints); selects
carry ``value`` (the option text) and ``enum_id``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from sheetledger.config import AmoConfig, Method
from sheetledger.model import Deal, Payment, RowCode, money


def field_values(lead: Mapping[str, Any]) -> dict[int, list[dict[str, Any]]]:
    """The lead's custom field values by field id (empty when amoCRM sends null)."""
    out: dict[int, list[dict[str, Any]]] = {}
    for entry in lead.get("custom_fields_values") or ():
        try:
            out[int(entry["field_id"])] = list(entry.get("values") or ())
        except (KeyError, TypeError, ValueError):
            continue
    return out


def confirmed_total(lead: Mapping[str, Any], field_id: int | None) -> Decimal | None:
    """The lead's confirmed-total field (what the ledger last wrote there), None when empty."""
    if field_id is None:
        return None
    values = field_values(lead).get(field_id)
    if not values:
        return None
    try:
        return money(Decimal(str(values[0].get("value"))))
    except ArithmeticError:
        return None


def _first(values: dict[int, list[dict[str, Any]]], field_id: int | None) -> Any:
    if field_id is None:
        return None
    found = values.get(field_id)
    if not found:
        return None
    return found[0].get("value")


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _date(value: Any, tz: ZoneInfo) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(int(value), tz).date()
    text = str(value)
    if text.isdigit():
        return datetime.fromtimestamp(int(text), tz).date()
    try:  # amoCRM also accepts (and some integrations store) RFC-3339 strings
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(tz).date()
    except ValueError:
        return None


def _amount(value: Any) -> Decimal | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        amount = money(Decimal(str(value).replace(",", ".").replace(" ", "")))
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None  # "NaN" parses, then breaks every comparison


def parse_deal(
    lead: Mapping[str, Any],
    amo: AmoConfig,
    tz: ZoneInfo,
    values: dict[int, list[dict[str, Any]]] | None = None,
) -> Deal:
    """The lead as a ``Deal``; ``values`` is ``field_values(lead)`` when the caller has it."""
    values = field_values(lead) if values is None else values
    fields = amo.fields
    return Deal(
        id=int(lead["id"]),
        name=_text(lead.get("name")),
        pipeline_id=int(lead.get("pipeline_id") or 0),
        status_id=int(lead.get("status_id") or 0),
        manager_id=lead.get("responsible_user_id"),
        budget=money(lead.get("price") or 0),
        updated_at=int(lead.get("updated_at") or 0),
        contract_no=_text(_first(values, fields.contract_no)),
        contract_date=_date(_first(values, fields.contract_date), tz),
        product=_text(_first(values, fields.product)),
        salon=_text(_first(values, fields.salon)),
        city=_text(_first(values, fields.city)),
    )


def parse_payments(
    lead: Mapping[str, Any],
    amo: AmoConfig,
    tz: ZoneInfo,
    values: dict[int, list[dict[str, Any]]] | None = None,
) -> list[Payment]:
    """One ``Payment`` per filled slot; a slot counts as filled when its amount or type is set.

    A value the ledger cannot use (an unknown payment type, an amount that is not a
    number) does not drop the payment: it comes back with ``problem`` set, so the row
    shows the code and the rest of the sync goes on.
    """
    values = field_values(lead) if values is None else values
    deal_id = int(lead["id"])
    methods: Mapping[str, Method] = {k.casefold(): v for k, v in amo.methods.items()}
    payments = []
    for number, slot in enumerate(amo.payment_slots, start=1):
        raw_amount = _first(values, slot.amount)
        raw_method = _first(values, slot.method)
        if raw_amount in (None, "") and raw_method in (None, ""):
            continue
        problems = []
        amount = _amount(raw_amount)
        if raw_amount in (None, ""):
            problems.append(RowCode.E_AMOUNT.because("the payment has no amount"))
        elif amount is None:
            problems.append(RowCode.E_AMOUNT.because(f"the amount {raw_amount!r} is not a number"))
        elif amount <= 0:
            problems.append(RowCode.E_AMOUNT.because(f"the amount {amount} is not positive"))
        method = methods.get(_text(raw_method).casefold()) if raw_method else None
        if raw_method in (None, ""):
            problems.append(RowCode.E_METHOD.because("the payment type is not chosen"))
        elif method is None:
            problems.append(
                RowCode.E_METHOD.because(
                    f"unknown payment type {_text(raw_method)!r} (add it to amocrm.methods)"
                )
            )
        payments.append(
            Payment(
                deal_id=deal_id,
                slot=number,
                kind=slot.name,
                method=method,
                amount=amount,
                date=_date(_first(values, slot.date), tz),
                problem="; ".join(problems),
            )
        )
    return payments


@dataclass(frozen=True, slots=True)
class PulledLead:
    """A lead as the pull needs it: its deal and its payments, parsed from its JSON.

    A first import brings 10,000 leads; as JSON they take about 130 MB, parsed about a
    tenth of that. The cycle parses each lead as its page arrives and keeps only this.
    """

    deal: Deal
    payments: tuple[Payment, ...]


def pull_lead(lead: Mapping[str, Any] | PulledLead, amo: AmoConfig, tz: ZoneInfo) -> PulledLead:
    """``lead`` parsed (a lead parsed already is kept as it is)."""
    if isinstance(lead, PulledLead):
        return lead
    values = field_values(lead)
    return PulledLead(
        parse_deal(lead, amo, tz, values), tuple(parse_payments(lead, amo, tz, values))
    )


def pull_leads(
    leads: Iterable[Mapping[str, Any] | PulledLead], amo: AmoConfig, tz: ZoneInfo
) -> Iterator[PulledLead]:
    """Each lead parsed as it comes (a page of JSON is let go once its leads are parsed)."""
    for lead in leads:
        yield pull_lead(lead, amo, tz)
