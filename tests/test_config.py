"""config.yaml: the example loads; a broken one lists every problem with its path; secrets
come only from the environment or files and never print.

The foundation's promise: "Every problem is reported at once, each with its path
(``amocrm.fields.contract_no: expected an integer field id``), exit code 2."
"""

from __future__ import annotations

import json
import re
import shutil
import textwrap
from pathlib import Path

import pytest
from pydantic import ValidationError

from sheetledger.cli import main
from sheetledger.config import Method, Secret, load_config, parse_config
from sheetledger.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "config.yaml"

AMO_TOKEN = "amo-Tok3n-4f9c2e77b1d04a6f8e5d3c2b1a0f9e8d"
BOT_TOKEN = "7000000001:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawQ"
KEY_ID = "b7f3c1d2e4a5968778695a4b3c2d1e0f"
KEY_BODY = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"
PRIVATE_KEY = f"-----BEGIN PRIVATE KEY-----\n{KEY_BODY}\n-----END PRIVATE KEY-----\n"


def service_account_json() -> str:
    return json.dumps(
        {
            "type": "service_account",
            "client_email": "ledger@example.iam.gserviceaccount.com",
            "private_key_id": KEY_ID,
            "private_key": PRIVATE_KEY,
            "token_uri": "https://oauth2.googleapis.com/token",
        }
    )


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems_of(path: Path, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ=environ if environ is not None else {})
    return caught.value.problems


# --------------------------------------------------------------------------- the example


def test_the_example_config_loads_without_secrets() -> None:
    config = load_config(EXAMPLE, require_secrets=False, environ={})

    assert config.amocrm.fields.contract_no == 900101
    assert config.amocrm.base_url == "https://example.amocrm.ru"
    assert [slot.name for slot in config.amocrm.payment_slots] == ["Предоплата", "Остаток"]
    assert set(config.amocrm.methods.values()) == set(Method)
    assert [c.name for c in config.google.cabinets] == ["cashbox", "accountant", "supply"]
    assert config.google.cabinets[0].methods == (Method.CASH,)
    assert str(config.tz) == "Europe/Moscow"
    assert config.expenses.default_category == "Прочее"
    assert config.schedule.sync.every_seconds == 60
    assert config.source == EXAMPLE
    assert config.state_dir == ROOT / "state"  # relative to the config file, not the cwd
    # the secrets are named but absent
    assert config.amocrm.token.source == "$AMOCRM_TOKEN"
    assert not config.amocrm.token.present
    assert config.google.service_account.source == str(ROOT / "service-account.json")


def test_the_example_config_loads_with_its_secrets(tmp_path: Path) -> None:
    config_path = Path(shutil.copy(EXAMPLE, tmp_path / "config.yaml"))
    (tmp_path / "service-account.json").write_text(service_account_json(), encoding="utf-8")
    env = {"AMOCRM_TOKEN": AMO_TOKEN, "TELEGRAM_BOT_TOKEN": BOT_TOKEN}

    config = load_config(config_path, environ=env)

    assert config.amocrm.token.reveal() == AMO_TOKEN
    assert config.telegram.token.reveal() == BOT_TOKEN
    assert json.loads(config.google.service_account.reveal())["private_key_id"] == KEY_ID
    assert config.google.service_account.source == str(tmp_path / "service-account.json")


def test_the_example_config_without_its_secrets_names_each_missing_one(tmp_path: Path) -> None:
    config_path = Path(shutil.copy(EXAMPLE, tmp_path / "config.yaml"))

    problems = problems_of(config_path, environ={})

    assert problems == [
        "amocrm.token: environment variable AMOCRM_TOKEN is not set",
        f"google.service_account_file: no such file: {tmp_path / 'service-account.json'}",
        "telegram.token: environment variable TELEGRAM_BOT_TOKEN is not set",
    ]


def test_the_config_is_immutable() -> None:
    config = load_config(EXAMPLE, require_secrets=False, environ={})
    with pytest.raises(ValidationError):
        config.timezone = "UTC"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        config.amocrm.fields.contract_no = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        config.google.cabinets[0].methods[0] = Method.CARD  # type: ignore[index]


# --------------------------------------------------------------------------- every problem at once

BROKEN = """\
timezone: Mars/Olympus
loging: {level: INFO}
amocrm:
  base_url: https://example.amocrm.ru
  token: 0123456789abcdefLITERALTOKEN
  pipelines: [abc]
  fields:
    contract_no: номер договора
  payment_slots:
    - {name: Предоплата, amount: 900111, method: 900112}
  methods: {Наличными в кассу: cash, Перевод на карту: card}
  requests_per_second: fast
  colour: blue
google:
  service_account_file: missing-key.json
  spreadsheet_id: master-id
  cabinets:
    - {name: a, spreadsheet_id: s1, methods: [cash, card], users: [100000001, 555]}
    - {name: b, spreadsheet_id: s2, methods: [card]}
telegram:
  token: ${SL_TEST_UNSET_BOT_TOKEN}
  users:
    - {id: 100000001, name: Владелец, roles: [owner, king]}
schedule:
  sync: {cron: "61 * * * *"}
"""

# path -> a piece of what must be said about it; nothing else may be reported.
BROKEN_PROBLEMS = {
    "amocrm.token": "a secret must not be written in the config; use ${ENV_VAR} or token_file",
    "google.service_account_file": "no such file:",
    "telegram.token": "environment variable SL_TEST_UNSET_BOT_TOKEN is not set",
    "google.cabinets.0.users.1": "555 is not in telegram.users",
    "google.cabinets.1.methods.0": "card is already in cabinet 'a'",
    "timezone": "unknown time zone 'Mars/Olympus'",
    "loging": "unknown key",
    "amocrm.pipelines.0": "expected an integer",
    "amocrm.fields.contract_no": "expected an integer field id",
    "amocrm.requests_per_second": "expected a number",
    "amocrm.colour": "unknown key",
    "telegram.users.0.roles.1": "expected one of",
    "expenses": "missing",
    "schedule.sync": "cron minute field '61'",
}


def test_a_broken_config_lists_every_problem_with_its_path(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.yaml", BROKEN)

    problems = problems_of(path)

    by_path = {p.split(": ", 1)[0]: p.split(": ", 1)[1] for p in problems}
    assert sorted(by_path) == sorted(BROKEN_PROBLEMS), problems  # each one, and no other
    for where, said in BROKEN_PROBLEMS.items():
        assert said in by_path[where], (where, by_path[where])
    assert len(problems) == len(BROKEN_PROBLEMS)


def test_the_cli_prints_every_problem_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SL_TEST_UNSET_BOT_TOKEN", raising=False)
    path = write(tmp_path / "bad.yaml", BROKEN)

    code = main(["-c", str(path), "check"])

    out, err = capsys.readouterr()
    assert code == 2
    assert f"{path}: {len(BROKEN_PROBLEMS)} problems" in err
    for where, said in BROKEN_PROBLEMS.items():
        assert f"{where}: " in err and said in err, where
    assert "LITERALTOKEN" not in out + err
    assert "sheetledger check" not in out  # no service was asked before the config was right


def test_a_literal_list_item_error_is_not_doubled_by_a_spurious_empty_list(tmp_path: Path) -> None:
    """pydantic also says "at least 1 item" for ``[abc]``: only the item's error is real."""
    problems = problems_of(write(tmp_path / "c.yaml", BROKEN))
    assert not [p for p in problems if "must not be empty" in p]


def test_an_empty_list_is_still_reported(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(EXAMPLE.read_text(encoding="utf-8").replace("[7000001]", "[]"), "utf-8")
    problems = problems_of(path, environ={})
    assert "amocrm.pipelines: must not be empty" in problems


def test_missing_sections_and_an_empty_file(tmp_path: Path) -> None:
    assert problems_of(write(tmp_path / "a.yaml", "timezone: UTC\n")) == [
        "amocrm: missing",
        "google: missing",
        "telegram: missing",
        "expenses: missing",
    ]
    assert problems_of(write(tmp_path / "b.yaml", "")) == [
        "(top level): expected a mapping of sections"
    ]
    problems = problems_of(write(tmp_path / "c.yaml", "amocrm: 5\ngoogle: [1]\n"))
    assert "amocrm: expected a mapping (key: value lines)" in problems
    assert "google: expected a mapping (key: value lines)" in problems


def test_a_section_with_both_a_secret_and_its_file_is_refused(tmp_path: Path) -> None:
    config = EXAMPLE.read_text(encoding="utf-8").replace(
        "  token: ${AMOCRM_TOKEN}", "  token: ${AMOCRM_TOKEN}\n  token_file: amo-token"
    )
    path = tmp_path / "c.yaml"
    path.write_text(config, encoding="utf-8")
    problems = problems_of(path, {"AMOCRM_TOKEN": AMO_TOKEN, "TELEGRAM_BOT_TOKEN": BOT_TOKEN})
    assert "amocrm.token: give token or token_file, not both" in problems


def test_an_empty_secret_is_a_problem_not_a_crash_later(tmp_path: Path) -> None:
    config_path = Path(shutil.copy(EXAMPLE, tmp_path / "config.yaml"))
    (tmp_path / "service-account.json").write_text("\n", encoding="utf-8")
    problems = problems_of(config_path, {"AMOCRM_TOKEN": "", "TELEGRAM_BOT_TOKEN": BOT_TOKEN})
    assert problems == [
        "amocrm.token: environment variable AMOCRM_TOKEN is empty",
        f"google.service_account_file: the file is empty: {tmp_path / 'service-account.json'}",
    ]


def test_secret_files_are_relative_to_the_config_and_stripped(tmp_path: Path) -> None:
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "amo").write_text(AMO_TOKEN + "\n", encoding="utf-8")
    (tmp_path / "secrets" / "bot").write_text(BOT_TOKEN, encoding="utf-8")
    (tmp_path / "secrets" / "sa.json").write_text(service_account_json(), encoding="utf-8")
    text = (
        EXAMPLE.read_text(encoding="utf-8")
        .replace("token: ${AMOCRM_TOKEN}", "token_file: secrets/amo")
        .replace("token: ${TELEGRAM_BOT_TOKEN}", "token_file: secrets/bot")
        .replace("service-account.json", "secrets/sa.json")
    )
    (tmp_path / "config.yaml").write_text(text, encoding="utf-8")

    config = load_config(tmp_path / "config.yaml", environ={})

    assert config.amocrm.token.reveal() == AMO_TOKEN
    assert config.telegram.token.reveal() == BOT_TOKEN
    assert config.amocrm.token.source == str(tmp_path / "secrets" / "amo")


def test_cabinet_rules_are_checked_even_when_everything_is_fine_otherwise(tmp_path: Path) -> None:
    text = (
        EXAMPLE.read_text(encoding="utf-8")
        .replace(
            "methods: [card, terminal, bank, credit]",
            "methods: [card, terminal, bank, credit, cash]",
        )
        .replace("name: accountant", "name: cashbox")
        .replace("users: [100000002]", "users: [42]")
    )
    path = tmp_path / "c.yaml"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(ConfigError) as caught:
        load_config(path, require_secrets=False, environ={})

    assert caught.value.problems == [
        "google.cabinets.1.name: 'cashbox' is already the name of cabinet 0; "
        "cabinet names must be unique",
        "google.cabinets.1.methods.4: cash is already in cabinet 'cashbox' "
        "(each payment method belongs to one cabinet)",
        "google.cabinets.1.users.0: 42 is not in telegram.users",
    ]


def test_expense_rules_are_listed_with_the_sections_other_problems(tmp_path: Path) -> None:
    text = (
        EXAMPLE.read_text(encoding="utf-8")
        .replace("default_category: Прочее", "default_category: Разное")
        .replace("ceiling: 10000000", "ceiling: -5")
    )
    path = tmp_path / "c.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path, require_secrets=False, environ={})
    assert caught.value.problems == [
        "expenses.default_category: 'Разное' is not one of the categories",
        "expenses.ceiling: must be positive",
    ]


@pytest.mark.parametrize(
    ("cron", "said"),
    [
        ("* * *", "cron needs five fields: minute hour day month weekday (got 3)"),
        ("61 * * * *", "cron minute field '61': '61' is not within 0-59"),
        ("0 24 * * *", "cron hour field '24': '24' is not within 0-23"),
        ("0 3 0 * *", "cron day field '0': '0' is not within 1-31"),
        ("0 3 1 13 *", "cron month field '13': '13' is not within 1-12 or jan-dec"),
        ("0 3 1 smarch *", "cron month field 'smarch': 'smarch' is not within 1-12 or jan-dec"),
        ("0 3 * * funday", "cron weekday field 'funday': 'funday' is not within mon-sun"),
        # APScheduler 3 reads weekday 0 as Monday (crontab: Sunday) and refuses 7
        ("0 3 * * 0", "cron weekday field '0': write day names (mon-fri, sun)"),
        ("0 3 * * 1-5", "cron weekday field '1-5': write day names"),
        ("0 18-9 * * *", "cron hour field '18-9': a range must not run backwards"),
        ("0 9 * * sun-tue", "cron weekday field 'sun-tue': a range must not run backwards"),
        ("0 9 L * *", "cron day field 'L': 'l' is not within 1-31"),
        ("*/0 * * * *", "cron minute field '*/0' is not valid"),
        ("0 9-18/ * * *", "cron hour field '9-18/' is not valid"),
        ("every day", "cron needs five fields"),
    ],
)
def test_a_bad_cron_is_a_config_problem(tmp_path: Path, cron: str, said: str) -> None:
    text = EXAMPLE.read_text(encoding="utf-8").replace(
        "sync: {every_seconds: 60}", f'sync: {{cron: "{cron}"}}'
    )
    path = tmp_path / "c.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path, require_secrets=False, environ={})
    [problem] = caught.value.problems
    assert problem.startswith(f"schedule.sync: {said}")


@pytest.mark.parametrize(
    "cron",
    ["*/5 9-18 * * mon-fri", "0 3 1 JAN *", "30 2 * * sat,sun", "0 0 1-31/2 * *", "0 9 * * sun"],
)
def test_a_good_cron_is_accepted(tmp_path: Path, cron: str) -> None:
    """Each accepted expression is one the daemon's scheduler accepts too."""
    from apscheduler.triggers.cron import CronTrigger

    CronTrigger.from_crontab(cron)
    text = EXAMPLE.read_text(encoding="utf-8").replace(
        "sync: {every_seconds: 60}", f'sync: {{cron: "{cron}"}}'
    )
    path = tmp_path / "c.yaml"
    path.write_text(text, encoding="utf-8")
    assert load_config(path, require_secrets=False, environ={}).schedule.sync.cron == cron


def test_a_schedule_needs_exactly_one_of_seconds_or_cron(tmp_path: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8").replace(
        "sync: {every_seconds: 60}", 'sync: {every_seconds: 60, cron: "* * * * *"}'
    )
    path = tmp_path / "c.yaml"
    path.write_text(text, encoding="utf-8")
    problems = problems_of(path, {"AMOCRM_TOKEN": "x" * 10, "TELEGRAM_BOT_TOKEN": BOT_TOKEN})
    assert "schedule.sync: give exactly one of every_seconds or cron" in problems


# --------------------------------------------------------------------------- invalid YAML


def test_invalid_yaml_is_reported_with_line_and_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(
        tmp_path / "bad.yaml",
        """\
        timezone: Europe/Moscow
        amocrm:
          base_url: https://example.amocrm.ru
          pipelines: [7000001
          token: sk-live-PASTED-SECRET-1234567890
        """,
    )
    [problem] = problems_of(path)
    assert problem.startswith("line 5, column 8: not valid YAML: ")
    assert "PASTED-SECRET" not in problem  # PyYAML's text would quote the line

    assert main(["-c", str(path), "check"]) == 2
    _out, err = capsys.readouterr()
    assert "line 5, column 8: not valid YAML" in err
    assert "PASTED-SECRET" not in err


def test_a_tab_in_the_indentation_is_reported_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("timezone: UTC\namocrm:\n\tbase_url: x\n", encoding="utf-8")
    [problem] = problems_of(path)
    assert problem.startswith("line 3, column 1: not valid YAML: ")
    assert "cannot start any token" in problem


def test_a_missing_config_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-c", str(tmp_path / "nope.yaml"), "check"]) == 2
    _out, err = capsys.readouterr()
    assert "nope.yaml" in err and "cannot read" in err


# --------------------------------------------------------------------------- secrets never print


def test_a_secret_never_prints_itself() -> None:
    secret = Secret(AMO_TOKEN, "$AMOCRM_TOKEN")
    for text in (repr(secret), str(secret), f"{secret}", f"{secret!r}", str([secret])):
        assert AMO_TOKEN not in text
        assert "***" in text and "$AMOCRM_TOKEN" in text
    assert secret.reveal() == AMO_TOKEN
    with pytest.raises(ConfigError) as caught:
        Secret(None, "$NOPE").reveal()
    assert "$NOPE" in str(caught.value)


def test_no_secret_in_the_configs_repr_or_dump(tmp_path: Path) -> None:
    config_path = Path(shutil.copy(EXAMPLE, tmp_path / "config.yaml"))
    (tmp_path / "service-account.json").write_text(service_account_json(), encoding="utf-8")
    config = load_config(
        config_path, environ={"AMOCRM_TOKEN": AMO_TOKEN, "TELEGRAM_BOT_TOKEN": BOT_TOKEN}
    )
    dump = str(config.model_dump())
    shown = " ".join((repr(config), str(config), repr(config.amocrm), repr(config.secrets()), dump))
    for value in (AMO_TOKEN, BOT_TOKEN, KEY_ID, KEY_BODY):
        assert value not in shown


def test_no_secret_in_the_error_text(tmp_path: Path) -> None:
    """Valid secrets next to other problems: the ConfigError names them, never shows them."""
    config_path = tmp_path / "config.yaml"
    config_path.write_text(
        EXAMPLE.read_text(encoding="utf-8").replace("contract_no: 900101", "contract_no: abc"),
        encoding="utf-8",
    )
    (tmp_path / "service-account.json").write_text(service_account_json(), encoding="utf-8")
    env = {"AMOCRM_TOKEN": AMO_TOKEN, "TELEGRAM_BOT_TOKEN": BOT_TOKEN}
    with pytest.raises(ConfigError) as caught:
        load_config(config_path, environ=env)
    text = str(caught.value) + repr(caught.value) + repr(caught.value.__cause__)
    assert caught.value.problems == ["amocrm.fields.contract_no: expected an integer field id"]
    for value in (AMO_TOKEN, BOT_TOKEN, KEY_ID):
        assert value not in text


def test_a_literal_token_in_the_yaml_is_refused_without_being_echoed(tmp_path: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8").replace(
        "token: ${TELEGRAM_BOT_TOKEN}", f"token: {BOT_TOKEN}"
    )
    raw_path = tmp_path / "c.yaml"
    raw_path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(raw_path, require_secrets=False, environ={})
    assert caught.value.problems == [
        "telegram.token: a secret must not be written in the config; "
        "use ${ENV_VAR} or token_file: PATH"
    ]
    assert BOT_TOKEN not in str(caught.value)
    assert "7000000001" not in str(caught.value)


def test_parse_config_does_not_change_the_document_it_is_given() -> None:
    import yaml

    raw = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    before = json.dumps(raw, sort_keys=True, ensure_ascii=False)
    parse_config(raw, require_secrets=False, environ={}, base_dir=ROOT)
    assert json.dumps(raw, sort_keys=True, ensure_ascii=False) == before


# --------------------------------------------------------------------------- hostile configs


def test_both_a_secret_and_its_file_is_said_plainly_and_only_once(tmp_path: Path) -> None:
    (tmp_path / "amo-token").write_text(AMO_TOKEN, encoding="utf-8")
    config = EXAMPLE.read_text(encoding="utf-8").replace(
        "  token: ${AMOCRM_TOKEN}", "  token: ${AMOCRM_TOKEN}\n  token_file: amo-token"
    )
    path = tmp_path / "c.yaml"
    path.write_text(config, encoding="utf-8")
    problems = problems_of(path, {"AMOCRM_TOKEN": AMO_TOKEN, "TELEGRAM_BOT_TOKEN": BOT_TOKEN})
    about_token = [p for p in problems if p.startswith("amocrm.token")]
    assert about_token == ["amocrm.token: give token or token_file, not both"]
    assert not any("Secret" in p for p in problems), problems


def test_a_config_that_is_not_utf8_is_a_clear_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "config.yaml"
    path.write_bytes(EXAMPLE.read_text(encoding="utf-8").encode("cp1251", errors="replace"))
    problems = problems_of(path)
    assert len(problems) == 1
    assert "not UTF-8" in problems[0] and "line" in problems[0]
    assert main(["-c", str(path), "check"]) == 2
    err = capsys.readouterr().err
    assert "not UTF-8" in err and "Traceback" not in err and "UnicodeDecodeError" not in err


def test_a_secret_file_that_is_not_utf8_is_a_clear_problem(tmp_path: Path) -> None:
    config_path = Path(shutil.copy(EXAMPLE, tmp_path / "config.yaml"))
    (tmp_path / "service-account.json").write_bytes(b"\xff\xfe{\x00}\x00")
    problems = problems_of(
        config_path, {"AMOCRM_TOKEN": AMO_TOKEN, "TELEGRAM_BOT_TOKEN": BOT_TOKEN}
    )
    assert problems == [
        f"google.service_account_file: not UTF-8 text: {tmp_path / 'service-account.json'}"
    ]


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ("pipelines: [", "pipelines: [true, ", "amocrm.pipelines.0: expected an integer"),
        (
            "contract_no: ",
            "contract_no: false #",
            "amocrm.fields.contract_no: expected an integer field id",
        ),
        (
            "every_seconds: 60",
            "every_seconds: true",
            "schedule.sync.every_seconds: expected an integer",
        ),
    ],
)
def test_a_boolean_is_not_an_integer(tmp_path: Path, old: str, new: str, problem: str) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    assert old in text
    path = write(tmp_path / "c.yaml", text.replace(old, new, 1))
    assert problem in problems_of(
        path, {"AMOCRM_TOKEN": AMO_TOKEN, "TELEGRAM_BOT_TOKEN": BOT_TOKEN}
    )


def test_a_duplicate_key_is_refused_with_its_path(tmp_path: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8").replace(
        "  token: ${AMOCRM_TOKEN}",
        "  token: ${AMOCRM_TOKEN}\n  timeout_seconds: 20\n  timeout_seconds: 30",
    )
    text += "\ntimezone: Asia/Yekaterinburg\n"
    path = write(tmp_path / "c.yaml", text)
    problems = problems_of(path, {"AMOCRM_TOKEN": AMO_TOKEN, "TELEGRAM_BOT_TOKEN": BOT_TOKEN})
    dupes = [p for p in problems if "given twice" in p]
    assert len(dupes) == 2, problems
    first = text.splitlines().index("  timeout_seconds: 20") + 1
    assert dupes[0] == f"amocrm.timeout_seconds: given twice (lines {first} and {first + 1})"
    assert any(p.startswith("timezone: given twice") for p in dupes)


def test_a_cabinet_without_spreadsheet_id_needs_oauth_user(tmp_path: Path) -> None:
    text = re.sub(r"      spreadsheet_id: 1Cashbox.*\n", "", EXAMPLE.read_text(encoding="utf-8"))
    path = write(tmp_path / "c.yaml", text)
    with pytest.raises(ConfigError) as caught:
        load_config(path, require_secrets=False, environ={})
    assert caught.value.problems == [
        "google.cabinets.0.spreadsheet_id: missing — set it, or set google.oauth_user so "
        "`sheetledger init` creates the spreadsheet"
    ]
    with_user = text.replace(
        "  cabinets:", "  oauth_user:\n    credentials_file: google-user.json\n  cabinets:"
    )
    config = load_config(write(tmp_path / "d.yaml", with_user), require_secrets=False, environ={})
    assert config.google.cabinets[0].spreadsheet_id is None


def test_a_cabinet_email_is_checked(tmp_path: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    good = text.replace("title: Касса\n", "title: Касса\n      email: kassa@gmail.com\n")
    config = load_config(write(tmp_path / "a.yaml", good), require_secrets=False, environ={})
    assert config.google.cabinets[0].email == "kassa@gmail.com"
    bad = good.replace("kassa@gmail.com", "касса")
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path / "b.yaml", bad), require_secrets=False, environ={})
    assert caught.value.problems == [
        "google.cabinets.0.email: 'касса' is not an e-mail address (e.g. olga@gmail.com)"
    ]
