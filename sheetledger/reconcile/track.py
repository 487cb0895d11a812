"""Findings over time: first and last seen, muted by a person, resolved. Pure.

What a finding was seen before lives in ``state.db`` (operational memory, not
business data: losing it only makes every finding "first seen today"). A person
ticks **Seen** on a row of the Reconciliation tab to mute it: the finding stays in
the tab, ticked, and counts no more (exit code, digest) until its detail changes —
then the tick is taken off and it counts again. A finding no longer found leaves
the tab and is counted in the history line at its bottom.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sheetledger.reconcile.findings import CODES, SEVERITY_ORDER, Finding

HISTORY_ID = "history"


@dataclass(frozen=True)
class Tracked:
    finding: Finding
    first_seen: date
    last_seen: date
    muted: bool

    @property
    def counts(self) -> bool:
        return not self.muted


@dataclass
class TrackPlan:
    tracked: list[Tracked]  # open findings, the most serious first
    memory: dict[str, dict[str, str]]  # what to remember in state.db
    resolved_now: list[str] = field(default_factory=list)
    resolved_total: int = 0

    @property
    def counting(self) -> list[Tracked]:
        return [t for t in self.tracked if t.counts]

    @property
    def errors(self) -> int:
        return sum(1 for t in self.counting if t.finding.severity == "error")


def track(
    findings: Sequence[Finding],
    memory: Mapping[str, Mapping[str, str]],
    tab: Mapping[str, Mapping[str, Any]],
    today: date,
    resolved_before: int,
) -> TrackPlan:
    """Today's findings against what was remembered and what people ticked in the tab."""
    tracked: list[Tracked] = []
    remembered: dict[str, dict[str, str]] = {}
    for finding in findings:
        before = memory.get(finding.id, {})
        first = date.fromisoformat(before["first"]) if "first" in before else today
        row = tab.get(finding.id) or {}
        muted_detail = str(before.get("muted", ""))
        if row.get("seen") and str(row.get("detail") or "") == finding.detail:
            muted_detail = finding.detail  # ticked on the detail it still has
        muted = muted_detail == finding.detail
        tracked.append(Tracked(finding, first, today, muted))
        remembered[finding.id] = {
            "first": first.isoformat(),
            "detail": finding.detail,
            "muted": finding.detail if muted else "",
        }
    resolved = sorted(set(memory) - set(remembered))
    tracked.sort(
        key=lambda t: (t.muted, SEVERITY_ORDER[t.finding.severity], t.finding.code, t.finding.id)
    )
    return TrackPlan(tracked, remembered, resolved, resolved_before + len(resolved))


def tab_rows(plan: TrackPlan) -> list[dict[str, Any]]:
    """The Reconciliation tab: one row per open finding, then the history line."""
    rows: list[dict[str, Any]] = [
        {
            "id": t.finding.id,
            "severity": t.finding.severity,
            "code": t.finding.code,
            "subject": t.finding.subject,
            "detail": t.finding.detail,
            "todo": t.finding.todo,
            "link": t.finding.link,
            "first_seen": t.first_seen,
            "last_seen": t.last_seen,
            "seen": t.muted,
        }
        for t in plan.tracked
    ]
    muted = sum(1 for t in plan.tracked if t.muted)
    rows.append(
        {
            "id": HISTORY_ID,
            "detail": f"{len(plan.tracked)} open ({muted} muted by Seen); "
            f"{plan.resolved_total} resolved so far",
        }
    )
    return rows


def summary(plan: TrackPlan) -> str:
    counts: dict[str, int] = {}
    for t in plan.counting:
        counts[t.finding.severity] = counts.get(t.finding.severity, 0) + 1
    parts = [f"{counts[s]} {s}s" for s in ("error", "warning", "info") if counts.get(s)]
    muted = len(plan.tracked) - len(plan.counting)
    return (
        (", ".join(parts) if parts else "nothing to reconcile")
        + (f"; {muted} muted" if muted else "")
        + (f"; {len(plan.resolved_now)} resolved since last run" if plan.resolved_now else "")
    )


def known_codes() -> list[str]:
    return sorted(CODES)
