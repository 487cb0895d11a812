"""The shared emulator plumbing: routing, faults, counters, control side, persistence."""

from __future__ import annotations

import pytest
import requests

from sheetledger.sandbox.server import Emulator, LoopbackServer, Request, Response, route


class Counter(Emulator):
    name = "counter"

    def __init__(self) -> None:
        super().__init__()
        self.value = 0

    @route("GET", r"/value", kind="read")
    def get_value(self, request: Request) -> Response:
        return Response.json({"value": self.value})

    @route("POST", r"/value/(?P<step>\d+)", kind="write")
    def add(self, request: Request, step: str) -> Response:
        with self.lock:
            self.value += int(step)
        return Response.json({"value": self.value})

    def state(self) -> dict:
        return {"value": self.value}

    def load_state(self, state: dict) -> None:
        self.value = state["value"]


@pytest.fixture
def server():
    with LoopbackServer(Counter()) as srv:
        yield srv


def test_routes_and_counters(server):
    assert requests.post(f"{server.url}/value/3", timeout=5).json() == {"value": 3}
    assert requests.get(f"{server.url}/value", timeout=5).json() == {"value": 3}
    assert requests.get(f"{server.url}/nope", timeout=5).status_code == 404
    assert requests.delete(f"{server.url}/value", timeout=5).status_code == 405
    counters = requests.get(f"{server.url}/_sandbox/counters", timeout=5).json()
    assert counters["by_kind"] == {"write": 1, "read": 1}


def test_status_fault_is_scripted_over_http_and_consumed(server):
    body = {"kind": "status", "status": 503, "count": 2, "match": "POST /value"}
    assert requests.post(f"{server.url}/_sandbox/faults", json=body, timeout=5).status_code == 201
    assert requests.get(f"{server.url}/value", timeout=5).status_code == 200
    assert requests.post(f"{server.url}/value/1", timeout=5).status_code == 503
    assert requests.post(f"{server.url}/value/1", timeout=5).status_code == 503
    assert requests.post(f"{server.url}/value/1", timeout=5).status_code == 200
    assert server.emulator.value == 1
    faults = requests.get(f"{server.url}/_sandbox/faults", timeout=5).json()
    assert faults["pending"] == [] and len(faults["fired"]) == 2


def test_drop_after_commit_keeps_the_write(server):
    server.emulator.drop_next(match="POST")
    with pytest.raises(requests.ConnectionError):
        requests.post(f"{server.url}/value/5", timeout=5)
    assert server.emulator.value == 5


def test_drop_before_loses_the_write(server):
    server.emulator.drop_next(match="POST", after_commit=False)
    with pytest.raises(requests.ConnectionError):
        requests.post(f"{server.url}/value/5", timeout=5)
    assert server.emulator.value == 0


def test_before_next_runs_a_person_between_requests(server):
    server.emulator.before_next(lambda: setattr(server.emulator, "value", 100), match="GET")
    assert requests.get(f"{server.url}/value", timeout=5).json() == {"value": 100}


def test_state_persists_to_a_folder(tmp_path):
    first = Counter()
    first.value = 42
    first.save(tmp_path)
    second = Counter()
    assert second.load(tmp_path) is True
    assert second.value == 42
