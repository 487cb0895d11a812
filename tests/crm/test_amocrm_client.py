"""AmoClient over real sockets against the amoCRM emulator: paging, batches, retries, errors,
the rate limit on a shared fake clock, and a token that never shows."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sheetledger.crm.amocrm import AmbiguousWriteError, AmoClient, AmoValidationError
from sheetledger.errors import FatalError, RetriableError
from sheetledger.sandbox.amocrm import AmoEmulator, ManualClock
from sheetledger.sandbox.seed import AmoSeed, seed_amocrm
from sheetledger.sandbox.server import LoopbackServer, Request, Response

TOKEN = "client-test-long-lived-token-9f8e7d6c"


class RecordingAmo(AmoEmulator):
    """The emulator, also noting how many entities each write carried (for batch sizes)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.write_sizes: list[tuple[str, int]] = []

    def refuse(self, request: Request, kind: str | None) -> Response | None:
        refused = super().refuse(request, kind)
        if refused is None and request.method in ("POST", "PATCH") and request.body:
            body = json.loads(request.body)
            self.write_sizes.append(
                (f"{request.method} {request.path}", len(body) if isinstance(body, list) else 1)
            )
        return refused


class RetryAfterAmo(AmoEmulator):
    """An amoCRM whose 429 says how long to wait (Kommo documents it; amoCRM rarely sends it)."""

    retry_after = "7"

    def fault_response(self, status: int, request: Request) -> Response:
        response = super().fault_response(status, request)
        if status == 429:
            response.headers["Retry-After"] = self.retry_after
        return response


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(1_711_000_000)


@pytest.fixture
def emulator(clock: ManualClock) -> RecordingAmo:
    # The real limit, on the same clock the client sleeps on: bursts would get 429.
    return RecordingAmo(TOKEN, "mebel", clock=clock)


@pytest.fixture
def seed(emulator: AmoEmulator) -> AmoSeed:
    return seed_amocrm(emulator)


@pytest.fixture
def server(emulator: AmoEmulator):
    with LoopbackServer(emulator) as srv:
        yield srv


def make_client(server: LoopbackServer, clock: ManualClock, **kwargs: Any) -> AmoClient:
    kwargs.setdefault("timeout", 5.0)
    kwargs.setdefault("token", TOKEN)
    return AmoClient(server.url, sleep=clock.sleep, clock=clock, jitter=lambda: 0.5, **kwargs)


@pytest.fixture
def client(server: LoopbackServer, clock: ManualClock) -> AmoClient:
    return make_client(server, clock)


def add_leads(emulator: AmoEmulator, clock: ManualClock, count: int) -> list[int]:
    ids = []
    for index in range(count):
        if index % 25 == 0:
            clock.advance(1)
        ids.append(emulator.add_lead(f"Сделка {index}", price=index)["id"])
    return ids


def requests_to(emulator: AmoEmulator, line_start: str) -> int:
    """Requests that reached the emulator, including those a scripted fault answered."""
    handled = sum(1 for line in emulator.log if line.startswith(line_start))
    faulted = sum(
        1
        for fired in emulator.faults.fired
        if fired["kind"] in ("status", "drop") and fired["request"].startswith(line_start)
    )
    return handled + faulted


# --------------------------------------------------------------------------- reads


def test_leads_reads_every_page_in_updated_at_order(emulator, seed, client, clock):
    ids = add_leads(emulator, clock, 600)
    clock.advance(1)
    emulator.update_lead(ids[0], {"price": 1})  # now the most recently updated
    got = list(client.leads())
    assert len(got) == 600 and got[-1]["id"] == ids[0]
    updated = [lead["updated_at"] for lead in got]
    assert updated == sorted(updated)
    assert requests_to(emulator, "GET /api/v4/leads") == 3  # 250 + 250 + 100
    assert client.requests_made == 3


def test_a_full_last_page_ends_on_the_204(emulator, seed, client, clock):
    add_leads(emulator, clock, 500)
    assert len(list(client.leads())) == 500
    assert requests_to(emulator, "GET /api/v4/leads") == 3  # 2 full pages + the 204


def test_leads_filters_and_rechecks_locally(emulator, seed, client, clock):
    ids = add_leads(emulator, clock, 100)
    since = emulator.lead(ids[60])["updated_at"]
    got = [lead["id"] for lead in client.leads(updated_from=since)]
    assert got == [i for i in ids if emulator.lead(i)["updated_at"] >= since]
    picked = ids[::7]
    assert sorted(lead["id"] for lead in client.leads(ids=picked)) == sorted(picked)
    assert list(client.leads(pipeline_ids=[seed.pipeline_id + 999])) == []
    assert client.lead(ids[3])["name"] == "Сделка 3"
    assert client.lead(1) is None


def test_users_fields_pipelines_account(emulator, seed, client):
    for index in range(300):
        emulator.add_user(f"Сотрудник {index}")
    for index in range(55):
        emulator.add_field(f"Поле {index}", "text")
    assert len(client.users()) == 304
    fields = client.lead_fields()
    assert len(fields) == 13 + 55 and len({f["id"] for f in fields}) == 68
    (pipeline,) = client.pipelines()
    assert {s["id"] for s in pipeline["_embedded"]["statuses"]} >= {142, 143}
    account = client.account()
    assert account["current_user_id"] == seed.admin_user_id
    assert account["_embedded"]["datetime_settings"]["timezone"] == "Europe/Moscow"


def test_notes_are_read_in_batches_of_lead_ids(emulator, seed, client, clock):
    ids = add_leads(emulator, clock, 120)
    for lead_id in ids[::2]:
        emulator.add_note(lead_id, "common", {"text": f"[sl:{lead_id}]"})
    emulator.add_note(ids[0], "service_message", {"service": "x", "text": "служебное"})
    got = list(client.notes(ids, note_type="common"))
    assert sorted(n["entity_id"] for n in got) == sorted(ids[::2])
    assert requests_to(emulator, "GET /api/v4/leads/notes") == 3  # 50 + 50 + 20 lead ids
    assert len(list(client.notes(ids[:1]))) == 2


# --------------------------------------------------------------------------- writes


def test_update_leads_goes_in_batches_of_at_most_50(emulator, seed, client, clock):
    ids = add_leads(emulator, clock, 120)
    field = seed.fields["confirmed_total"]
    results = client.update_leads(
        [
            {"id": i, "custom_fields_values": [{"field_id": field, "values": [{"value": "100"}]}]}
            for i in ids
        ]
    )
    assert sorted(r["id"] for r in results) == sorted(ids)
    assert emulator.write_sizes == [
        ("PATCH /api/v4/leads", 50),
        ("PATCH /api/v4/leads", 50),
        ("PATCH /api/v4/leads", 20),
    ]
    assert all(
        emulator.lead(i)["custom_fields_values"][0]["values"] == [{"value": "100"}] for i in ids
    )


def test_create_leads_fields_and_notes(emulator, seed, client):
    made = client.create_lead_fields(
        [{"name": "Источник", "type": "select", "enums": [{"value": "Сайт"}]}]
    )
    assert made[0]["enums"][0]["value"] == "Сайт"
    leads = client.create_leads([{"name": f"Новая {i}"} for i in range(60)])
    assert len(leads) == 60 and emulator.lead(leads[59]["id"])["name"] == "Новая 59"
    assert [size for _, size in emulator.write_sizes[1:3]] == [50, 10]
    notes = client.add_notes(
        [
            {
                "entity_id": leads[0]["id"],
                "note_type": "common",
                "params": {"text": "Оплата подтверждена"},
            }
        ]
    )
    assert notes[0]["entity_id"] == leads[0]["id"]
    assert [n["params"]["text"] for n in emulator.notes_of(leads[0]["id"])] == [
        "Оплата подтверждена"
    ]


def test_validation_errors_carry_the_list_and_the_batch_offset(emulator, seed, client, clock):
    ids = add_leads(emulator, clock, 60)
    patches = [{"id": i, "price": 5} for i in ids]
    patches[55]["status_id"] = 999
    with pytest.raises(AmoValidationError) as caught:
        client.update_leads(patches)
    error = caught.value
    assert isinstance(error, FatalError)
    assert error.batch_offset == 50
    assert error.errors[0]["request_id"] == "5"
    assert error.errors[0]["errors"][0]["path"] == "status_id"
    assert "status_id" in str(error)
    assert emulator.lead(ids[0])["price"] == 5 and emulator.lead(ids[59])["price"] == 59


# --------------------------------------------------------------------------- retries


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_get_is_retried_after_a_passing_fault(emulator, seed, client, clock, status):
    emulator.fail_next(status, count=2, match="GET /api/v4/leads/pipelines")
    before = clock()
    assert len(client.pipelines()) == 1
    assert client.requests_made == 3
    assert clock() - before >= (2.0 if status == 429 else 1.0)  # backed off, on the fake clock


def test_retry_after_is_honoured_and_a_long_one_gives_up(clock):
    emulator = RetryAfterAmo(TOKEN, clock=clock)
    seed_amocrm(emulator)
    with LoopbackServer(emulator) as server:
        client = make_client(server, clock)
        emulator.fail_next(429)
        before = clock()
        client.account()
        assert clock() - before >= 7.0
        emulator.retry_after = "300"
        emulator.fail_next(429)
        with pytest.raises(RetriableError, match="asked to wait 300"):
            client.account()


def test_exhausted_retries_raise_retriable(emulator, seed, server, clock):
    client = make_client(server, clock, max_attempts=3)
    emulator.fail_next(503, count=5)
    with pytest.raises(RetriableError) as caught:
        client.account()
    assert not isinstance(caught.value, FatalError)
    assert "after 3 attempts" in str(caught.value)
    assert client.requests_made == 3


def test_a_dropped_patch_is_retried_and_harmless(emulator, seed, client, clock):
    (lead_id,) = add_leads(emulator, clock, 1)
    emulator.drop_next(match="PATCH /api/v4/leads", after_commit=True)
    results = client.update_leads([{"id": lead_id, "price": 777}])
    assert results[0]["id"] == lead_id
    assert emulator.lead(lead_id)["price"] == 777
    assert requests_to(emulator, "PATCH /api/v4/leads") == 2


def test_a_dropped_note_post_is_ambiguous_and_not_repeated(emulator, seed, client, clock):
    (lead_id,) = add_leads(emulator, clock, 1)
    emulator.drop_next(match="POST /api/v4/leads/notes", after_commit=True)
    note = {"entity_id": lead_id, "note_type": "common", "params": {"text": "[sl:p1] 15 000 ₽"}}
    with pytest.raises(AmbiguousWriteError) as caught:
        client.add_notes([note])
    assert isinstance(caught.value, RetriableError)
    assert "re-check" in str(caught.value)
    assert len(emulator.notes_of(lead_id)) == 1  # it landed, exactly once
    assert requests_to(emulator, "POST /api/v4/leads/notes") == 1
    # The caller finds its marker before writing again.
    assert [n["params"]["text"] for n in client.notes([lead_id])] == ["[sl:p1] 15 000 ₽"]


def test_a_5xx_on_post_is_ambiguous_but_a_429_is_retried(emulator, seed, client, clock):
    (lead_id,) = add_leads(emulator, clock, 1)
    note = {"entity_id": lead_id, "note_type": "common", "params": {"text": "x"}}
    emulator.fail_next(503, match="POST")
    with pytest.raises(AmbiguousWriteError):
        client.add_notes([note])
    assert requests_to(emulator, "POST") == 1
    emulator.fail_next(429, match="POST")
    client.add_notes([note])
    assert requests_to(emulator, "POST") == 3
    assert len(emulator.notes_of(lead_id)) == 1


def test_ambiguous_error_lists_the_batches_that_went_through(emulator, seed, client, clock):
    (lead_id,) = add_leads(emulator, clock, 1)
    notes = [
        {"entity_id": lead_id, "note_type": "common", "params": {"text": str(i)}} for i in range(70)
    ]
    emulator.fail_next(500, match="POST")  # the first batch
    with pytest.raises(AmbiguousWriteError) as first:
        client.add_notes(notes)
    assert first.value.done == []
    assert emulator.notes_of(lead_id) == []
    # Batch 1 goes through; just before it is handled, script a drop for the next POST.
    emulator.before_next(lambda: emulator.drop_next(match="POST"), match="POST")
    with pytest.raises(AmbiguousWriteError) as second:
        client.add_notes(notes)
    assert len(second.value.done) == 50
    assert len(emulator.notes_of(lead_id)) == 70  # both batches landed; the caller re-checks


def test_a_read_timeout_is_retried_for_get(emulator, seed, server, clock):
    client = make_client(server, clock, timeout=0.2)
    emulator.delay_next(0.6, match="GET /api/v4/account")
    assert client.account()["subdomain"] == "mebel"
    assert client.requests_made == 2


def test_an_unreachable_server_is_retriable(clock):
    emulator = AmoEmulator(TOKEN, clock=clock)
    server = LoopbackServer(emulator).start()
    url = server.url
    server.stop()
    client = AmoClient(url, TOKEN, sleep=clock.sleep, clock=clock, max_attempts=2, timeout=2)
    with pytest.raises(RetriableError, match="connection lost after 2 attempts"):
        client.account()
    # Refused before anything was sent: even a POST may be tried again.
    with pytest.raises(RetriableError) as caught:
        client.add_notes([{"entity_id": 1, "note_type": "common", "params": {"text": "x"}}])
    assert not isinstance(caught.value, AmbiguousWriteError)


# --------------------------------------------------------------------------- fatal errors


@pytest.mark.parametrize(
    ("status", "words"),
    [(401, "token was rejected"), (402, "not paid"), (403, "blocked")],
)
def test_401_402_403_are_fatal_and_never_retried(emulator, seed, client, status, words):
    emulator.fail_next(status)
    with pytest.raises(FatalError, match=words) as caught:
        client.account()
    assert client.requests_made == 1
    assert caught.value.hint
    assert TOKEN not in str(caught.value) and TOKEN not in repr(caught.value)


def test_a_wrong_token_is_fatal_and_never_printed(emulator, seed, server, clock):
    secret = "wrong-token-that-must-not-leak-42"
    client = make_client(server, clock, token=secret)
    with pytest.raises(FatalError) as caught:
        list(client.leads())
    assert "new long-lived token" in str(caught.value)
    for text in (str(caught.value), repr(caught.value), repr(client), str(client.__dict__.keys())):
        assert secret not in text
    emulator.blocked = True
    with pytest.raises(FatalError) as blocked:
        make_client(server, clock).account()
    assert TOKEN not in str(blocked.value)


def test_ambiguous_and_retriable_messages_do_not_carry_the_token(emulator, seed, client, clock):
    emulator.fail_next(503, match="POST")
    with pytest.raises(AmbiguousWriteError) as caught:
        client.create_leads([{"name": "x"}])
    assert TOKEN not in str(caught.value)
    assert caught.value.__cause__ is None or TOKEN not in str(caught.value.__cause__)


# --------------------------------------------------------------------------- rate limit


def test_the_limiter_keeps_under_7_per_second_on_a_fake_clock(emulator, seed, client, clock):
    ids = add_leads(emulator, clock, 3)
    start = clock()
    for _ in range(14):
        for lead_id in ids:
            client.lead(lead_id)
    assert client.requests_made == 42
    assert emulator.rate_limited == 0  # the emulator counts 429s at the real 7/s
    assert clock() - start >= 41 / 6.0 - 1e-9  # 6 a second, spaced


def test_without_the_limiter_the_emulator_answers_429_and_the_client_recovers(
    emulator, seed, server, clock
):
    hasty = make_client(server, clock, requests_per_second=1000.0)
    ids = add_leads(emulator, clock, 1)
    for _ in range(20):
        assert hasty.lead(ids[0]) is not None
    assert emulator.rate_limited > 0  # the control: the limit is real
    assert hasty.requests_made == 20 + emulator.rate_limited
