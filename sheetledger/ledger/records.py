"""The sync's rows of the ledger, typed: Deals, Payments, Cash on hand, and a cabinet's
Payments and handover form.

One frozen dataclass per tab, one field per column declared in ``ledger/tabs.py`` (same
keys, same order: ``_typed`` checks it when the module loads), in the style of
beangulp's typed importers, as ``bot/rows.py`` does for the bot's tabs:

* ``from_cells`` takes a row as column key -> value (the values ``ledger/rows.py`` reads,
  already held to each column's kind; ``None`` when empty; a missing key is an empty
  cell) and ``to_cells`` gives them back, every declared column, for a write;
* ``replace`` (also spelled ``row | values``) is a copy with some cells set: rows are
  never modified, so a row read unchanged from one cycle to the next is the same object
  and can be reused (``ledger/rows.py`` keeps them by their raw cells).

The planners of ``sync/`` read these rows by attribute. Every row also reads as a
read-only mapping by column key (``row.get("amount")``, ``row["id"]``, ``dict(row)``)
for the code that reads any tab alike: the adapter's write, the in-memory twin of it
(``ledger/view.py``), and the planners elsewhere that read the ledger's tabs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from decimal import Decimal
from operator import attrgetter
from typing import Any, ClassVar, TypeVar

from sheetledger.ledger.tabs import CABINET_PAYMENTS, CASH, DEALS, HANDOVER, PAYMENTS, TabSchema

__all__ = [
    "CabinetPaymentRow",
    "CashRow",
    "DealRow",
    "HandoverRow",
    "PaymentRow",
    "Row",
    "RowT",
    "row_type",
]

RowT = TypeVar("RowT", bound="Row")
_new = object.__new__


class Row(Mapping[str, Any]):
    """What every typed row has: cells in and out, a changed copy, the mapping view."""

    __slots__ = ()
    schema: ClassVar[TabSchema]
    keys_: ClassVar[tuple[str, ...]]  # the column keys, in order (``keys`` is the mapping's)
    _key_set: ClassVar[frozenset[str]]
    _cells: ClassVar[Any]  # attrgetter: the row -> its cells, in order

    @classmethod
    def from_cells(cls: type[RowT], cells: Mapping[str, Any]) -> RowT:
        """A row from column key -> value; a column missing from ``cells`` is empty."""
        if isinstance(cells, cls):
            return cells
        unknown = set(cells) - cls._key_set
        if unknown:
            raise KeyError(f"{cls.__name__}: no column {', '.join(sorted(unknown))}")
        get = cells.get
        return cls.of([get(key) for key in cls.keys_])

    @classmethod
    def of(cls: type[RowT], values: Sequence[Any]) -> RowT:
        """A row from its cells in column order (the parser's way: no key looked up).

        The instance's dict is filled at once, as ``dict(zip(...))`` would: a frozen
        dataclass's ``__init__`` sets one field at a time and costs three times as much,
        and a cycle may build 40,000 rows. (The dataclass stays frozen: nothing else
        writes into that dict.)
        """
        row = _new(cls)
        row.__dict__.update(zip(cls.keys_, values, strict=True))
        return row

    def to_cells(self) -> dict[str, Any]:
        """Column key -> value, every declared column, for a ledger write."""
        return {key: getattr(self, key) for key in self.keys_}

    def replace(self: RowT, values: Mapping[str, Any]) -> RowT:
        """This row with ``values`` (column key -> value) set; the row itself is unchanged."""
        if not values:
            return self
        cells = self._values()
        index = self.schema.index
        for key, value in values.items():
            if key not in self._key_set:
                raise KeyError(f"{type(self).__name__}: no column {key}")
            cells[index[key]] = value
        return self.of(cells)

    def __or__(self: RowT, values: Mapping[str, Any]) -> RowT:
        return self.replace(values)

    def _values(self) -> list[Any]:
        return list(self._cells(self))

    # -- the read-only mapping -------------------------------------------------

    def __getitem__(self, key: str) -> Any:
        if key in self._key_set:
            return getattr(self, key)
        raise KeyError(key)

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key) if key in self._key_set else default

    def __contains__(self, key: object) -> bool:
        return key in self._key_set

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys_)

    def __len__(self) -> int:
        return len(self.keys_)

    def __eq__(self, other: object) -> bool:
        if type(other) is type(self):
            return self._values() == other._values()
        if isinstance(other, Mapping):
            return dict(self.items()) == dict(other.items())
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # (a mapping is not hashable)


def _typed(schema: TabSchema) -> Callable[[type[RowT]], type[RowT]]:
    """Registers the frozen row class of ``schema``; its fields must be the schema's columns."""

    def make(cls: type[RowT]) -> type[RowT]:
        made = cls
        names = tuple(f.name for f in fields(made))  # type: ignore[arg-type]  # (a dataclass)
        keys = tuple(column.key for column in schema.columns)
        assert names == keys, f"{cls.__name__} fields {names} are not {schema.key}'s {keys}"
        made.schema, made.keys_, made._key_set = schema, keys, frozenset(keys)
        made._cells = staticmethod(attrgetter(*keys))
        return made

    return make


@_typed(DEALS)
@dataclass(frozen=True, eq=False)
class DealRow(Row):
    """A row of the Deals tab (``tabs.DEALS``)."""

    id: int | None
    name: str | None
    pipeline: str | None
    status: str | None
    manager: str | None
    contract_no: str | None
    contract_date: dt.date | None
    product: str | None
    salon: str | None
    city: str | None
    budget: Decimal | None
    confirmed_total: Decimal | None
    balance_due: Decimal | None
    link: str | None
    crm_updated_at: int | None
    pipeline_id: int | None
    status_id: int | None
    flag: str | None


@_typed(PAYMENTS)
@dataclass(frozen=True, eq=False)
class PaymentRow(Row):
    """A row of the master's Payments tab (``tabs.PAYMENTS``); its ID is a ``PaymentId``."""

    id: str | None
    deal_id: int | None
    contract_no: str | None
    manager: str | None
    kind: str | None
    method: str | None
    amount: Decimal | None
    date: dt.date | None
    confirmed: bool | None
    received: Decimal | None
    confirmed_by: str | None
    confirmed_at: dt.date | None
    bank_ref: str | None
    comment: str | None
    pushed_amount: Decimal | None
    state: str | None


@_typed(CABINET_PAYMENTS)
@dataclass(frozen=True, eq=False)
class CabinetPaymentRow(Row):
    """A row of a cabinet's Payments tab (``tabs.CABINET_PAYMENTS``)."""

    id: str | None
    deal: str | None
    contract_no: str | None
    manager: str | None
    kind: str | None
    method: str | None
    amount: Decimal | None
    date: dt.date | None
    confirmed: bool | None
    received: Decimal | None
    comment: str | None
    mirror: str | None


@_typed(CASH)
@dataclass(frozen=True, eq=False)
class CashRow(Row):
    """A row of Cash on hand (``tabs.CASH``): one manager's unconfirmed cash."""

    manager: str | None
    amount: Decimal | None
    count: int | None
    oldest: dt.date | None
    payment_ids: str | None


@_typed(HANDOVER)
@dataclass(frozen=True, eq=False)
class HandoverRow(Row):
    """A row of a cashbox's handover form (``tabs.HANDOVER``): one manager."""

    manager: str | None
    held: Decimal | None
    count: int | None
    oldest: dt.date | None
    received: Decimal | None
    accept: bool | None
    done: int | None
    result: str | None


_ROW_TYPES: dict[str, type[Row]] = {
    cls.schema.key: cls for cls in (DealRow, PaymentRow, CashRow, CabinetPaymentRow, HandoverRow)
}


def row_type(schema: TabSchema) -> type[Row] | None:
    """The typed row of a tab, None for the tabs whose rows stay plain mappings."""
    cls = _ROW_TYPES.get(schema.key)
    return cls if cls is not None and cls.schema == schema else None
