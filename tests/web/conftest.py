"""The sandbox's web page: a sandbox serving it, an HTTP helper, and headless Chromium.

The browser tests need Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs
them); without them they are skipped with a reason that ``-ra`` prints in the summary.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sheetledger.sandbox.runner import Sandbox
from sheetledger.sandbox.web import WebPage

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1440,900",
)


@dataclass
class Answer:
    status: int
    body: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode()


def call(
    page: WebPage,
    path: str,
    *,
    token: str | None = "page",
    body: dict[str, Any] | None = None,
    host: str | None = None,
) -> Answer:
    """One request to the page; ``token="page"`` adds the page's own token."""
    url = f"http://127.0.0.1:{page.port}{path}"
    if token is not None:
        url += ("&" if "?" in url else "?") + "token=" + (page.token if token == "page" else token)
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="POST" if data else "GET")
    if data:
        request.add_header("Content-Type", "application/json")
    if host:
        request.add_header("Host", host)
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return Answer(reply.status, reply.read(), dict(reply.headers))
    except urllib.error.HTTPError as exc:
        return Answer(exc.code, exc.read(), dict(exc.headers))


@pytest.fixture
def box(tmp_path: Path) -> Iterator[Sandbox]:
    sandbox = Sandbox.start(tmp_path / "sandbox", seed="demo")
    yield sandbox
    sandbox.stop(save=False)


@pytest.fixture
def page(box: Sandbox) -> Iterator[WebPage]:
    with WebPage(box) as served:
        yield served


def chromium() -> tuple[str, str] | None:
    """The browser and its driver, when both are installed."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    found = chromium()
    if found is None:
        pytest.skip(
            "browser tests NOT RUN: headless Chromium is missing "
            "(apt-get install chromium chromium-driver)"
        )
    # Optional dependency: selenium comes with the dev extra, the browser with apt.
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="sheetledger-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    options.binary_location = found[0]
    driver = webdriver.Chrome(service=Service(found[1]), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
