"""The one retry policy: what it repeats, how long it waits, when it gives up."""

from __future__ import annotations

import asyncio

import pytest

from sheetledger.errors import FatalError, RetriableError
from sheetledger.retry import RetryPolicy, TryAgain


class Flaky:
    """Fails with ``errors`` in turn, then answers ``"done"``; counts its calls."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "done"


def policy(waits: list[float], **kwargs: object) -> RetryPolicy:
    return RetryPolicy(sleep=waits.append, jitter=lambda: 1.0, **kwargs)  # type: ignore[arg-type]


def test_what_may_pass_is_repeated_with_growing_waits():
    waits: list[float] = []
    call = Flaky(TryAgain("HTTP 503"), TryAgain("HTTP 503"), TryAgain("timed out"))
    assert policy(waits).run(call, service="amoCRM", what="GET /x") == "done"
    assert call.calls == 4 and waits == [1.0, 2.0, 4.0]


def test_the_wait_is_capped_and_jittered_down_to_half():
    capped = RetryPolicy(base=1.0, cap=8.0, jitter=lambda: 0.0)
    assert [capped.delay(n) for n in (1, 2, 4, 5, 9)] == [0.5, 1.0, 4.0, 4.0, 4.0]


def test_what_the_server_asks_for_is_waited_but_never_less_than_the_minimum():
    waits: list[float] = []
    call = Flaky(TryAgain("429", asked=3.0), TryAgain("429", asked=0.0, minimum=1.0))
    policy(waits).run(call, service="amoCRM", what="POST /notes")
    assert waits == [3.0, 1.0]


def test_running_out_of_attempts_is_a_retriable_error_naming_the_call():
    waits: list[float] = []
    call = Flaky(*(TryAgain("server error 502") for _ in range(5)))
    with pytest.raises(RetriableError) as caught:
        policy(waits, attempts=3).run(call, service="amoCRM", what="GET /api/v4/leads")
    assert call.calls == 3 and len(waits) == 2
    assert caught.value.service == "amoCRM"
    assert caught.value.detail == "GET /api/v4/leads: server error 502 after 3 attempts"


def test_a_wait_longer_than_allowed_gives_up_at_once():
    waits: list[float] = []
    call = Flaky(TryAgain("rate limited (429)", asked=300.0))
    with pytest.raises(RetriableError, match="asked to wait 300 s"):
        policy(waits, max_asked=60.0).run(call, service="amoCRM", what="GET /x")
    assert call.calls == 1 and waits == []


def test_anything_else_is_not_repeated():
    waits: list[float] = []
    call = Flaky(FatalError("amoCRM", "the token was rejected (401)"))
    with pytest.raises(FatalError):
        policy(waits).run(call, service="amoCRM", what="GET /x")
    assert call.calls == 1 and waits == []


def test_the_adapter_may_choose_the_error_given_up_with():
    def give_up(again: TryAgain, attempts: int) -> Exception:
        return RetriableError("Google Sheets", f"read: {again.problem} ({attempts}×)")

    call = Flaky(*(TryAgain("HTTP 500") for _ in range(2)))
    with pytest.raises(RetriableError, match=r"read: HTTP 500 \(2×\)"):
        policy([], attempts=2).run(call, service="Google Sheets", what="read", give_up=give_up)


def test_a_coroutine_is_retried_the_same_way():
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    flaky = Flaky(TryAgain("429", asked=0.5))

    async def call() -> str:
        return flaky()

    retry = RetryPolicy(attempts=2, async_sleep=record)
    assert asyncio.run(retry.run_async(call, service="Telegram", what="reply")) == "done"
    assert flaky.calls == 2 and waits == [0.5]


def test_at_least_one_attempt():
    with pytest.raises(ValueError, match="at least 1"):
        RetryPolicy(attempts=0)


def test_the_three_adapters_share_it():
    from sheetledger.bot import app
    from sheetledger.crm.amocrm import AmoClient
    from sheetledger.ledger import sheets

    assert isinstance(AmoClient("http://127.0.0.1:9", "t" * 10)._retry, RetryPolicy)
    assert isinstance(sheets.SHEETS_RETRY, RetryPolicy)
    assert isinstance(app.REPLY_RETRY, RetryPolicy)
