"""The benchmark's business, in a process of its own (so it costs the measured one nothing).

``host(conn, folder, deals=..., expenses=...)`` runs in a child process: it starts the
sandbox (amoCRM, Google, Telegram emulators on loopback, real clock), gives amoCRM a
third payment slot, seeds the deals with the emulator's in-process ``add_lead`` (every
lead with all three slots filled, ``updated_at`` spread over the past year as in a real
account), prepares the master ledger and the cabinets (``sheetledger init``), writes
the expenses into the Expenses tab, and then answers commands on ``conn``:

* ``("change", k)``  a manager edits k deals (budget and the third payment's amount);
* ``("tick", c)``    a person ticks c payments of other deals in the master's Payments
  tab, in one ``values:batchUpdate`` sent with the person's own token (what a paste
  over the checkbox column does);
* ``("stop",)``      stop the servers and leave.

Nothing here is imported by the measured process beyond this module's top level.
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

THIRD_SLOT = "Доплата"
SEED = 20_261_127
METHOD_WEIGHTS = (35, 20, 15, 25, 5)  # cash, card, terminal, bank, credit (furniture trade)


def host(conn: Any, folder: str, *, deals: int, expenses: int) -> None:
    try:
        ready = _setup(Path(folder), deals, expenses)
    except BaseException as exc:  # tell the parent rather than leave it waiting
        conn.send({"error": f"{type(exc).__name__}: {exc}"})
        raise
    conn.send(ready["public"])
    world = ready["world"]
    while True:
        command = conn.recv()
        verb = command[0]
        if verb == "stop":
            world["box"].stop(save=False)
            conn.send({"ok": True})
            return
        try:
            if verb == "change":
                conn.send({"ids": _change(world, int(command[1]))})
            elif verb == "tick":
                conn.send({"ids": _tick(world, int(command[1]))})
            else:
                conn.send({"error": f"unknown command {verb!r}"})
        except Exception as exc:
            conn.send({"error": f"{type(exc).__name__}: {exc}"})


# ---------------------------------------------------------------------------- setup


def _setup(folder: Path, deals: int, expenses: int) -> dict[str, Any]:
    import yaml

    from sheetledger.config import load_config
    from sheetledger.connect import build_google, cabinet_ledgers, master_ledger
    from sheetledger.ledger.setup import prepare
    from sheetledger.sandbox.runner import Sandbox
    from sheetledger.sandbox.seed import AMO_PAYMENT_METHODS

    timings: dict[str, float] = {}
    started = time.perf_counter()
    box = Sandbox.start(folder, fresh=True)
    amo = box.amo
    slot = {
        "name": THIRD_SLOT,
        "amount": amo.add_field("Сумма доплаты", "numeric")["id"],
        "method": amo.add_field("Тип оплаты (доплата)", "select", AMO_PAYMENT_METHODS)["id"],
        "date": amo.add_field("Дата доплаты", "date")["id"],
    }
    # The sandbox writes a config with its two slots; the benchmark's account has three.
    data = yaml.safe_load(box.config_path.read_text(encoding="utf-8"))
    data["amocrm"]["payment_slots"].append(slot)
    box.config_path.write_text(
        yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    info = box.info["amocrm"]
    slots = [*info["slots"], slot]
    timings["start"] = time.perf_counter() - started

    started = time.perf_counter()
    now = int(time.time())
    rng = random.Random(SEED)
    lead_ids = _seed_leads(box, info, slots, deals, now, rng)
    timings["leads"] = time.perf_counter() - started

    started = time.perf_counter()
    config = load_config(box.config_path)
    client = build_google(config)
    master = master_ledger(config, client)
    prepare(master)
    for cabinet in cabinet_ledgers(config, client).values():
        prepare(cabinet)
    timings["init"] = time.perf_counter() - started

    started = time.perf_counter()
    if expenses:
        _seed_expenses(master, expenses, now, rng)
    timings["expenses"] = time.perf_counter() - started

    world = {
        "box": box,
        "config": config,
        "info": info,
        "slots": slots,
        "lead_ids": lead_ids,
        "rng": random.Random(SEED + 1),
        "changed": set(),
        "ticked": set(),
    }
    public = {
        "config_path": str(box.config_path),
        "control": {name: f"{url}/_sandbox" for name, url in box.urls.items()},
        "deals": len(lead_ids),
        "payments": len(lead_ids) * len(slots),
        "slots": len(slots),
        "expenses": expenses,
        "seed_seconds": timings,
    }
    return {"world": world, "public": public}


def _seed_leads(
    box: Any,
    info: dict[str, Any],
    slots: list[dict[str, Any]],
    count: int,
    now: int,
    rng: random.Random,
) -> list[int]:
    from sheetledger.sandbox.seed import AMO_CITIES, AMO_PAYMENT_METHODS, AMO_PRODUCTS, AMO_SALONS

    statuses = info["statuses"]
    status_pool = (
        [statuses["Договор заключен"]] * 40
        + [statuses["Производство"]] * 25
        + [statuses["Доставка и сборка"]] * 15
        + [142] * 20
    )
    fields = info["fields"]
    year = 365 * 86400
    # Oldest first, so ids grow with updated_at as in a real account; the newest is two
    # hours old, so an idle cycle's overlap window holds no lead.
    stamps = sorted(now - 7200 - rng.randrange(year) for _ in range(count))
    ids = []
    for number, updated in enumerate(stamps, start=1):
        price = rng.randrange(60, 600) * 1000
        shares = (Decimal("0.3"), Decimal("0.5"), Decimal("0.2"))
        values: list[dict[str, Any]] = [
            {"field_id": fields["contract_no"], "values": [{"value": f"Д-{number:05d}"}]},
            {"field_id": fields["contract_date"], "values": [{"value": updated - 86400 * 3}]},
            {"field_id": fields["product"], "values": [{"value": rng.choice(AMO_PRODUCTS)}]},
            {"field_id": fields["salon"], "values": [{"value": rng.choice(AMO_SALONS)}]},
            {"field_id": fields["city"], "values": [{"value": rng.choice(AMO_CITIES)}]},
        ]
        for index, (slot, share) in enumerate(zip(slots, shares, strict=True)):
            method = rng.choices(AMO_PAYMENT_METHODS, METHOD_WEIGHTS)[0]
            values += [
                {"field_id": slot["amount"], "values": [{"value": str(int(price * share))}]},
                {"field_id": slot["method"], "values": [{"value": method}]},
                {"field_id": slot["date"], "values": [{"value": updated + 86400 * 20 * index}]},
            ]
        lead = box.amo.add_lead(
            f"Договор Д-{number:05d}",
            price=price,
            pipeline_id=info["pipeline_id"],
            status_id=rng.choice(status_pool),
            responsible_user_id=rng.choice(info["managers"]),
            custom_fields_values=values,
            created_at=updated - 86400 * 5,
            updated_at=updated,
        )
        ids.append(int(lead["id"]))
    return ids


def _seed_expenses(master: Any, count: int, now: int, rng: random.Random) -> None:
    """Expense rows as the bot and the bank import leave them, in one ledger write."""
    from sheetledger.sync.ledger_view import LedgerChanges, RowAppend

    master.read(["expenses"])
    categories = (
        "Реклама",
        "Аренда",
        "Зарплата",
        "Налоги",
        "Сервисы",
        "Транспорт",
        "Офис",
        "Прочее",
    )
    changes = LedgerChanges()
    start = datetime.fromtimestamp(now, UTC) - timedelta(days=365)
    for number in range(1, count + 1):
        when = start + timedelta(seconds=rng.randrange(365 * 86400))
        key = f"tg:100000001:{number}:1" if number % 3 else f"bank:{number}"
        changes.appends.append(
            RowAppend(
                "expenses",
                key,
                {
                    "id": key,
                    "date": when.date(),
                    "amount": Decimal(rng.randrange(100, 200_000)),
                    "category": rng.choice(categories),
                    "comment": f"расход {number}",
                    "contract_no": f"Д-{rng.randrange(1, 10_000):05d}" if number % 7 == 0 else "",
                    "entered_by": "Ольга (владелец)" if number % 3 else "",
                    "source": "bot" if number % 3 else "bank",
                    "recorded_at": when,
                },
            )
        )
    master.write(changes)


# ---------------------------------------------------------------------------- people


def _change(world: dict[str, Any], count: int) -> list[int]:
    """A manager edits ``count`` deals: a new budget and a new amount of the third payment."""
    box, rng, slot = world["box"], world["rng"], world["slots"][2]
    free = [i for i in world["lead_ids"] if i not in world["changed"] and i not in world["ticked"]]
    chosen = sorted(rng.sample(free, count))
    for lead_id in chosen:
        lead = box.amo.lead(lead_id) or {}
        price = int(lead.get("price") or 0) + 10_000
        box.amo.update_lead(
            lead_id,
            {
                "price": price,
                "custom_fields_values": [
                    {"field_id": slot["amount"], "values": [{"value": str(price // 5)}]}
                ],
            },
        )
    world["changed"].update(chosen)
    return chosen


def _tick(world: dict[str, Any], count: int) -> list[str]:
    """A person ticks ``count`` payments (one per deal, deals nobody just edited), at once."""
    import requests

    from sheetledger.ledger.sheets import column_letter, quote_title
    from sheetledger.ledger.tabs import PAYMENTS
    from sheetledger.sandbox.sheets import PERSON

    box, rng, config = world["box"], world["rng"], world["config"]
    free = [i for i in world["lead_ids"] if i not in world["changed"] and i not in world["ticked"]]
    deals = rng.sample(free, count)
    wanted = {f"{deal}:{rng.randrange(1, len(world['slots']) + 1)}" for deal in deals}
    title = config.google.tabs.payments
    sid = config.google.spreadsheet_id
    rows = box.sheets.values(sid, title)
    column = column_letter(PAYMENTS.index["confirmed"])
    data = [
        {"range": f"{quote_title(title)}!{column}{number}", "values": [["TRUE"]]}
        for number, row in enumerate(rows, start=1)
        if row and str(row[0]) in wanted
    ]
    if len(data) != count:
        raise RuntimeError(f"found {len(data)} of {count} payment rows to tick")
    token = box.sheets.access_token(PERSON)
    answer = requests.post(
        f"{box.urls['google']}/v4/spreadsheets/{sid}/values:batchUpdate",
        json={"valueInputOption": "USER_ENTERED", "data": data},
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    answer.raise_for_status()
    world["ticked"].update(deals)
    return sorted(wanted)
