"""The managed tabs, declared once: columns by header, who owns each, what kind it holds.

Owners:
* ``KEY``    the row's ID; the daemon writes it once, rows are found by it;
* ``CRM``    copied from amoCRM; the daemon overwrites it when the CRM changes;
* ``CALC``   computed by the daemon from the ledger (totals, balances);
* ``PEOPLE`` typed or ticked by people; the daemon never overwrites it;
* ``DAEMON`` the daemon's bookkeeping for the row (sync state).

The header row is checked every cycle: the managed headers must stand in this
order from column A. Columns people add to the right are theirs and left alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import NamedTuple

from sheetledger.ledger.cells import Kind


class Owner(StrEnum):
    KEY = "key"
    CRM = "crm"
    CALC = "calc"
    PEOPLE = "people"
    DAEMON = "daemon"


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    owner: Owner
    kind: Kind = Kind.TEXT
    width: int = 110
    note: str = ""
    hidden: bool = False  # hidden by init (people need not see the daemon's memory)

    @property
    def daemon_writes(self) -> bool:
        """Whether the daemon may overwrite this column on an existing row."""
        return self.owner in (Owner.CRM, Owner.CALC, Owner.DAEMON)


@dataclass(frozen=True)
class TabSchema:
    key: str  # "payments": the config's tabs.<key> gives the title
    columns: tuple[Column, ...]
    hidden: bool = False
    index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "index", {c.key: i for i, c in enumerate(self.columns)})

    @property
    def headers(self) -> list[str]:
        return [c.header for c in self.columns]

    @property
    def id_column(self) -> Column:
        return self.columns[0]

    def column(self, key: str) -> Column:
        return self.columns[self.index[key]]

    @property
    def width(self) -> int:
        return len(self.columns)


class Tab(NamedTuple):
    """A managed tab of one spreadsheet: its title there (from the config) and its columns."""

    title: str
    schema: TabSchema


def _c(
    key: str, header: str, owner: Owner, kind: Kind = Kind.TEXT, width: int = 110, note: str = ""
) -> Column:
    return Column(key, header, owner, kind, width, note)


K, CRM, CALC, PEOPLE, DAEMON = Owner.KEY, Owner.CRM, Owner.CALC, Owner.PEOPLE, Owner.DAEMON

DEALS = TabSchema(
    "deals",
    (
        _c("id", "Deal ID", K, Kind.INT, 90),
        _c("name", "Deal", CRM, width=220),
        _c("pipeline", "Pipeline", CRM, width=120),
        _c("status", "Status", CRM, width=150),
        _c("manager", "Manager", CRM, width=140),
        _c("contract_no", "Contract no", CRM, width=100),
        _c("contract_date", "Contract date", CRM, Kind.DATE, 100),
        _c("product", "Product", CRM, width=140),
        _c("salon", "Salon", CRM, width=120),
        _c("city", "City", CRM, width=110),
        _c("budget", "Budget", CRM, Kind.MONEY, 110),
        _c("confirmed_total", "Confirmed total", CALC, Kind.MONEY, 120),
        _c("balance_due", "Balance due", CALC, Kind.MONEY, 110),
        _c("link", "Link", CRM, width=260),
        _c("crm_updated_at", "CRM updated", CRM, Kind.INT, 100, "amoCRM updated_at (unix)"),
        _c("pipeline_id", "Pipeline ID", CRM, Kind.INT, 90),
        _c("status_id", "Status ID", CRM, Kind.INT, 90),
        _c("flag", "Flag", DAEMON, width=220),
    ),
)

# A payment as the CRM describes it, and the two cells a person fills to confirm it: the
# master's Payments tab and every cabinet show them alike.
_PAYMENT_ID = _c("id", "Payment ID", K, width=110)
_PAYMENT_FROM_CRM = (
    _c("contract_no", "Contract no", CRM, width=100),
    _c("manager", "Manager", CRM, width=140),
    _c("kind", "Kind", CRM, width=110),
    _c("method", "Method", CRM, width=90),
    _c("amount", "Amount", CRM, Kind.MONEY, 110),
    _c("date", "Date", CRM, Kind.DATE, 100),
)
_CONFIRMATION = (
    _c("confirmed", "Confirmed", PEOPLE, Kind.BOOL, 90),
    _c("received", "Received amount", PEOPLE, Kind.MONEY, 120, "empty = the expected amount"),
)

PAYMENTS = TabSchema(
    "payments",
    (
        _PAYMENT_ID,
        _c("deal_id", "Deal ID", CRM, Kind.INT, 90),
        *_PAYMENT_FROM_CRM,
        *_CONFIRMATION,
        _c("confirmed_by", "Confirmed by", PEOPLE, width=130),
        _c("confirmed_at", "Confirmed at", PEOPLE, Kind.DATE, 110),
        _c("bank_ref", "Bank ref", PEOPLE, width=110),
        _c("comment", "Comment", PEOPLE, width=200),
        _c("pushed_amount", "Pushed amount", DAEMON, Kind.MONEY, 110),
        _c("state", "Sync state", DAEMON, width=240),
    ),
)

CASH = TabSchema(
    "cash",
    (
        _c("manager", "Manager", K, width=160),
        _c("amount", "Cash held", CALC, Kind.MONEY, 120),
        _c("count", "Payments", CALC, Kind.INT, 90),
        _c("oldest", "Oldest", CALC, Kind.DATE, 100),
        _c("payment_ids", "Payment IDs", CALC, width=300),
    ),
)

EXPENSES = TabSchema(
    "expenses",
    (
        _c("id", "Expense ID", K, width=170, note="tg:<chat>:<message>:<line> for the bot's rows"),
        _c("date", "Date", CRM, Kind.DATE, 100),
        _c("amount", "Amount", CRM, Kind.MONEY, 110),
        _c("category", "Category", PEOPLE, width=130),
        _c("comment", "Comment", PEOPLE, width=260),
        _c("contract_no", "Contract no", PEOPLE, width=100),
        _c("deal_id", "Deal ID", DAEMON, Kind.INT, 90),
        _c("entered_by", "Entered by", DAEMON, width=150),
        _c("source", "Source", DAEMON, width=90),
        _c("recorded_at", "Recorded at", DAEMON, Kind.DATETIME, 140),
        _c(
            "void", "Void", PEOPLE, Kind.BOOL, 70, "ticked = undone: kept, but excluded from totals"
        ),
        _c("salon", "Salon", PEOPLE, width=120, note="the salon this cost belongs to, if one"),
        _c("city", "City", PEOPLE, width=110, note="the city this cost belongs to, if one"),
    ),
)

# One row per line of an imported bank statement (README «Bank statements»). The ID is the bank's
# natural key, so the same line from two overlapping statements is one row; the bank's
# cells are the daemon's, what the line was matched to is said in the last four.
_BANK_LINE = (
    _c("id", "Line ID", K, width=200, note="account:date:document no:amount:counterparty account"),
    _c("date", "Date", DAEMON, Kind.DATE, 100),
    _c("direction", "Direction", DAEMON, width=80, note="in / out"),
    _c("amount", "Amount", DAEMON, Kind.MONEY, 110),
    _c("counterparty", "Counterparty", DAEMON, width=200),
    _c("inn", "INN", DAEMON, width=110),
    _c("purpose", "Purpose", DAEMON, width=320),
)
_BANK_MATCH = (
    _c("matched_to", "Matched to", DAEMON, width=140, note="payment IDs (or an expense ID)"),
    _c("rule", "Rule", DAEMON, width=130, note="the rule that made the match"),
    _c("state", "State", DAEMON, width=130),
    _c("reason", "Why", DAEMON, width=320),
    _c("candidates", "Candidates", DAEMON, width=160, note="payment IDs to pick from"),
)

BANK = TabSchema(
    "bank",
    (
        *_BANK_LINE,
        _c("account", "Own account", DAEMON, width=190),
        *_BANK_MATCH,
    ),
)

# Payment orders (README «Payment orders»): a bill someone asked to pay. The request's cells
# are the requester's (from the bot or the Requests tab); the payment's are the accountant's
# (ticked here or in her Orders tab, or pressed in Telegram); the last three are the daemon's.
_ORDER_REQUEST = (
    _c("created", "Created", DAEMON, Kind.DATETIME, 140),
    _c("requested_by", "Requested by", DAEMON, width=140),
    _c("supplier", "Supplier", PEOPLE, width=200),
    _c("purpose", "Purpose", PEOPLE, width=240),
    _c("category", "Category", PEOPLE, width=130),
    _c("amount", "Amount", PEOPLE, Kind.MONEY, 110),
    _c("due", "Due", PEOPLE, Kind.DATE, 100),
)
_ORDER_PAYMENT = (
    _c("paid", "Paid", PEOPLE, Kind.BOOL, 70, "tick when the bill is paid"),
    _c("paid_on", "Paid on", PEOPLE, Kind.DATE, 100, "empty = the day it was ticked"),
    _c("paid_amount", "Paid amount", PEOPLE, Kind.MONEY, 110, "empty = the order's amount"),
    _c("paid_from", "Paid from", PEOPLE, width=130, note="orders.paid_from: «р/с Сбер», «касса»"),
    _c("payment_ref", "Payment ref", PEOPLE, width=120),
    _c("reject", "Reject", PEOPLE, Kind.BOOL, 70, "tick to refuse the order (say why)"),
    _c("reason", "Reason", PEOPLE, width=200),
)

INVOICES = TabSchema(
    "invoices",
    (
        _c("id", "Order ID", K, width=130),
        *_ORDER_REQUEST,
        _c("bill_no", "Bill no", PEOPLE, width=90),
        _c("contract_no", "Contract no", PEOPLE, width=100),
        _c("deal_id", "Deal ID", DAEMON, Kind.INT, 90),
        _c("salon", "Salon", PEOPLE, width=120),
        _c("city", "City", PEOPLE, width=110),
        _c("bill_link", "Bill", DAEMON, width=220, note="the bill file in Google Drive"),
        *_ORDER_PAYMENT,
        _c("paid_by", "Paid by", DAEMON, width=130),
        _c("source", "Source", DAEMON, width=200, note="tg:<chat>:<message> or rq:<cabinet>:<row>"),
        _c("notified", "Notified", DAEMON, width=140, note="channels the accountant was told by"),
        _c("pushed", "Pushed", DAEMON, width=120, note="the paid state amoCRM has (marker #n)"),
        _c("state", "State", DAEMON, width=240),
    ),
)

STATE = TabSchema(
    "state",
    (
        _c("key", "Key", K, width=220),
        _c("value", "Value", DAEMON, width=260),
    ),
    hidden=True,
)

# What ``sheetledger reconcile`` found: rewritten whole by each run (one write). A person
# ticks Seen to mute a finding until its detail changes.
RECONCILIATION = TabSchema(
    "reconciliation",
    (
        _c("id", "Finding", K, width=200, note="<code>:<subject>, stable from run to run"),
        _c("severity", "Severity", CALC, width=80),
        _c("code", "Code", CALC, width=160),
        _c("subject", "Subject", CALC, width=110),
        _c("detail", "Detail", CALC, width=420),
        _c("todo", "What to do", CALC, width=360),
        _c("link", "Link", CALC, width=260),
        _c("first_seen", "First seen", CALC, Kind.DATE, 100),
        _c("last_seen", "Last seen", CALC, Kind.DATE, 100),
        _c("seen", "Seen", PEOPLE, Kind.BOOL, 70, "tick to mute this finding until it changes"),
    ),
)

MASTER_TABS = (DEALS, PAYMENTS, CASH, EXPENSES, BANK, INVOICES, RECONCILIATION, STATE)

# --------------------------------------------------------------------------- cabinets
# A cabinet is a person's own spreadsheet: only the payments of its methods and only
# the columns that person needs (README, "Cabinets": no budgets, no profit, no other rows).

# A cabinet row's last state as the daemon wrote it (hidden): what tells a person's edit apart.
_MIRROR = Column(
    "mirror",
    "Synced",
    DAEMON,
    Kind.TEXT,
    80,
    "the daemon's memory of this row; do not edit",
    hidden=True,
)

CABINET_PAYMENTS = TabSchema(
    "cabinet_payments",
    (
        _PAYMENT_ID,
        _c("deal", "Deal", CRM, width=220),
        *_PAYMENT_FROM_CRM,
        *_CONFIRMATION,
        _c("comment", "Comment", PEOPLE, width=220),
        _MIRROR,
    ),
)

HANDOVER = TabSchema(
    "handover",
    (
        _c("manager", "Manager", K, width=170),
        _c("held", "Cash held", CALC, Kind.MONEY, 120),
        _c("count", "Payments", CALC, Kind.INT, 90),
        _c("oldest", "Oldest", CALC, Kind.DATE, 100),
        _c("received", "Amount received", PEOPLE, Kind.MONEY, 140, "type the cash you received"),
        _c("accept", "Accept", PEOPLE, Kind.BOOL, 80, "tick to confirm the handover"),
        _c("done", "Handovers", DAEMON, Kind.INT, 90),
        _c("result", "Last result", DAEMON, width=320),
    ),
)

HANDOVER_LOG = TabSchema(
    "handover_log",
    (
        _c("id", "Handover", K, width=230),
        _c("date", "Date", DAEMON, Kind.DATE, 100),
        _c("manager", "Manager", DAEMON, width=170),
        _c("amount", "Amount", DAEMON, Kind.MONEY, 110),
        _c("confirmed", "Payments confirmed", DAEMON, width=240),
        _c("partial", "Partial receipt", DAEMON, width=200),
        _c("by", "Accepted by", DAEMON, width=140),
    ),
)

# --------------------------------------------------------------------------- reports
# Computed whole from the ledger (sheetledger.reports) and rewritten whole when a source
# changed: every column is the daemon's. People add their formulas on tabs of their own.
PERCENT_COLUMNS = frozenset({"margin", "marketing_share", "allocation_share"})

PROFIT = TabSchema(
    "profit",
    (
        _c("id", "Deal ID", K, Kind.INT, 90),
        _c("name", "Deal", CALC, width=220),
        _c("contract_no", "Contract no", CALC, width=100),
        _c("manager", "Manager", CALC, width=140),
        _c("product", "Product", CALC, width=140),
        _c("salon", "Salon", CALC, width=120),
        _c("city", "City", CALC, width=110),
        _c("pipeline", "Pipeline", CALC, width=120),
        _c("status", "Status", CALC, width=150),
        _c("month", "Month", CALC, width=90, note="the month of the contract"),
        _c("budget", "Budget", CALC, Kind.MONEY, 120),
        _c("revenue", "Revenue", CALC, Kind.MONEY, 120, "confirmed received amounts"),
        _c("deal_costs", "Deal costs", CALC, Kind.MONEY, 120, "expenses linked to the deal"),
        _c("gross_profit", "Gross profit", CALC, Kind.MONEY, 120),
        _c("margin", "Margin", CALC, width=90, note="gross profit / revenue"),
        _c("balance_due", "Balance due", CALC, Kind.MONEY, 120, "budget − revenue"),
    ),
)

DIMENSIONS = TabSchema(
    "dimensions",
    (
        _c("id", "Key", K, width=260),
        _c("period", "Period", CALC, width=110),
        _c("dimension", "Dimension", CALC, width=100),
        _c("value", "Value", CALC, width=160),
        _c("revenue", "Revenue", CALC, Kind.MONEY, 120),
        _c("deal_costs", "Deal costs", CALC, Kind.MONEY, 120),
        _c("gross_profit", "Gross profit", CALC, Kind.MONEY, 120),
        _c("tagged_costs", "Own costs", CALC, Kind.MONEY, 120, "operating costs tagged to it"),
        _c(
            "allocated_costs",
            "Allocated costs",
            CALC,
            Kind.MONEY,
            130,
            "its share of the untagged operating costs (reports.allocation)",
        ),
        _c("allocation_share", "Share", CALC, width=80, note="its share of the allocation"),
        _c("net_profit", "Net profit", CALC, Kind.MONEY, 120),
    ),
)


def pnl_schema(categories: tuple[str, ...]) -> TabSchema:
    """The P&L: one money column per operating-cost category of the config."""
    # import cycle: reports.figures reads the tab declarations of this module
    from sheetledger.reports.figures import OTHER, category_key

    return TabSchema(
        "pnl",
        (
            _c("id", "Month", K, width=100),
            _c("revenue", "Revenue", CALC, Kind.MONEY, 120, "confirmed received amounts"),
            _c("deal_costs", "Deal costs", CALC, Kind.MONEY, 120),
            _c("gross_profit", "Gross profit", CALC, Kind.MONEY, 120),
            *(
                _c(category_key(name), name, CALC, Kind.MONEY, 120, "operating costs")
                for name in (*categories, OTHER)
            ),
            _c("operating_costs", "Operating costs", CALC, Kind.MONEY, 130),
            _c("net_profit", "Net profit", CALC, Kind.MONEY, 120),
            _c("marketing", "Marketing", CALC, Kind.MONEY, 120, "reports.marketing_categories"),
            _c("marketing_share", "Marketing share", CALC, width=100, note="of revenue"),
            _c("deals_won", "Deals won", CALC, Kind.INT, 90, "by the month of the contract"),
            _c("cost_per_won", "Marketing per deal won", CALC, Kind.MONEY, 140),
        ),
    )


# The accountant's view of the bank: the lines nobody matched for sure. She picks a
# candidate (or types payment IDs, several for one line) into «Assign to» and ticks.
CABINET_BANK = TabSchema(
    "cabinet_bank",
    (
        *_BANK_LINE,
        *_BANK_MATCH,
        _c("assign_to", "Assign to", PEOPLE, width=140, note="payment ID(s), comma-separated"),
        _c("assign", "Assign", PEOPLE, Kind.BOOL, 80, "tick to confirm the payment(s)"),
    ),
)


# The accountant's Orders tab: the open orders and those paid or rejected in the last
# ``orders.recent_days``. She ticks Paid (or Reject with a reason) as in the master.
CABINET_ORDERS = TabSchema(
    "cabinet_orders",
    (
        _c("id", "Order ID", K, width=130),
        *_ORDER_REQUEST,
        _c("deal", "Deal", CRM, width=200),
        _c("bill_link", "Bill", DAEMON, width=220),
        *_ORDER_PAYMENT,
        _c("state", "State", DAEMON, width=200),
        _MIRROR,
    ),
)

# A requester's form ("by a link"): a row filled by the person and ticked Submit; the
# daemon gives it an order ID and shows its state back (new, paid on DATE, rejected: REASON).
# Only that person's orders are ever shown in their cabinet.
REQUESTS = TabSchema(
    "requests",
    (
        _c("id", "Order ID", K, width=130, note="given by the daemon when Submit is ticked"),
        _c("amount", "Amount", PEOPLE, Kind.MONEY, 110),
        _c("supplier", "Supplier", PEOPLE, width=200),
        _c("purpose", "Purpose", PEOPLE, width=240),
        _c("category", "Category", PEOPLE, width=130),
        _c("due", "Due", PEOPLE, Kind.DATE, 100),
        _c("contract_no", "Contract no", PEOPLE, width=100),
        _c("bill_link", "Bill link", PEOPLE, width=220),
        _c("submit", "Submit", PEOPLE, Kind.BOOL, 80, "tick when the row is complete"),
        _c("state", "State", DAEMON, width=240),
    ),
)
