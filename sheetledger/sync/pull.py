"""Pull: changed amoCRM leads -> Deals and Payments rows. Pure.

Rules (docs/architecture.md, "The cycle"; README, "The tabs"):
* one Deals row per lead of the configured pipelines, one Payments row per filled slot;
* CRM-owned cells follow the CRM; people's cells are never touched;
* a payment already confirmed whose amount changed in the CRM is flagged, not overwritten;
* a lost deal (143) cancels its unconfirmed payments;
* a deal moved out of the configured pipelines is left as it is and flagged;
* a lead that is in no configured pipeline and not in the ledger is ignored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sheetledger.config import Config
from sheetledger.crm.lookups import Lookups
from sheetledger.crm.parse import PulledLead, pull_leads
from sheetledger.ledger.records import DealRow, PaymentRow
from sheetledger.ledger.tabs import DEALS, PAYMENTS
from sheetledger.ledger.view import LedgerChanges, LedgerView, RowAppend, differing
from sheetledger.model import Deal, Payment, RowCode
from sheetledger.sync.state import RowState, SyncStatus

__all__ = ["Lookups", "PullResult", "deal_row", "payment_row", "plan_pull"]  # Lookups: old home


@dataclass
class PullResult:
    changes: LedgerChanges
    max_updated_at: int  # the newest lead updated_at seen (0 when none)
    deals_seen: int = 0
    new_rows: int = 0
    updated_rows: int = 0
    problems: list[str] = field(default_factory=list)


def deal_row(deal: Deal, lookups: Lookups, base_url: str) -> dict[str, Any]:
    """The CRM's cells of a Deals row (values to write, not a row read)."""
    return {
        "id": deal.id,
        "name": deal.name,
        "pipeline": lookups.pipelines.get(deal.pipeline_id, str(deal.pipeline_id)),
        "status": lookups.statuses.get((deal.pipeline_id, deal.status_id), str(deal.status_id)),
        "manager": lookups.users.get(deal.manager_id or 0, "") if deal.manager_id else "",
        "contract_no": deal.contract_no,
        "contract_date": deal.contract_date,
        "product": deal.product,
        "salon": deal.salon,
        "city": deal.city,
        "budget": deal.budget,
        "link": f"{base_url}/leads/detail/{deal.id}",
        "crm_updated_at": deal.updated_at,
        "pipeline_id": deal.pipeline_id,
        "status_id": deal.status_id,
    }


def payment_row(payment: Payment, contract_no: str | None, manager: str) -> dict[str, Any]:
    """The CRM's cells of a Payments row; the deal's contract and manager come with them."""
    return {
        "id": payment.id,
        "deal_id": payment.deal_id,
        "contract_no": contract_no,
        "manager": manager,
        "kind": payment.kind,
        "method": payment.method.value if payment.method else "",
        "amount": payment.amount,
        "date": payment.date,
    }


_DEAL_CRM_KEYS = [c.key for c in DEALS.columns if c.owner.value == "crm"]
_PAY_CRM_KEYS = [c.key for c in PAYMENTS.columns if c.owner.value == "crm"]


def plan_pull(
    view: LedgerView,
    leads: Iterable[Mapping[str, Any] | PulledLead],
    lookups: Lookups,
    config: Config,
) -> PullResult:
    """What the ledger must change so it shows ``leads`` (amoCRM's JSON, or parsed already
    by the cycle's read) as the CRM has them now."""
    tz = ZoneInfo(config.timezone)
    pipelines = set(config.amocrm.pipelines)
    deals_tab = view.tab("deals").typed(DealRow)
    pays_tab = view.tab("payments").typed(PaymentRow)
    newest = _newest_per_id(pull_leads(leads, config.amocrm, tz))
    # The Payments rows of the deals pulled (their IDs are ``<deal id>:<slot>``).
    pulled = {str(lead.deal.id) for lead in newest}
    slots_of: dict[str, list[str]] = {}
    for row_id in [r for r in pays_tab if r.partition(":")[0] in pulled]:
        slots_of.setdefault(row_id.partition(":")[0], []).append(row_id)
    changes = LedgerChanges()
    result = PullResult(changes, 0)
    for lead in newest:
        deal = lead.deal
        result.max_updated_at = max(result.max_updated_at, deal.updated_at)
        key = str(deal.id)
        existing = deals_tab.get(key)
        if deal.pipeline_id not in pipelines:
            if existing is not None:
                now_in = lookups.pipelines.get(deal.pipeline_id, deal.pipeline_id)
                flag = f"moved out of the synced pipelines (now in {now_in})"
                if existing.flag != flag:
                    changes.update("deals", key, {"flag": flag})
            continue
        result.deals_seen += 1
        wanted = deal_row(deal, lookups, config.amocrm.base_url) | {"flag": ""}
        manager = str(wanted["manager"])
        if existing is None:
            changes.appends.append(RowAppend("deals", key, wanted))
            result.new_rows += 1
        else:
            diff = differing(existing, wanted, [*_DEAL_CRM_KEYS, "flag"])
            if diff:
                changes.update("deals", key, diff)
                result.updated_rows += 1
        filled = set()
        for payment in lead.payments:
            filled.add(payment.id)
            _plan_payment(payment, deal, manager, pays_tab.get(payment.id), changes, result)
        for row_id in slots_of.get(key, ()):
            if row_id not in filled:
                _plan_emptied_slot(row_id, pays_tab[row_id], changes, result)
    return result


def _plan_emptied_slot(
    row_id: str, row: PaymentRow, changes: LedgerChanges, result: PullResult
) -> None:
    """A payment slot emptied in the CRM: the row stays (people may have worked on it), flagged.

    Unconfirmed, it no longer counts as expected money (cancelled, so not cash on hand);
    confirmed, the money arrived all the same and a person must look.
    """
    state = RowState.parse(row.state)
    if row.confirmed or state.status in ("pushed", "partial"):
        wanted = state.with_problem(
            RowCode.E_GONE.because("the payment was removed in amoCRM after confirmation")
        )
    else:
        wanted = RowState(
            SyncStatus.CANCELLED,
            state.seq,
            RowCode.E_GONE.because("the payment was removed in amoCRM"),
        )
    if wanted.render() != (row.state or ""):
        changes.update("payments", row_id, {"state": wanted.render()})
        result.updated_rows += 1
        result.problems.append(f"{row_id}: {wanted.problem}")


def _newest_per_id(leads: Iterable[PulledLead]) -> list[PulledLead]:
    """Each lead once, as its newest copy (the latest one on a tie).

    Pages ordered by ``updated_at`` shift while a lead is saved mid-pagination, so the
    same lead can come twice: planned twice it would be appended as two rows, or an
    older copy would overwrite a newer one.
    """
    newest: dict[int, PulledLead] = {}
    for lead in leads:
        key = lead.deal.id
        kept = newest.get(key)
        if kept is None or lead.deal.updated_at >= kept.deal.updated_at:
            newest.pop(key, None)
            newest[key] = lead
    return list(newest.values())


def _plan_payment(
    payment: Payment,
    deal: Deal,
    manager: str,
    existing: PaymentRow | None,
    changes: LedgerChanges,
    result: PullResult,
) -> None:
    wanted = payment_row(payment, deal.contract_no, manager)
    if existing is None:
        state = RowState.new(problem=payment.problem)
        if deal.lost:
            state = state.with_status(SyncStatus.CANCELLED)
        changes.appends.append(
            RowAppend("payments", payment.id, wanted | {"state": state.render()})
        )
        result.new_rows += 1
        if payment.problem:
            result.problems.append(f"{payment.id}: {payment.problem}")
        return
    state = RowState.parse(existing.state)
    confirmed = bool(existing.confirmed)
    diff = differing(existing, wanted, _PAY_CRM_KEYS)
    flag = ""
    if "amount" in diff and (state.status in ("pushed", "partial") or confirmed):
        # The money was already confirmed at the old amount: a person must look (README: E_CHANGED).
        flag = RowCode.E_CHANGED.because(
            f"amount changed in CRM to {payment.amount} after confirmation"
        )
        del diff["amount"]
    new_state = state.with_problem(flag or payment.problem)
    if deal.lost and not confirmed and state.status in ("", "reversed"):
        new_state = new_state.with_status(SyncStatus.CANCELLED)
    elif not deal.lost and state.status == "cancelled":
        new_state = new_state.with_status(SyncStatus.NONE)  # the deal came back to life
    if new_state.render() != (existing.state or ""):
        diff["state"] = new_state.render()
    if diff:
        changes.update("payments", payment.id, diff)
        result.updated_rows += 1
    if payment.problem or flag:
        result.problems.append(f"{payment.id}: {flag or payment.problem}")
