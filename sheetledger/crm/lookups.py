"""Names for the ids in a lead: users, pipelines and statuses. Pure.

amoCRM sends ids; the ledger shows names. These come from ``GET /api/v4/users`` and
``GET /api/v4/leads/pipelines`` (cached in the local state and refreshed hourly), and the
statuses' ``sort`` says which way a deal moves forward.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Lookups:
    """Names for the ids in a lead: users, pipelines, statuses (cached, refreshed hourly)."""

    users: Mapping[int, str] = field(default_factory=dict)
    pipelines: Mapping[int, str] = field(default_factory=dict)
    statuses: Mapping[tuple[int, int], str] = field(default_factory=dict)
    status_sort: Mapping[tuple[int, int], int] = field(default_factory=dict)

    @classmethod
    def from_api(
        cls, users: Iterable[Mapping[str, Any]], pipelines: Iterable[Mapping[str, Any]]
    ) -> Lookups:
        names = {int(u["id"]): str(u.get("name") or u["id"]) for u in users}
        pipes: dict[int, str] = {}
        statuses: dict[tuple[int, int], str] = {}
        sorts: dict[tuple[int, int], int] = {}
        for pipe in pipelines:
            pid = int(pipe["id"])
            pipes[pid] = str(pipe.get("name") or pid)
            for status in (pipe.get("_embedded") or {}).get("statuses") or ():
                key = (pid, int(status["id"]))
                statuses[key] = str(status.get("name") or status["id"])
                sorts[key] = int(status.get("sort") or 0)
        return cls(names, pipes, statuses, sorts)

    def as_json(self) -> dict[str, Any]:
        return {
            "users": {str(k): v for k, v in self.users.items()},
            "pipelines": {str(k): v for k, v in self.pipelines.items()},
            "statuses": [
                [p, s, n, self.status_sort.get((p, s), 0)] for (p, s), n in self.statuses.items()
            ],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Lookups:
        statuses = {(int(p), int(s)): str(n) for p, s, n, _ in data.get("statuses", [])}
        sorts = {(int(p), int(s)): int(o) for p, s, _, o in data.get("statuses", [])}
        return cls(
            {int(k): v for k, v in data.get("users", {}).items()},
            {int(k): v for k, v in data.get("pipelines", {}).items()},
            statuses,
            sorts,
        )
