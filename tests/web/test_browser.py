"""The page in a real browser (headless Chromium) on the demo's sandbox, with the daemon running.

A person ticks a payment in the accountant's cabinet and writes «3500 реклама» to the bot
as the owner; the daemon syncs; the page shows, by itself, the bot's reply, «pushed #1» in
the master and the new note on the deal card. A screenshot of each view is taken (into
``SHEETLEDGER_SCREENSHOTS`` when set, as for the README's ``docs/screenshots/``).
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from sheetledger.config import Every, Schedule
from sheetledger.daemon import Daemon, DaemonThread
from sheetledger.demo import run_demo
from sheetledger.sandbox.runner import OWNER_ID, Sandbox
from sheetledger.sandbox.web import WebPage

WAIT = 60.0  # seconds a page may take to show a change (it polls twice a second)

pytestmark = pytest.mark.timeout(600)


@dataclass
class World:
    box: Sandbox
    page: WebPage
    daemon: Daemon
    shots: Path


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("demo")
    result = run_demo(folder, Console(file=io.StringIO(), width=160), log_file=False)
    assert not result.failed, [c.what for c in result.failed]
    box = Sandbox.start(folder)  # the demo's saved state, resumed
    hourly = Every(every_seconds=3600)  # the test asks for each sync itself
    config = box.load_config().model_copy(
        update={"schedule": Schedule(sync=hourly, outbox_flush=hourly)}
    )
    daemon = Daemon(config)
    serving = DaemonThread(daemon)
    assert serving.start(), serving.error
    assert daemon.wait_for_cycles(1, timeout=WAIT)  # the sync it runs as it starts
    page = WebPage(box).start()
    shots = Path(os.environ.get("SHEETLEDGER_SCREENSHOTS") or folder / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    try:
        yield World(box, page, daemon, shots)
    finally:
        page.stop()
        serving.stop()
        daemon.close()
        box.stop(save=False)


def wait_for(driver: Any, condition: Callable[[Any], Any], what: str) -> Any:
    # Optional dependency: selenium comes with the dev extra.
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    # The page redraws itself on every change: an element read mid-redraw is gone, and the
    # condition is asked again on the new one.
    waiting = WebDriverWait(
        driver, WAIT, poll_frequency=0.1, ignored_exceptions=(StaleElementReferenceException,)
    )
    return waiting.until(condition, message=what)


def open_view(driver: Any, world: World, query: str) -> None:
    driver.get(f"{world.page.url}&{query}")
    wait_for(driver, lambda d: d.find_element("id", "live"), "the page loaded")


def grid_rows(driver: Any) -> list[list[str]]:
    rows: list[list[str]] = driver.execute_script(
        "return Array.from(document.querySelectorAll('table.grid tr:not(.letters)'))"
        ".map(tr => Array.from(tr.querySelectorAll('td')).map(td => td.textContent))"
    )
    return rows


def test_a_person_ticks_writes_to_the_bot_and_sees_the_daemon_answer(
    browser: Any, world: World
) -> None:
    box = world.box
    accountant = box.info["google"]["cabinets"]["accountant"]

    # 1. The accountant's cabinet: tick an unticked payment.
    open_view(browser, world, f"view=sheets&book={accountant}&tab=Payments")
    rows = grid_rows(browser)
    header = rows[0]
    boxes = browser.find_elements("css selector", "input.tick:not(:checked)")
    assert boxes, "the cabinet has payments to confirm"
    tick = boxes[0]
    a1 = tick.get_attribute("data-a1")
    row = int(a1.rsplit("!", 1)[1].lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")) - 1
    payment_id = rows[row][header.index("Payment ID")]
    tick.click()
    wait_for(
        browser,
        lambda d: box.sheets.values(accountant, "Payments")[row][header.index("Confirmed")] is True,
        "the tick reached the spreadsheet",
    )
    wait_for(
        browser,
        lambda d: (
            d.find_element("css selector", f'input.tick[data-a1="{a1}"]').is_selected()
            and "поставлен" in d.find_element("id", "flash").text
        ),
        "the page confirmed the tick",
    )
    browser.save_screenshot(str(world.shots / "sheets.png"))

    # 2. The owner writes to the bot; the reply shows up in the chat by itself.
    open_view(browser, world, f"view=telegram&user={OWNER_ID}")
    field = browser.find_element("id", "chat-text")
    field.send_keys("3500 реклама")
    browser.find_element("css selector", "form.compose button").click()
    # Each bubble's text and whether it has buttons, read in one poll (a redraw may come between
    # two polls, never inside one).
    reply = wait_for(
        browser,
        lambda d: [
            (b.text, bool(b.find_elements("css selector", "button.inline")))
            for b in d.find_elements("css selector", ".bubble.bot")
            if "3 500" in b.text and "реклама" in b.text
        ],
        "the bot's reply appeared in the chat",
    )
    text, buttons = reply[-1]
    assert "Записал расход" in text
    assert buttons  # its buttons
    browser.save_screenshot(str(world.shots / "telegram.png"))

    # 3. A sync cycle pushes the tick to amoCRM; the master shows «pushed #1» by itself.
    master = box.info["google"]["spreadsheet_id"]
    open_view(browser, world, f"view=sheets&book={master}&tab=Payments")
    cycles = world.daemon.cycles
    world.daemon.run_sync_now()
    assert world.daemon.wait_for_cycles(cycles + 1, timeout=WAIT)

    def sync_state(driver: Any) -> str | None:
        rows = grid_rows(driver)
        column = rows[0].index("Sync state")
        found = [r[column] for r in rows[1:] if r and r[0] == payment_id]
        return found[0] if found and found[0].startswith("pushed") else None

    assert wait_for(browser, sync_state, "«pushed #1» in the master") == "pushed #1"

    # 4. The deal card shows the new note first.
    deal_id = payment_id.split(":")[0]
    open_view(browser, world, f"view=amocrm&deal={deal_id}")
    newest = wait_for(
        browser, lambda d: d.find_element("css selector", "li.note .text").text, "the notes shown"
    )
    assert "Оплата подтверждена" in newest and f"sheetledger:{payment_id}#1" in newest
    browser.save_screenshot(str(world.shots / "amocrm.png"))

    open_view(browser, world, "view=amocrm")
    assert browser.find_elements("css selector", f'a.deal[data-deal="{deal_id}"]')
    browser.save_screenshot(str(world.shots / "amocrm-board.png"))
    open_view(browser, world, "view=services")
    browser.save_screenshot(str(world.shots / "services.png"))
    for name in ("sheets", "telegram", "amocrm", "amocrm-board", "services"):
        assert (world.shots / f"{name}.png").stat().st_size > 10_000
