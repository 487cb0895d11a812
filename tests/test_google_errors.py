"""google-auth's failures become our errors inside the Google adapter (ledger/google.py)."""

from __future__ import annotations

import pytest

from sheetledger.connect import master_ledger, service_account_info
from sheetledger.errors import FatalError, RetriableError
from sheetledger.ledger.google import KeyRefused, NoAccessToken, connect
from sheetledger.outage import OutageWatch
from sheetledger.sandbox.runner import Sandbox


def _ledger(box: Sandbox, **changes: str):
    config = box.load_config()
    info = service_account_info(config) | changes
    client = connect(info, api_base_url=config.google.api_base_url, timeout=5)
    ledger = master_ledger(config, client)
    ledger.sleep = lambda seconds: None
    return ledger


def test_a_refused_key_is_a_fatal_error_that_says_so(box: Sandbox) -> None:
    ledger = _ledger(box, client_email="nobody@elsewhere.iam.gserviceaccount.com")
    with pytest.raises(KeyRefused) as caught:
        ledger.sheet_ids()
    assert isinstance(caught.value, FatalError)
    assert caught.value.detail.startswith("the token endpoint refused the service-account key")
    watch = OutageWatch()
    watch.failed_with(caught.value)
    assert watch.down["Google Sheets"].needs_person is True


def test_a_token_endpoint_out_of_reach_is_a_passing_fault(box: Sandbox) -> None:
    ledger = _ledger(box, token_uri="http://127.0.0.1:9/token")  # nothing listens there
    with pytest.raises(NoAccessToken) as caught:
        ledger.sheet_ids()
    assert isinstance(caught.value, RetriableError) and caught.value.reachable is False
    assert "no access token from http://127.0.0.1:9/token" in caught.value.detail


def test_a_token_endpoint_answering_503_is_a_passing_fault(box: Sandbox) -> None:
    box.sheets.fail_next(503, count=10, match="/token")
    ledger = _ledger(box)
    with pytest.raises(NoAccessToken) as caught:
        ledger.sheet_ids()
    assert caught.value.reachable is True
