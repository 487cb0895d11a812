"""An independent amoCRM client, unmodified, against the emulator: aioamocrm (httpx, pydantic).

sheetledger's own client was written beside the emulator, so the two could share a mistake.
aioamocrm was not: it follows ``_links.next`` only when the link points into the account's
``/api/v4/``, reads 204 as an empty list, maps 400 bodies to ``ValidationError`` issues and
401 to ``AuthError``, and decodes claims of the token (``api_domain``). What it reads back
must be what the emulator holds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest
from aioamocrm import AmoCRMClient, AuthError, Lead, LongLivedToken, Note, ValidationError

from sheetledger.sandbox.amocrm import STATUS_LOST, AmoEmulator, ManualClock
from sheetledger.sandbox.seed import AMO_LOSS_REASONS, AmoSeed, seed_amocrm
from sheetledger.sandbox.server import LoopbackServer

T = TypeVar("T")


@pytest.fixture
def emulator() -> AmoEmulator:
    return AmoEmulator(subdomain="mebel", clock=ManualClock(1_711_000_000), rate_limit=None)


@pytest.fixture
def seed(emulator: AmoEmulator) -> AmoSeed:
    return seed_amocrm(emulator)


@pytest.fixture
def server(emulator: AmoEmulator) -> Iterator[LoopbackServer]:
    with LoopbackServer(emulator) as srv:
        yield srv


def run_with_client(
    server: LoopbackServer, token: str, work: Callable[[AmoCRMClient], Awaitable[T]]
) -> T:
    """Run ``work`` with a client on the emulator's URL (no pacing: the emulator's is off)."""

    async def main() -> T:
        async with AmoCRMClient(
            base_url=server.url, auth=LongLivedToken(token), rate_limit=None
        ) as amo:
            return await work(amo)

    return asyncio.run(main())


def test_the_peer_client_reads_the_account_pipelines_users_and_fields(emulator, seed, server):
    token = emulator.issue_long_lived_token()

    async def work(amo: AmoCRMClient) -> dict[str, Any]:
        return {
            "account": await amo.account.get(with_=["datetime_settings"]),
            "pipelines": await amo.pipelines.list(),
            "users": [user async for user in amo.users.iterate(limit=2)],
            "fields": [field async for field in amo.leads.custom_fields.iterate(limit=3)],
        }

    got = run_with_client(server, token, work)
    assert got["account"].subdomain == "mebel"
    assert got["account"].current_user_id == emulator.current_user_id
    [pipeline] = got["pipelines"]
    assert pipeline.id == seed.pipeline_id
    assert {status.name: status.id for status in pipeline.statuses} == seed.statuses
    assert {user.name: user.id for user in got["users"]} == seed.users  # paged two by two
    held = emulator.state()["fields"]
    assert [field.id for field in got["fields"]] == [f["id"] for f in held]


def test_the_peer_client_writes_leads_and_pages_them_back(emulator, seed, server):
    token = emulator.issue_long_lived_token()
    contract = seed.fields["contract_no"]

    async def work(amo: AmoCRMClient) -> list[Lead]:
        made = await amo.leads.create(
            [
                Lead(name=f"Кухня {i}", price=100_000 + i, pipeline_id=seed.pipeline_id)
                for i in range(7)
            ],
            batch_size=3,
        )
        edit = Lead(id=made[0].id)
        edit.set_field(contract, "Д-77")
        await amo.leads.update([edit])
        return [lead async for lead in amo.leads.iterate(limit=2, order={"id": "asc"})]

    listed = run_with_client(server, token, work)
    assert [lead.name for lead in listed] == [f"Кухня {i}" for i in range(7)]
    assert [lead.price for lead in listed] == [100_000 + i for i in range(7)]
    assert listed[0].field_value(contract) == "Д-77"
    assert [lead["name"] for lead in emulator.leads()] == [lead.name for lead in listed]


def test_the_peer_client_reads_notes_in_bulk_and_loss_reasons(emulator, seed, server):
    token = emulator.issue_long_lived_token()
    leads = [emulator.add_lead(f"Сделка {i}")["id"] for i in range(3)]
    reason = emulator.add_loss_reason("Купили у конкурента")

    async def work(amo: AmoCRMClient) -> tuple[list[Note], Any, Lead]:
        await amo.leads.notes.create(
            [Note.common(lead, f"#{lead}-{n}") for lead in leads for n in range(4)], batch_size=5
        )
        notes = [
            note
            async for note in amo.leads.notes.iterate(
                limit=3, filter={"entity_id": leads[:2], "note_type": "common"}
            )
        ]
        reasons = await amo.request("GET", "leads/loss_reasons")
        await amo.leads.update(
            [Lead(id=leads[2], status_id=STATUS_LOST, loss_reason_id=reason["id"])]
        )
        return notes, reasons, await amo.leads.get(leads[2], with_="loss_reason")

    notes, reasons, lost = run_with_client(server, token, work)
    assert sorted(note.text or "" for note in notes) == sorted(
        f"#{lead}-{n}" for lead in leads[:2] for n in range(4)
    )
    listed = [r["name"] for r in reasons["_embedded"]["loss_reasons"]]
    assert listed == [*AMO_LOSS_REASONS, "Купили у конкурента"]
    assert lost.loss_reason_id == reason["id"]
    assert emulator.lead(leads[2])["loss_reason_id"] == reason["id"]


def test_the_peer_client_sees_validation_issues_and_a_revoked_token(emulator, seed, server):
    token = emulator.issue_long_lived_token()
    lead = emulator.add_lead("Кухня", pipeline_id=seed.pipeline_id)

    async def refused(amo: AmoCRMClient) -> ValidationError:
        with pytest.raises(ValidationError) as caught:
            await amo.leads.update([{"id": lead["id"], "status_id": 1, "price": 5}])
        return caught.value

    error = run_with_client(server, token, refused)
    assert [(i.request_id, i.code, i.path) for i in error.errors] == [
        ("0", "NotSupportedChoice", "status_id")
    ]
    assert emulator.lead(lead["id"])["price"] == 0  # the batch was refused whole
    emulator.revoke_token(token)

    async def rejected(amo: AmoCRMClient) -> AuthError:
        with pytest.raises(AuthError) as caught:
            await amo.account.get()
        return caught.value

    assert run_with_client(server, token, rejected).status_code == 401
