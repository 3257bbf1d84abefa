"""Loading config.toml: the shipped file is valid, and every kind of mistake is named."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from mailbot.config import load_settings
from mailbot.errors import ConfigError
from tests.harness import Workspace

REPO = Path(__file__).resolve().parent.parent
SHIPPED = REPO / "config.toml"


def test_shipped_config_describes_the_forum() -> None:
    settings = load_settings(SHIPPED)
    (event,) = settings.event_infos()
    london = ZoneInfo("Europe/London")
    assert event.starts_at == datetime(2027, 3, 10, 11, 0, tzinfo=london)
    assert event.ends_at == datetime(2027, 3, 10, 15, 45, tzinfo=london)
    assert "Preston" in event.venue and "PR1 2HE" in event.venue
    assert "child sexual exploitation" in event.title
    assert settings.eligibility.domains == ["police.uk"]
    assert event.capacity > 0


def test_shipped_config_holds_no_secrets_and_comments_every_key() -> None:
    text = SHIPPED.read_text()
    assert "password =" not in text.replace("password_env =", "")
    for line in text.splitlines():
        stripped = line.strip()
        if "=" in stripped and not stripped.startswith("#"):
            key = stripped.split("=", 1)[0].strip()
            # A key is commented on its own line or at the end of the line, or above it.
            index = text.splitlines().index(line)
            above = text.splitlines()[index - 1].strip()
            assert "#" in line or above.startswith("#"), f"{key} has no comment"


def test_relative_database_path_is_taken_from_the_config_folder(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(SHIPPED.read_text())
    assert load_settings(config).database_url() == f"sqlite:///{tmp_path / 'mailbot.db'}"


def _variant(tmp_path: Path, old: str, new: str) -> Path:
    text = SHIPPED.read_text()
    assert old in text, old
    path = tmp_path / "config.toml"
    path.write_text(text.replace(old, new, 1))
    return path


@pytest.mark.parametrize(
    ("old", "new", "key", "problem"),
    [
        ("port = 993", 'port = "993"', "mailbox.port", "integer"),
        ("capacity = 60", "capacity = -1", "events[1].capacity", "greater than or equal to 0"),
        ("capacity = 60", "capacty = 60", "events[1].capacty", "not a known key"),
        ('address = "bookings@example.ac.uk"', "", "mailbox.address", "required but missing"),
        (
            'timezone = "Europe/London"',
            'timezone = "Europe/Londn"',
            "schedule.timezone",
            "time zone",
        ),
        ('digest_at = "08:00"', 'digest_at = "8 o\'clock"', "schedule.digest_at", "time of day"),
        ('reminders = ["7d", "1d"]', 'reminders = ["7 days"]', "schedule.reminders", "offset"),
        (
            'security = "starttls"',
            'security = "ssl"',
            "smtp.security",
            "'none', 'starttls' or 'tls'",
        ),
        ("tls = true ", "tls = false ", "mailbox", "loopback"),
        (
            "ends_at = 2027-03-10T15:45:00",
            "ends_at = 2027-03-10T10:45:00",
            "events[1]",
            "ends_at must be after starts_at",
        ),
        ("[eligibility]", "[eligibilty]", "eligibilty", "not a known key"),
        # `$` matches before a final newline; the organiser could never type this slug.
        (
            'slug = "cse-forum-preston"',
            'slug = "cse-forum-preston\\n"',
            "events[1].slug",
            "lower-case letters",
        ),
    ],
)
def test_invalid_config_names_file_key_and_problem(
    tmp_path: Path, old: str, new: str, key: str, problem: str
) -> None:
    path = _variant(tmp_path, old, new)
    with pytest.raises(ConfigError) as raised:
        load_settings(path)
    assert raised.value.source == path
    assert raised.value.key == key
    assert problem in raised.value.problem


@pytest.mark.parametrize(
    "offset",
    [
        "0d",  # falls due at the start, when no reminder is sent
        "0m",
        "\\u0667d",  # an Arabic-Indic seven: a digit to `\\d`, not to the reminder job
        "7d\\n",  # `$` matches before a final newline
        "99999999999d",  # more days than a timedelta holds
        "999999d",  # a timedelta, but the reminder job cannot take it from the event's start
    ],
)
def test_a_reminder_offset_the_reminder_job_cannot_use_is_a_config_error(
    tmp_path: Path, offset: str
) -> None:
    path = _variant(tmp_path, 'reminders = ["7d", "1d"]', f'reminders = ["7d", "{offset}"]')
    with pytest.raises(ConfigError) as raised:
        load_settings(path)
    assert raised.value.source == path
    assert raised.value.key == "schedule.reminders"
    assert "reminder offset" in raised.value.problem


@pytest.mark.integration  # runs mailbot as a process
def test_check_refuses_a_zero_reminder_offset_with_exit_2(tmp_path: Path) -> None:
    # A workspace whose inbox and outbox are local folders, so that only the offset is wrong.
    path = Workspace(tmp_path).config
    path.write_text(path.read_text() + '\n[schedule]\nreminders = ["0d"]\n')
    result = subprocess.run(
        [sys.executable, "-m", "mailbot", "check", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    message = result.stderr.strip()
    assert str(path) in message and "schedule.reminders" in message and "'0d'" in message


def test_toml_syntax_error_gives_line(tmp_path: Path) -> None:
    path = _variant(tmp_path, "capacity = 60", "capacity = = 60")
    with pytest.raises(ConfigError, match=r"not valid TOML.*line \d+"):
        load_settings(path)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml")


def test_missing_password_env_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MAILBOT_IMAP_PASSWORD", raising=False)
    settings = load_settings(SHIPPED)
    with pytest.raises(ConfigError) as raised:
        settings.mailbox.secret("mailbox", settings.source)
    assert raised.value.key == "mailbox.password_env"
    assert "MAILBOT_IMAP_PASSWORD is not set" in raised.value.problem


@pytest.mark.integration  # runs mailbot as a process
def test_cli_exits_2_with_one_line_naming_file_key_problem(tmp_path: Path) -> None:
    path = _variant(tmp_path, "capacity = 60", 'capacity = "lots"')
    result = subprocess.run(
        [sys.executable, "-m", "mailbot", "bookings", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    message = result.stderr.strip()
    assert str(path) in message and "events[1].capacity" in message and "integer" in message
