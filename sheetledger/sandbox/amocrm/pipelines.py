"""Pipelines and their statuses; 142 and 143 are shared by every pipeline."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sheetledger.sandbox.amocrm.core import AmoCore
from sheetledger.sandbox.amocrm.wire import (
    AmoValidationFailed,
    _hal,
    _single_error,
)
from sheetledger.sandbox.server import Request, Response, route

STATUS_WON = 142  # «Успешно реализовано»: the same id in every pipeline
STATUS_LOST = 143  # «Закрыто и не реализовано»: likewise
UNSORTED_TYPE = 1  # status type of «Неразобранное»; regular statuses are type 0

_STATUS_COLORS = ("#99ccff", "#ffff99", "#ffcc66", "#deff81", "#87f2c0", "#ffc8c8", "#eb93ff")


class Pipelines(AmoCore):
    """Pipelines and their statuses; 142 and 143 are shared by every pipeline."""

    def add_pipeline(
        self,
        name: str,
        statuses: Sequence[str | Mapping[str, Any]] = (),
        *,
        is_main: bool | None = None,
        won_name: str = "Успешно реализовано",
        lost_name: str = "Закрыто и не реализовано",
    ) -> dict[str, Any]:
        """A pipeline with «Неразобранное», the given statuses, then 142 and 143.

        A status is a name or ``{"name": ..., "color": ...}``. Returns the pipeline as the
        API renders it (``_embedded.statuses``).
        """
        with self.lock:
            if len(self._pipelines) >= 50:
                raise AmoValidationFailed(
                    _single_error("NotSupportedChoice", "name", "No more than 50 pipelines")
                )
            pipeline_id = self._new_id("pipeline")
            main = not self._pipelines if is_main is None else is_main
            if main:
                for other in self._pipelines.values():
                    other["is_main"] = False
            rows: list[dict[str, Any]] = [
                {
                    "id": self._new_id("status"),
                    "name": "Неразобранное",
                    "sort": 10,
                    "is_editable": False,
                    "color": "#c1c1c1",
                    "type": UNSORTED_TYPE,
                }
            ]
            for index, status in enumerate(statuses):
                spec = {"name": status} if isinstance(status, str) else dict(status)
                rows.append(
                    {
                        "id": self._new_id("status"),
                        "name": str(spec["name"]),
                        "sort": 20 + 10 * index,
                        "is_editable": True,
                        "color": spec.get("color", _STATUS_COLORS[index % len(_STATUS_COLORS)]),
                        "type": 0,
                    }
                )
            rows.append(
                {
                    "id": STATUS_WON,
                    "name": won_name,
                    "sort": 10000,
                    "is_editable": False,
                    "color": "#CCFF66",
                    "type": 0,
                }
            )
            rows.append(
                {
                    "id": STATUS_LOST,
                    "name": lost_name,
                    "sort": 11000,
                    "is_editable": False,
                    "color": "#D5D8DB",
                    "type": 0,
                }
            )
            self._pipelines[pipeline_id] = {
                "id": pipeline_id,
                "name": name,
                "sort": len(self._pipelines) + 1,
                "is_main": main,
                "is_unsorted_on": True,
                "is_archive": False,
                "statuses": rows,
            }
            return self._render_pipeline(self._pipelines[pipeline_id], self._origin(None))

    def _render_status(
        self, pipeline_id: int, status: dict[str, Any], origin: str
    ) -> dict[str, Any]:
        return {
            "id": status["id"],
            "name": status["name"],
            "sort": status["sort"],
            "is_editable": status["is_editable"],
            "pipeline_id": pipeline_id,
            "color": status["color"],
            "type": status["type"],
            "account_id": self.account["id"],
            "_links": {
                "self": {
                    "href": f"{origin}/api/v4/leads/pipelines/{pipeline_id}/statuses/{status['id']}"
                }
            },
        }

    def _render_pipeline(self, pipeline: dict[str, Any], origin: str) -> dict[str, Any]:
        pid = pipeline["id"]
        return {
            "id": pid,
            "name": pipeline["name"],
            "sort": pipeline["sort"],
            "is_main": pipeline["is_main"],
            "is_unsorted_on": pipeline["is_unsorted_on"],
            "is_archive": pipeline["is_archive"],
            "account_id": self.account["id"],
            "_links": {"self": {"href": f"{origin}/api/v4/leads/pipelines/{pid}"}},
            "_embedded": {
                "statuses": [self._render_status(pid, s, origin) for s in pipeline["statuses"]]
            },
        }

    def _status(self, pipeline_id: int, status_id: int) -> dict[str, Any] | None:
        pipeline = self._pipelines.get(pipeline_id)
        if pipeline is None:
            return None
        return next((s for s in pipeline["statuses"] if s["id"] == status_id), None)

    def _first_regular_status(self, pipeline_id: int) -> int:
        statuses = self._pipelines[pipeline_id]["statuses"]
        return int(next(s["id"] for s in statuses if s["type"] != UNSORTED_TYPE))

    def _main_pipeline_id(self) -> int | None:
        for pipeline in self._pipelines.values():
            if pipeline["is_main"]:
                return int(pipeline["id"])
        return next(iter(self._pipelines), None)

    @route("GET", r"/api/v4/leads/pipelines/?", kind="read")
    def _get_pipelines(self, request: Request) -> Response:
        origin = self._origin(request)
        with self.lock:
            pipelines = [self._render_pipeline(p, origin) for p in self._pipelines.values()]
        if not pipelines:
            return Response.empty()
        # Not paginated (DOC:pipelines): at most 50 per account.
        return _hal(
            {
                "_total_items": len(pipelines),
                "_links": {"self": {"href": f"{origin}/api/v4/leads/pipelines"}},
                "_embedded": {"pipelines": pipelines},
            }
        )

    @route("GET", r"/api/v4/leads/pipelines/(?P<pipeline_id>\d+)/?", kind="read")
    def _get_pipeline(self, request: Request, pipeline_id: str) -> Response:
        with self.lock:
            pipeline = self._pipelines.get(int(pipeline_id))
            if pipeline is None:
                return Response.empty()
            return _hal(self._render_pipeline(pipeline, self._origin(request)))

    @route("GET", r"/api/v4/leads/pipelines/(?P<pipeline_id>\d+)/statuses/?", kind="read")
    def _get_statuses(self, request: Request, pipeline_id: str) -> Response:
        origin = self._origin(request)
        with self.lock:
            pipeline = self._pipelines.get(int(pipeline_id))
            if pipeline is None:
                return Response.empty()
            statuses = [
                self._render_status(pipeline["id"], s, origin) for s in pipeline["statuses"]
            ]
        return _hal(
            {
                "_total_items": len(statuses),
                "_links": {"self": {"href": f"{origin}{request.raw_path}"}},
                "_embedded": {"statuses": statuses},
            }
        )

    @route(
        "GET",
        r"/api/v4/leads/pipelines/(?P<pipeline_id>\d+)/statuses/(?P<status_id>\d+)/?",
        kind="read",
    )
    def _get_status(self, request: Request, pipeline_id: str, status_id: str) -> Response:
        with self.lock:
            status = self._status(int(pipeline_id), int(status_id))
            if status is None:
                return Response.empty()
            return _hal(self._render_status(int(pipeline_id), status, self._origin(request)))
