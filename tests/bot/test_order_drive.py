"""The bills' Drive adapter (ledger/drive.py) against the sandbox's Drive, real google-auth.

A shared drive takes the service account's upload; a My Drive folder refuses it with
``storageQuotaExceeded`` (a FatalError whose hint names both ways out); OAuth user
credentials upload into a My Drive folder; the file comes back byte for byte; an upload
repeated (a lost answer) finds the file instead of making a second one.
"""

from __future__ import annotations

import json

import pytest

from sheetledger.config import Config, GoogleUser, Secret
from sheetledger.connect import build_drive, build_google
from sheetledger.errors import FatalError, RetriableError
from sheetledger.ledger.drive import NO_QUOTA_HINT
from sheetledger.retry import RetryPolicy
from sheetledger.sandbox.runner import Sandbox

PDF = b"%PDF-1.4\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"


def shared_folder(box: Sandbox) -> str:
    drive = box.sheets.create_shared_drive(
        "Бухгалтерия", {box.sheets.service_account_email: "fileOrganizer"}
    )
    return box.sheets.create_folder("Счета", drive)


def with_user(box: Sandbox, config: Config, email: str = "olga@gmail.com") -> Config:
    info = box.sheets.issuer.add_user(email, f"{box.urls['google']}/token")
    user = GoogleUser(credentials=Secret(json.dumps(info), "secrets/google-user.json"))
    google = config.google.model_copy(update={"oauth_user": user})
    return config.model_copy(update={"google": google})


def test_a_bill_in_a_shared_drive_comes_back_byte_for_byte(sandbox: tuple[Sandbox, Config]) -> None:
    box, config = sandbox
    folder = shared_folder(box)
    drive = build_drive(config, build_google(config))

    stored = drive.upload(folder, "O-261202-ab12 счёт 77.pdf", "application/pdf", PDF)

    assert stored.link.startswith("https://drive.google.com/file/d/")
    assert drive.download(stored.id) == PDF
    assert box.sheets.file_bytes(stored.id) == PDF
    assert drive.folder(folder).shared_drive


def test_an_upload_repeated_finds_the_file_instead_of_a_second(
    sandbox: tuple[Sandbox, Config],
) -> None:
    box, config = sandbox
    folder = shared_folder(box)
    drive = build_drive(config, build_google(config))

    box.sheets.drop_next(match="upload/drive", after_commit=True)
    with pytest.raises(RetriableError):  # it landed; the answer was lost
        drive.upload(folder, "O-261202-ab12.pdf", "application/pdf", PDF)
    first = box.sheets.files_in(folder)[0]
    again = drive.upload(folder, "O-261202-ab12.pdf", "application/pdf", PDF)

    assert again.id == first.id
    assert len(box.sheets.files_in(folder)) == 1


def test_a_service_account_cannot_upload_into_a_my_drive_folder(
    sandbox: tuple[Sandbox, Config],
) -> None:
    box, config = sandbox
    folder = box.sheets.create_folder("Счета", owner="olga@gmail.com")
    box.sheets.share_file(folder, box.sheets.service_account_email, "writer")
    drive = build_drive(config, build_google(config))

    assert not drive.folder(folder).shared_drive
    with pytest.raises(FatalError) as caught:
        drive.upload(folder, "bill.pdf", "application/pdf", PDF)

    assert "storageQuotaExceeded" in str(caught.value)
    assert caught.value.hint == NO_QUOTA_HINT
    assert box.sheets.files_in(folder) == []


def test_user_credentials_upload_into_a_my_drive_folder(sandbox: tuple[Sandbox, Config]) -> None:
    box, config = sandbox
    folder = box.sheets.create_folder("Счета", owner="olga@gmail.com")
    config = with_user(box, config, "olga@gmail.com")
    drive = build_drive(config, build_google(config))

    stored = drive.upload(folder, "bill.pdf", "application/pdf", PDF)

    assert drive.download(stored.id) == PDF
    assert box.sheets.drive_files[stored.id].owner == "olga@gmail.com"


def test_a_missing_folder_says_what_to_check(sandbox: tuple[Sandbox, Config]) -> None:
    _, config = sandbox
    drive = build_drive(config, build_google(config))
    with pytest.raises(FatalError) as caught:
        drive.upload("1NoSuchFolder", "bill.pdf", "application/pdf", PDF)
    assert "drive_folder_id" in caught.value.hint


def test_a_drive_outage_is_retriable(sandbox: tuple[Sandbox, Config]) -> None:
    box, config = sandbox
    folder = shared_folder(box)
    drive = build_drive(config, build_google(config))
    box.sheets.fail_next(503, count=1, match="drive/v3/files")
    with pytest.raises(RetriableError):
        drive.upload(folder, "bill.pdf", "application/pdf", PDF)
    assert box.sheets.files_in(folder) == []


def test_a_drive_503_then_success_is_retried_for_a_bill(sandbox: tuple[Sandbox, Config]) -> None:
    box, config = sandbox
    folder = shared_folder(box)
    stored = build_drive(config, build_google(config)).upload(
        folder, "O-261202-ab12.pdf", "application/pdf", PDF
    )
    waits: list[float] = []
    policy = RetryPolicy(attempts=3, base=1.0, cap=1.0, sleep=waits.append, jitter=lambda: 0.0)
    drive = build_drive(config, build_google(config), retry=policy)
    box.sheets.fail_next(503, count=1, match=f"GET /drive/v3/files/{stored.id}")

    assert drive.fetch(stored.link) == ("O-261202-ab12.pdf", PDF)

    assert waits == [0.5]  # one backoff, driven (not slept)
    assert drive.requests == 3  # the refused get, the get, the download


def test_a_drive_outage_past_the_retries_is_retriable(sandbox: tuple[Sandbox, Config]) -> None:
    box, config = sandbox
    folder = shared_folder(box)
    waits: list[float] = []
    policy = RetryPolicy(attempts=2, base=1.0, cap=1.0, sleep=waits.append, jitter=lambda: 0.0)
    drive = build_drive(config, build_google(config), retry=policy)
    box.sheets.fail_next(503, count=2, match=f"GET /drive/v3/files/{folder}")
    with pytest.raises(RetriableError) as caught:
        drive.folder(folder)
    assert "HTTP 503" in str(caught.value) and "2 attempts" in str(caught.value)
    assert drive.requests == 2 and waits == [0.5]
