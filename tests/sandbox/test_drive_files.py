"""The Drive v3 emulator with the clients the product uses: google-auth's AuthorizedSession
(requests) signed in as the service account, or with a person's OAuth user credentials."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from google.auth.transport.requests import AuthorizedSession
from google.oauth2 import credentials as user_credentials
from google.oauth2 import service_account

from sheetledger.sandbox.clock import ManualClock
from sheetledger.sandbox.server import LoopbackServer
from sheetledger.sandbox.sheets import PERSON, SheetsEmulator

FOLDER = "application/vnd.google-apps.folder"
SHEETS_MIME = "application/vnd.google-apps.spreadsheet"
PDF = b"%PDF-1.4\n" + bytes(range(256)) * 40 + b"\r\n\x00%%EOF\n"  # binary, CR LF and NUL inside
NO_QUOTA = (
    "Service Accounts do not have storage quota. Leverage shared drives "
    "(https://developers.google.com/workspace/drive/api/guides/about-shareddrives), "
    "or use OAuth delegation (http://support.google.com/a/answer/7281227) instead."
)


@pytest.fixture
def emulator() -> SheetsEmulator:
    return SheetsEmulator(clock=ManualClock(1_800_000_000.0))


@pytest.fixture
def server(emulator: SheetsEmulator) -> Iterator[LoopbackServer]:
    with LoopbackServer(emulator) as srv:
        yield srv
        assert srv.crashes == []


class Drive:
    """A Drive session the way the product holds one: a base URL and an AuthorizedSession."""

    def __init__(self, base: str, session: AuthorizedSession) -> None:
        self.base, self.session = base, session

    def call(self, method: str, path: str, **kw: Any) -> requests.Response:
        return self.session.request(method, self.base + path, timeout=10, **kw)

    def ok(self, method: str, path: str, **kw: Any) -> Any:
        answer = self.call(method, path, **kw)
        assert answer.status_code < 300, answer.text
        return answer.json() if answer.content else None

    def multipart(self, metadata: dict[str, Any], content: bytes, mime: str, **params: Any) -> Any:
        boundary = "sheetledger-" + uuid.uuid4().hex
        body = b"".join(
            [
                f"--{boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n".encode(),
                json.dumps(metadata).encode(),
                f"\r\n--{boundary}\r\nContent-Type: {mime}\r\n\r\n".encode(),
                content,
                f"\r\n--{boundary}--\r\n".encode(),
            ]
        )
        return self.call(
            "POST",
            "/upload/drive/v3/files",
            params={"uploadType": "multipart", **params},
            data=body,
            headers={"Content-Type": f"multipart/related; boundary={boundary}"},
        )


@pytest.fixture
def robot(emulator: SheetsEmulator, server: LoopbackServer) -> Drive:
    """The daemon: a service account whose JWT grant goes to the emulator's /token."""
    info = emulator.service_account_info(server.url + "/token")
    creds = service_account.Credentials.from_service_account_info(
        info, scopes=["https://www.googleapis.com/auth/drive"]
    )
    return Drive(server.url, AuthorizedSession(creds))


@pytest.fixture
def person(emulator: SheetsEmulator, server: LoopbackServer) -> Drive:
    """A personal Google account through OAuth user credentials."""
    creds = user_credentials.Credentials(token=emulator.access_token(PERSON))
    return Drive(server.url, AuthorizedSession(creds))


@pytest.fixture
def team(emulator: SheetsEmulator) -> str:
    """A shared drive with the service account as a content manager and the owner as organizer."""
    return emulator.create_shared_drive(
        "Accounting", {PERSON: "organizer", emulator.service_account_email: "fileOrganizer"}
    )


ALL = {"supportsAllDrives": "true"}


# --------------------------------------------------------------------------- Google's rule


def test_a_service_account_owns_nothing_in_a_my_drive(
    emulator: SheetsEmulator, robot: Drive, person: Drive
) -> None:
    answer = robot.multipart({"name": "bill.pdf"}, PDF, "application/pdf")
    assert answer.status_code == 403
    error = answer.json()["error"]
    assert error["message"] == NO_QUOTA
    assert error["errors"] == [
        {"message": NO_QUOTA, "domain": "usageLimits", "reason": "storageQuotaExceeded"}
    ]
    # a person's My Drive folder shared with the robot does not help: the robot would own it
    folder = emulator.create_folder("Bills", owner=PERSON)
    emulator.share_file(folder, emulator.service_account_email, "writer")
    shared = robot.multipart({"name": "bill.pdf", "parents": [folder]}, PDF, "application/pdf")
    assert shared.status_code == 403
    assert shared.json()["error"]["errors"][0]["reason"] == "storageQuotaExceeded"
    sheet = robot.call(
        "POST", "/drive/v3/files", json={"name": "L", "mimeType": SHEETS_MIME}, params=ALL
    )
    assert sheet.status_code == 403 and sheet.json()["error"]["message"] == NO_QUOTA
    assert robot.call("POST", "/v4/spreadsheets", json={}).status_code == 403
    assert emulator.drive_files.keys() == {folder}  # nothing half-created
    assert emulator.spreadsheets == {}
    # a person owns what they create, in their own My Drive or in the shared folder
    mine = person.multipart({"name": "bill.pdf", "parents": [folder]}, PDF, "application/pdf")
    assert mine.status_code == 200, mine.text
    assert person.ok("POST", "/v4/spreadsheets", json={})["spreadsheetId"]
    made = person.ok("GET", f"/drive/v3/files/{mine.json()['id']}", params={"fields": "owners"})
    assert made["owners"][0]["emailAddress"] == PERSON


def test_the_rule_can_be_switched_off_like_before_2024(
    emulator: SheetsEmulator, robot: Drive
) -> None:
    emulator.service_accounts_have_no_storage = False
    answer = robot.multipart({"name": "old.pdf"}, PDF, "application/pdf")
    assert answer.status_code == 200, answer.text


# --------------------------------------------------------------------------- shared drives


def test_upload_into_a_shared_drive_folder_and_download_byte_for_byte(
    emulator: SheetsEmulator, robot: Drive, team: str
) -> None:
    folder = robot.ok(
        "POST",
        "/drive/v3/files",
        params={**ALL, "fields": "id,driveId,parents,mimeType"},
        json={"name": "Bills", "mimeType": FOLDER, "parents": [team]},
    )
    assert folder["driveId"] == team and folder["parents"] == [team]
    answer = robot.multipart(
        {"name": "Счёт 77.pdf", "parents": [folder["id"]]},
        PDF,
        "application/pdf",
        supportsAllDrives="true",
        fields="id,name,mimeType,size,md5Checksum,driveId,parents,owners,webViewLink",
    )
    assert answer.status_code == 200, answer.text
    made = answer.json()
    assert made["name"] == "Счёт 77.pdf" and made["mimeType"] == "application/pdf"
    assert made["size"] == str(len(PDF))
    assert made["md5Checksum"] == hashlib.md5(PDF, usedforsecurity=False).hexdigest()
    assert made["driveId"] == team and made["parents"] == [folder["id"]]
    assert "owners" not in made  # the organisation owns shared-drive files
    assert made["webViewLink"].endswith(f"/file/d/{made['id']}/view?usp=drivesdk")
    body = robot.call("GET", f"/drive/v3/files/{made['id']}", params={**ALL, "alt": "media"})
    assert body.status_code == 200 and body.content == PDF
    assert body.headers["Content-Type"] == "application/pdf"
    assert emulator.file_bytes(made["id"]) == PDF


def test_without_supports_all_drives_a_shared_drive_item_is_not_found(
    robot: Drive, team: str
) -> None:
    refused = robot.multipart({"name": "a.pdf", "parents": [team]}, PDF, "application/pdf")
    assert refused.status_code == 404
    assert refused.json()["error"]["message"] == f"File not found: {team}."
    made = robot.multipart(
        {"name": "a.pdf", "parents": [team]}, PDF, "application/pdf", supportsAllDrives="true"
    ).json()
    hidden = robot.call("GET", f"/drive/v3/files/{made['id']}")
    assert hidden.status_code == 404
    assert hidden.json()["error"]["errors"][0]["reason"] == "notFound"
    assert robot.ok("GET", f"/drive/v3/files/{made['id']}", params=ALL)["id"] == made["id"]


def test_drives_create_list_get(robot: Drive, person: Drive, team: str) -> None:
    made = person.ok("POST", "/drive/v3/drives", params={"requestId": "r-1"}, json={"name": "Ops"})
    again = person.ok("POST", "/drive/v3/drives", params={"requestId": "r-1"}, json={"name": "Ops"})
    assert made == again and made["kind"] == "drive#drive"  # requestId is idempotent
    names = [d["name"] for d in person.ok("GET", "/drive/v3/drives")["drives"]]
    assert names == ["Accounting", "Ops"]
    robots = robot.ok("GET", "/drive/v3/drives", params={"q": "name = 'Accounting'"})
    assert [d["id"] for d in robots["drives"]] == [team]  # not a member of Ops
    assert robot.call("GET", f"/drive/v3/drives/{made['id']}").status_code == 404
    fields = {"fields": "id,name,createdTime"}
    assert robot.ok("GET", f"/drive/v3/drives/{team}", params=fields)["name"] == "Accounting"
    assert person.call("POST", "/drive/v3/drives", json={"name": "x"}).status_code == 400


def test_a_reader_of_a_shared_drive_cannot_upload(emulator: SheetsEmulator, robot: Drive) -> None:
    drive = emulator.create_shared_drive("Read only", {emulator.service_account_email: "reader"})
    answer = robot.multipart(
        {"name": "a.pdf", "parents": [drive]}, PDF, "application/pdf", supportsAllDrives="true"
    )
    assert answer.status_code == 403
    assert answer.json()["error"]["errors"][0]["reason"] == "insufficientFilePermissions"
    assert emulator.files_in(drive) == []


# --------------------------------------------------------------------------- uploads


def test_media_upload_and_multipart_with_lf_line_ends_and_base64(
    robot: Drive, person: Drive
) -> None:
    plain = person.call(
        "POST",
        "/upload/drive/v3/files",
        params={"uploadType": "media", "fields": "name,mimeType,size"},
        data=b"\x89PNG\r\n",
        headers={"Content-Type": "image/png"},
    )
    assert plain.json() == {"name": "Untitled", "mimeType": "image/png", "size": "6"}
    boundary = "===============7330845974216740156=="
    encoded = __import__("base64").b64encode(PDF).decode()
    body = (
        f'--{boundary}\nContent-Type: application/json\nMIME-Version: 1.0\n\n{{"name": "b.pdf"}}\n'
        f"--{boundary}\nContent-Type: application/pdf\nMIME-Version: 1.0\n"
        f"Content-Transfer-Encoding: base64\n\n{encoded}\n--{boundary}--"
    ).encode()
    answer = person.call(
        "POST",
        "/upload/drive/v3/files",
        params={"uploadType": "multipart"},
        data=body,
        headers={"Content-Type": f'multipart/related; boundary="{boundary}"'},
    )
    assert answer.status_code == 200, answer.text
    fid = answer.json()["id"]
    assert person.call("GET", f"/drive/v3/files/{fid}", params={"alt": "media"}).content == PDF
    broken = person.call(
        "POST",
        "/upload/drive/v3/files",
        params={"uploadType": "multipart"},
        data=b"no parts",
        headers={"Content-Type": "multipart/related; boundary=x"},
    )
    assert broken.status_code == 400


def test_resumable_upload_in_chunks_with_a_status_query(
    emulator: SheetsEmulator, robot: Drive, team: str
) -> None:
    start = robot.call(
        "POST",
        "/upload/drive/v3/files",
        params={"uploadType": "resumable", **ALL},
        json={"name": "scan.pdf", "parents": [team]},
        headers={"X-Upload-Content-Type": "application/pdf"},
    )
    assert start.status_code == 200 and start.content == b""
    session = start.headers["Location"]
    assert "upload_id=" in session and session.startswith(robot.base)
    half = len(PDF) // 2
    first = robot.session.put(
        session,
        data=PDF[:half],
        headers={"Content-Range": f"bytes 0-{half - 1}/*"},
        timeout=10,
    )
    assert first.status_code == 308 and first.headers["Range"] == f"bytes=0-{half - 1}"
    status = robot.session.put(
        session, data=b"", headers={"Content-Range": f"bytes */{len(PDF)}"}, timeout=10
    )
    assert status.status_code == 308 and status.headers["Range"] == f"bytes=0-{half - 1}"
    last = robot.session.put(
        session,
        data=PDF[half:],
        headers={"Content-Range": f"bytes {half}-{len(PDF) - 1}/{len(PDF)}"},
        timeout=10,
    )
    assert last.status_code == 200, last.text
    made = last.json()
    assert made["mimeType"] == "application/pdf"
    assert emulator.file_bytes(made["id"]) == PDF
    gone = robot.session.put(session, data=b"x", timeout=10)
    assert gone.status_code == 404  # the session is over


def test_a_resumable_session_into_a_my_drive_is_refused_at_once(robot: Drive) -> None:
    start = robot.call(
        "POST",
        "/upload/drive/v3/files",
        params={"uploadType": "resumable"},
        json={"name": "scan.pdf"},
    )
    assert start.status_code == 403
    assert start.json()["error"]["errors"][0]["reason"] == "storageQuotaExceeded"


def test_a_spreadsheet_is_not_downloadable(
    emulator: SheetsEmulator, robot: Drive, team: str
) -> None:
    metadata = {"name": "L", "mimeType": SHEETS_MIME, "parents": [team]}
    made = robot.ok("POST", "/drive/v3/files", params=ALL, json=metadata)
    assert emulator.spreadsheets[made["id"]].title == "L"
    answer = robot.call("GET", f"/drive/v3/files/{made['id']}", params={"alt": "media", **ALL})
    assert answer.status_code == 403
    error = answer.json()["error"]
    assert error["message"] == (
        "Only files with binary content can be downloaded. Use Export with Docs Editors files."
    )
    assert error["errors"][0]["reason"] == "fileNotDownloadable"


# --------------------------------------------------------------------------- folders, list, move


def test_list_with_q_fields_pages_and_corpora(
    emulator: SheetsEmulator, robot: Drive, team: str
) -> None:
    def create(name: str, mime: str, parent: str) -> str:
        made = robot.ok(
            "POST",
            "/drive/v3/files",
            params=ALL,
            json={"name": name, "mimeType": mime, "parents": [parent]},
        )
        return str(made["id"])

    inbox = create("Inbox", FOLDER, team)
    imported = create("imported", FOLDER, inbox)
    bills = [create(f"bill {n}.pdf", "application/pdf", inbox) for n in range(5)]
    create("it's.pdf", "application/pdf", inbox)
    robot.ok("PATCH", f"/drive/v3/files/{bills[0]}", params=ALL, json={"trashed": True})
    params = {
        **ALL,
        "includeItemsFromAllDrives": "true",
        "corpora": "drive",
        "driveId": team,
        "q": f"'{inbox}' in parents and mimeType != '{FOLDER}' and trashed = false",
        "fields": "nextPageToken,files(id,name,driveId)",
        "orderBy": "name",
        "pageSize": "2",
    }
    pages: list[list[str]] = []
    while True:
        page = robot.ok("GET", "/drive/v3/files", params=params)
        assert all(f["driveId"] == team for f in page["files"])
        pages.append([f["name"] for f in page["files"]])
        if "nextPageToken" not in page:
            break
        params["pageToken"] = page["nextPageToken"]
    assert pages == [["bill 1.pdf", "bill 2.pdf"], ["bill 3.pdf", "bill 4.pdf"], ["it's.pdf"]]
    by_name = {
        **ALL,
        "includeItemsFromAllDrives": "true",
        "q": "name = 'it\\'s.pdf' or (name contains 'IMPORT' and not trashed = true)",
    }
    found = robot.ok("GET", "/drive/v3/files", params=by_name)["files"]
    assert sorted(f["name"] for f in found) == ["imported", "it's.pdf"]
    assert {f["id"] for f in found} >= {imported}
    # without includeItemsFromAllDrives the shared drive's files are not listed
    assert robot.ok("GET", "/drive/v3/files", params={"q": "name = 'imported'"})["files"] == []
    bad = robot.call("GET", "/drive/v3/files", params={"q": "name = "})
    assert bad.status_code == 400 and bad.json()["error"]["errors"][0]["location"] == "q"
    lonely = robot.call("GET", "/drive/v3/files", params={**ALL, "driveId": team})
    assert lonely.status_code == 400


def test_moving_a_bill_into_the_imported_subfolder(
    emulator: SheetsEmulator, robot: Drive, team: str
) -> None:
    inbox = emulator.create_folder("Inbox", team)
    imported = emulator.create_folder("imported", inbox)
    made = robot.multipart(
        {"name": "b.pdf", "parents": [inbox]}, PDF, "application/pdf", supportsAllDrives="true"
    ).json()
    fid = made["id"]
    direct = robot.call("PATCH", f"/drive/v3/files/{fid}", params=ALL, json={"parents": [imported]})
    assert direct.status_code == 403
    assert direct.json()["error"]["errors"][0]["reason"] == "fieldNotWritable"
    two = robot.call("PATCH", f"/drive/v3/files/{fid}", params={**ALL, "addParents": imported})
    assert two.status_code == 403  # one parent only
    moved = robot.ok(
        "PATCH",
        f"/drive/v3/files/{fid}",
        params={**ALL, "addParents": imported, "removeParents": inbox, "fields": "id,parents"},
        json={"name": "b (imported).pdf"},
    )
    assert moved == {"id": fid, "parents": [imported]}
    assert [f.name for f in emulator.files_in(imported)] == ["b (imported).pdf"]
    assert [f.name for f in emulator.files_in(inbox)] == ["imported"]
    assert emulator.file_bytes(fid) == PDF


# --------------------------------------------------------------------------- a person's spreadsheet


def test_a_person_creates_a_tagged_spreadsheet_and_shares_it_with_the_robot(
    emulator: SheetsEmulator, robot: Drive, person: Drive, tmp_path: Any
) -> None:
    """What ``sheetledger init`` does for a cabinet (ledger/cabinet_files.py), by hand."""
    tag = {"sheetledgerCabinet": "a1b2"}
    made = person.ok(
        "POST",
        "/drive/v3/files",
        params={**ALL, "fields": "id,name,mimeType,webViewLink,appProperties,owners"},
        json={"name": "Учёт — Касса", "mimeType": SHEETS_MIME, "appProperties": tag},
    )
    sid = made["id"]
    assert made["mimeType"] == SHEETS_MIME and made["appProperties"] == tag
    assert made["owners"][0]["emailAddress"] == PERSON
    assert made["webViewLink"] == f"https://docs.google.com/spreadsheets/d/{sid}/edit?usp=drivesdk"
    # the robot cannot open what a person made and did not share
    assert robot.call("GET", f"/v4/spreadsheets/{sid}").status_code == 403
    # found again by its tag (both the key and the value are asked for)
    q = "appProperties has { key='sheetledgerCabinet' and value='a1b2' } and trashed = false"
    found = person.ok("GET", "/drive/v3/files", params={"q": q, "fields": "files(id)"})
    assert found["files"] == [{"id": sid}]
    other = q.replace("a1b2", "zzz")
    assert person.ok("GET", "/drive/v3/files", params={"q": other})["files"] == []
    half = person.call("GET", "/drive/v3/files", params={"q": "appProperties has { key='k' }"})
    assert half.status_code == 400
    # the share: Drive v3's Permission resource comes back (kind, id, type, role)
    permission = person.ok(
        "POST",
        f"/drive/v3/files/{sid}/permissions",
        params={**ALL, "sendNotificationEmail": "false"},
        json={"type": "user", "role": "writer", "emailAddress": emulator.service_account_email},
    )
    assert permission["kind"] == "drive#permission" and permission["id"]
    assert (permission["type"], permission["role"]) == ("user", "writer")
    assert "emailAddress" not in permission  # not in the default fields
    person.ok(
        "POST",
        f"/drive/v3/files/{sid}/permissions",
        json={"type": "user", "role": "writer", "emailAddress": "olga@gmail.com"},
    )
    assert emulator.share_notices == [  # Drive e-mails the person, not the robot
        {"fileId": sid, "emailAddress": "olga@gmail.com", "role": "writer"}
    ]
    listed = person.ok(
        "GET",
        f"/drive/v3/files/{sid}/permissions",
        params={"fields": "permissions(type,role,emailAddress)"},
    )
    assert {p["emailAddress"]: p["role"] for p in listed["permissions"]} == {
        PERSON: "owner",
        emulator.service_account_email: "writer",
        "olga@gmail.com": "writer",
    }
    assert robot.ok("GET", f"/v4/spreadsheets/{sid}")["properties"]["title"] == "Учёт — Касса"
    # the tag survives a save and a load
    emulator.save(tmp_path)
    again = SheetsEmulator(clock=ManualClock(1_800_000_000.0))
    again.load(tmp_path)
    assert again.spreadsheets[sid].app_properties == tag


def test_app_properties_are_limited_to_124_bytes(person: Drive) -> None:
    long = {"sheetledgerCabinet": "ж" * 60}  # 18 + 120 bytes of UTF-8
    refused = person.call(
        "POST",
        "/drive/v3/files",
        json={"name": "L", "mimeType": SHEETS_MIME, "appProperties": long},
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["errors"][0]["reason"] == "propertyLengthLimitExceeded"
    fits = {"sheetledgerCabinet": "ж" * 53}
    made = person.ok(
        "POST",
        "/drive/v3/files",
        params={"fields": "id"},
        json={"name": "L", "mimeType": SHEETS_MIME, "appProperties": fits},
    )
    patched = person.ok(
        "PATCH",
        f"/drive/v3/files/{made['id']}",
        params={"fields": "appProperties"},
        json={"appProperties": {"sheetledgerCabinet": None, "b": "2"}},
    )
    assert patched == {"appProperties": {"b": "2"}}


# --------------------------------------------------------------------------- persistence


def test_files_folders_and_shared_drives_survive_save_and_load(
    emulator: SheetsEmulator, robot: Drive, team: str, tmp_path: Any
) -> None:
    folder = emulator.create_folder("Bills", team)
    made = robot.multipart(
        {"name": "b.pdf", "parents": [folder], "appProperties": {"order": "PO-7"}},
        PDF,
        "application/pdf",
        supportsAllDrives="true",
    ).json()
    sheet = robot.ok(
        "POST",
        "/drive/v3/files",
        params=ALL,
        json={"name": "Orders", "mimeType": SHEETS_MIME, "parents": [folder]},
    )
    emulator.save(tmp_path)
    revived = SheetsEmulator(clock=ManualClock(1_800_000_100.0))
    assert revived.load(tmp_path)
    assert revived.file_bytes(made["id"]) == PDF
    assert revived.shared_drives[team].members == emulator.shared_drives[team].members
    with LoopbackServer(revived) as server:
        info = revived.service_account_info(server.url + "/token")
        creds = service_account.Credentials.from_service_account_info(
            info, scopes=["https://www.googleapis.com/auth/drive"]
        )
        drive = Drive(server.url, AuthorizedSession(creds))
        listed = drive.ok(
            "GET",
            "/drive/v3/files",
            params={
                **ALL,
                "includeItemsFromAllDrives": "true",
                "q": f"'{folder}' in parents",
                "orderBy": "name",
                "fields": "files(id,name,driveId,appProperties)",
            },
        )["files"]
        assert [(f["id"], f["name"]) for f in listed] == [
            (made["id"], "b.pdf"),
            (sheet["id"], "Orders"),
        ]
        assert listed[0]["appProperties"] == {"order": "PO-7"}
        media = drive.call("GET", f"/drive/v3/files/{made['id']}", params={**ALL, "alt": "media"})
        assert media.content == PDF
