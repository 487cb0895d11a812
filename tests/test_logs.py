"""Log output never carries a secret: the config's own, a Bot API token, a bearer header."""

from __future__ import annotations

import io
import json
import logging
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from sheetledger.config import load_config
from sheetledger.connect import register_config_secrets
from sheetledger.logs import redact, setup_logging

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def logged() -> Iterator[tuple[io.StringIO, logging.Logger]]:
    """Logging set up as the CLI does, into a buffer; the root logger restored afterwards."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    noisy = {name: logging.getLogger(name).level for name in ("httpx", "telegram.ext")}
    stream = io.StringIO()
    setup_logging(level="INFO", fmt="text", stream=stream)
    yield stream, logging.getLogger("sheetledger.test")
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)
    for name, old in noisy.items():
        logging.getLogger(name).setLevel(old)


def unique_token() -> str:
    # Unique per run: the registry of known secrets is process-wide.
    return "amo-" + secrets.token_urlsafe(24)


def bot_token() -> str:
    return f"{secrets.randbelow(10**9) + 10**9}:AA{secrets.token_urlsafe(33)[:33]}"


def config_with(tmp_path: Path, key: str) -> Path:
    (tmp_path / "config.yaml").write_text(
        (ROOT / "config.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    (tmp_path / "service-account.json").write_text(
        json.dumps(
            {
                "client_email": "ledger@example.iam.gserviceaccount.com",
                "private_key_id": key,
                "private_key": "-----BEGIN PRIVATE KEY-----\nQUJD\n-----END PRIVATE KEY-----\n",
            }
        ),
        encoding="utf-8",
    )
    return tmp_path / "config.yaml"


def test_the_configs_secrets_are_redacted_in_log_lines(
    tmp_path: Path, logged: tuple[io.StringIO, logging.Logger]
) -> None:
    stream, log = logged
    amo, bot, key_id = unique_token(), bot_token(), secrets.token_hex(20)
    path = config_with(tmp_path, key_id)
    config = load_config(path, environ={"AMOCRM_TOKEN": amo, "TELEGRAM_BOT_TOKEN": bot})
    register_config_secrets(config)

    log.info("amoCRM answered for token %s", amo)
    log.warning("key %s in %s", key_id, config.google.service_account.source)
    log.error(f"inline f-string {amo} and {bot}")

    text = stream.getvalue()
    assert text.count("***") >= 4
    for value in (amo, bot, key_id):
        assert value not in text
    assert "amoCRM answered for token ***" in text
    assert "service-account.json" in text  # where a secret lives is fine to print


def test_a_secret_in_a_traceback_is_redacted(logged: tuple[io.StringIO, logging.Logger]) -> None:
    stream, log = logged
    token = bot_token()
    try:
        raise RuntimeError(f"POST https://api.telegram.org/bot{token}/sendMessage failed")
    except RuntimeError:
        log.exception("the bot stopped")
    text = stream.getvalue()
    assert "RuntimeError" in text and "Traceback" in text
    assert token not in text
    assert token.split(":")[1] not in text


def test_token_shaped_strings_are_redacted_even_when_never_registered(
    logged: tuple[io.StringIO, logging.Logger],
) -> None:
    stream, log = logged
    token = bot_token()
    bearer = secrets.token_urlsafe(30)
    private = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----"

    # httpx (under python-telegram-bot) logs request URLs with the token in the path
    url = "https://api.telegram.org/bot%s/getMe"
    logging.getLogger("httpx").warning(f'HTTP Request: POST {url} "200 OK"', token)
    log.info("token alone: %s.", token)
    log.info("headers {'Authorization': 'Bearer %s'}", bearer)
    log.info("authorization: bearer %s", bearer)
    log.info("key: %s", private)

    text = stream.getvalue()
    assert token not in text
    assert token.split(":")[1] not in text  # not even the secret part after the bot id
    assert "/bot***/getMe" in text
    assert bearer not in text and "Bearer ***" in text and "bearer ***" in text
    assert "MIIEpAIBAAKCAQEA" not in text and "***PRIVATE KEY***" in text


def test_json_log_lines_are_redacted_too(logged: tuple[io.StringIO, logging.Logger]) -> None:
    stream = io.StringIO()
    setup_logging(level="INFO", fmt="json", stream=stream)
    token = bot_token()
    logging.getLogger("sheetledger.test").info("calling /bot%s/getUpdates", token)
    [line] = stream.getvalue().splitlines()
    entry = json.loads(line)
    assert entry["message"] == "calling /bot***/getUpdates"
    assert entry["level"] == "INFO" and entry["logger"] == "sheetledger.test"
    assert token not in line


def test_redact_leaves_ordinary_text_alone() -> None:
    text = "synced 12 deals at 12:30:05, lead 31500001:7, sum 123456.78 ₽"
    assert redact(text) == text
