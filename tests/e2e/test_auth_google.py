"""`sheetledger auth google` against the sandbox: the real installed-app flow, end to end.

The command runs as a subprocess (google-auth-oauthlib's ``run_local_server`` serves one
request on a local port and blocks until it comes). The test plays the person's browser:
it takes the authorization URL the command prints, asks the emulator's consent page for it
without following the redirect, then follows the ``Location`` to the command's local
server, so the real library gets the code and redeems it at the emulator's token
endpoint. The refresh token it keeps then uploads a bill into the person's Drive.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest
import requests

from sheetledger.config import GoogleUser, Secret
from sheetledger.connect import build_drive, build_google
from sheetledger.sandbox.runner import Sandbox

PERSON = "olga@gmail.com"
WAIT = 60.0  # seconds: a bound on waiting for a line or the exit, not a sleep
PDF = b"%PDF-1.4\n" + bytes(range(256)) * 8 + b"\n%%EOF\n"


@pytest.fixture
def browser() -> Iterator[requests.Session]:
    session = requests.Session()
    session.trust_env = False  # loopback only, never through a proxy from the environment
    yield session
    session.close()


class AuthCommand:
    """``python -m sheetledger auth google --no-browser`` with its stdout read line by line."""

    def __init__(self, secrets_file: Path, out: Path) -> None:
        env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",  # the link is printed while the command waits
            "OAUTHLIB_INSECURE_TRANSPORT": "1",  # the emulator's token endpoint is plain http
            "COLUMNS": "1000",
        }
        argv = ["auth", "google", "--client-secrets", str(secrets_file), "--out", str(out)]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sheetledger", *argv, "--no-browser"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            env=env,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        assert self.proc.stdout is not None
        threading.Thread(target=self._read, args=(self.proc.stdout,), daemon=True).start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def authorization_url(self) -> str:
        while (line := self.lines.get(timeout=WAIT)) is not None:
            if "https://" in line or "http://" in line:
                return line[line.index("http") :].strip()
        self.proc.kill()
        raise AssertionError(f"no link printed; stderr: {self.proc.communicate()[1]}")

    def finish(self) -> tuple[int, str, str]:
        code = self.proc.wait(timeout=WAIT)
        rest: list[str] = []
        while (line := self.lines.get(timeout=WAIT)) is not None:
            rest.append(line)
        assert self.proc.stderr is not None
        return code, "\n".join(rest), self.proc.stderr.read()


def client_secrets(box: Sandbox, folder: Path) -> tuple[Path, str]:
    info = box.sheets.installed_app_secrets(box.urls["google"])
    path = folder / "client_secret.json"
    path.write_text(json.dumps(info), encoding="utf-8")
    return path, str(info["installed"]["client_id"])


def consent(browser: requests.Session, url: str) -> str:
    """What the person's browser does with the link: the consent page, then its redirect."""
    page = browser.get(url, allow_redirects=False, timeout=WAIT)
    assert page.status_code == 302, page.text
    location = page.headers["Location"]
    assert location.startswith("http://localhost:")
    landing = browser.get(location, allow_redirects=False, timeout=WAIT)
    assert landing.status_code == 200  # the command's local server took the redirect
    return location


def test_auth_google_keeps_a_refresh_token_that_uploads_as_the_person(
    box: Sandbox, browser: requests.Session, tmp_path: Path
) -> None:
    secrets_file, client_id = client_secrets(box, tmp_path)
    out = tmp_path / "secrets" / "google-user.json"
    box.sheets.issuer.sign_in(PERSON)
    command = AuthCommand(secrets_file, out)

    url = command.authorization_url()
    asked = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    assert url.startswith(box.urls["google"] + "/o/oauth2/auth?")
    assert asked["client_id"] == [client_id]
    assert asked["code_challenge_method"] == ["S256"]  # PKCE, as the library sends it
    location = consent(browser, url)
    code, output, errors = command.finish()

    assert code == 0, errors
    assert "Traceback" not in errors
    assert f"saved the refresh token to {out}" in output
    assert out.stat().st_mode & 0o777 == 0o600
    saved = json.loads(out.read_text(encoding="utf-8"))
    assert saved["refresh_token"].startswith("1//")
    assert "token" not in saved and "expiry" not in saved  # no access token kept
    assert saved["client_id"] == client_id
    assert saved["token_uri"] == box.urls["google"] + "/token"
    assert saved["refresh_token"] not in location  # the code went by the browser, not it

    config = box.load_config()
    user = GoogleUser(credentials=Secret(out.read_text(encoding="utf-8"), str(out)))
    config = config.model_copy(
        update={"google": config.google.model_copy(update={"oauth_user": user})}
    )
    folder = box.sheets.create_folder("Счета", owner=PERSON)
    stored = build_drive(config, build_google(config)).upload(
        folder, "bill.pdf", "application/pdf", PDF
    )
    assert box.sheets.drive_files[stored.id].owner == PERSON
    assert box.sheets.file_bytes(stored.id) == PDF


def test_a_declined_consent_stops_the_command_and_saves_nothing(
    box: Sandbox, browser: requests.Session, tmp_path: Path
) -> None:
    secrets_file, _ = client_secrets(box, tmp_path)
    out = tmp_path / "secrets" / "google-user.json"
    box.sheets.issuer.sign_in(PERSON, allow=False)
    command = AuthCommand(secrets_file, out)

    location = consent(browser, command.authorization_url())
    code, output, errors = command.finish()

    assert "error=access_denied" in location and "code=" not in location
    assert code != 0
    assert "access was declined in the browser (access_denied); nothing was saved" in errors
    assert "Traceback" not in errors
    assert "saved" not in output
    assert not out.exists() and not out.parent.exists()
