"""`mailbot check` judges the configuration: settings that cannot work are errors (exit 2,
naming the file and the key), settings that probably are not meant are warnings (exit 0,
"warning: FILE: KEY: ..."), and the service logs the same warnings once when it starts."""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mailbot.config import load_settings
from mailbot.config_warnings import ConfigWarning, config_warnings
from mailbot.errors import OperationalError
from mailbot.store.database import connect
from mailbot.store.store import Store
from tests.harness import FIXED_NOW, Workspace
from tests.processes import MAILBOT, run_mailbot, stop_service, wait_until

SHIPPED = Path(__file__).resolve().parent.parent / "config.toml"
_WARNING = re.compile(r"^warning: (?P<file>.+?): (?P<key>[^: ]+): (?P<text>.+)$")

# The harness's workspace reads a local Maildir with require_authentication on, so its own
# settings draw one warning: hand-written trial mail carries no trusted header.
TRIAL = "mailbox.maildir"
TRUSTED_IDS = 'trusted_authserv_ids = ["mx.example.ac.uk"]'
REQUIRE = "require_authentication = true"


def _workspace(tmp_path: Path, edits: tuple[tuple[str, str], ...]) -> Path:
    """A Maildir workspace's config (every edge reachable) with `edits` made to it."""
    config = Workspace(tmp_path).config
    text = config.read_text()
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    config.write_text(text)
    return config


def _with(section: str, lines: str) -> tuple[str, str]:
    """An edit adding a section the harness's config does not have."""
    return ("[[events]]", f"[{section}]\n{lines}\n\n[[events]]")


ERRORS = [
    pytest.param(
        (('maildir = "inbox"\n', 'maildir = "inbox"\nprocessed_folder = "inbox"\n'),),
        "mailbox.processed_folder",
        "the folder mailbot reads",
        id="filing-into-the-inbox",
    ),
    pytest.param(
        (('maildir = "inbox"\n', 'maildir = "inbox"\nquarantine_folder = "INBOX"\n'),),
        "mailbox.quarantine_folder",
        "the folder mailbot reads",
        id="setting-aside-into-the-inbox",
    ),
    pytest.param(
        (('domains = ["police.uk"]', 'domains = ["@police.uk"]'),),
        "eligibility.domains",
        "without",
        id="domain-with-at",
    ),
    pytest.param(
        (('domains = ["police.uk"]', 'domains = ["police .uk"]'),),
        "eligibility.domains",
        "not a domain",
        id="domain-with-space",
    ),
    pytest.param(
        (('domains = ["police.uk"]', 'domains = ["police..uk"]'),),
        "eligibility.domains",
        "not a domain",
        id="domain-with-empty-label",
    ),
    pytest.param(
        (('domains = ["police.uk"]', 'domains = ["police"]'),),
        "eligibility.domains",
        "not a domain",
        id="domain-of-one-label",
    ),
    pytest.param(
        (('domains = ["police.uk"]', 'domains = ["police.uk", "https://police.uk/"]'),),
        "eligibility.domains",
        "not a domain",
        id="domain-as-a-web-address",
    ),
    pytest.param(
        (_with("schedule", 'reminders = ["0d"]'),), "schedule.reminders", "'0d'", id="reminder-0d"
    ),
    pytest.param(
        (_with("schedule", 'reminders = ["-1d"]'),),
        "schedule.reminders",
        "'-1d'",
        id="reminder-negative",
    ),
    pytest.param(
        (_with("schedule", 'reminders = ["a week"]'),),
        "schedule.reminders",
        "offset",
        id="reminder-unparseable",
    ),
    pytest.param(
        (_with("booking", 'reconfirm = "0d"'),), "booking.reconfirm", "'0d'", id="reconfirm-0d"
    ),
    pytest.param(
        (_with("booking", 'reconfirm = "-5d"'),),
        "booking.reconfirm",
        "'-5d'",
        id="reconfirm-negative",
    ),
    pytest.param(
        (_with("booking", 'reconfirm = "5 days"'),),
        "booking.reconfirm",
        "offset",
        id="reconfirm-unparseable",
    ),
    pytest.param(
        (_with("booking", "reconfirm_hours = 0"),),
        "booking.reconfirm_hours",
        "greater than",
        id="reconfirm-hours-0",
    ),
    pytest.param(
        (_with("booking", "reconfirm_hours = 100000000"),),
        "booking.reconfirm_hours",
        "less than",
        id="reconfirm-hours-past-the-calendar",
    ),
    pytest.param(
        (_with("booking", "waitlist_offer_hours = 100000000"),),
        "booking.waitlist_offer_hours",
        "less than",
        id="offer-hours-past-the-calendar",
    ),
    pytest.param(
        (_with("retention", "days = 100000000"),),
        "retention.days",
        "at most",
        id="retention-past-the-calendar",
    ),
    pytest.param(
        (("capacity = 2", "capacity = 3000000000"),),
        "events[1].capacity",
        "less than",
        id="capacity-beyond-the-database",
    ),
    pytest.param(
        (
            ("starts_at = 2099-03-10T11:00:00", "starts_at = 0001-03-10T11:00:00"),
            ("ends_at = 2099-03-10T15:45:00", "ends_at = 0001-03-10T15:45:00"),
        ),
        "events[1].starts_at",
        "years",
        id="event-in-year-1",
    ),
    pytest.param(
        (("ends_at = 2099-03-10T15:45:00", "ends_at = 9999-12-31T23:00:00"),),
        "events[1].ends_at",
        "years",
        id="event-ending-in-year-9999",
    ),
    pytest.param(
        (("capacity = 2", "capacity = 2\nopens_at = 2099-03-11T09:00:00"),),
        "events[1]",
        "opens_at",
        id="bookings-open-after-the-start",
    ),
    pytest.param(
        (("starts_at = 2099-03-10T11:00:00", "starts_at = 2099-03-10T11:00:00Z"),),
        "events[1]",
        "local times",
        id="local-and-offset-times-mixed",
    ),
    pytest.param(
        (('email = "organiser@example.ac.uk"', 'email = "bookings@example.ac.uk"'),),
        "organiser.email",
        "booking address",
        id="organiser-is-the-booking-address",
    ),
    pytest.param(
        (('maildir = "inbox"', 'maildir = "inbox"\ntimeout_seconds = inf'),),
        "mailbox.timeout_seconds",
        "less than",
        id="timeout-infinite",
    ),
]


@pytest.mark.integration  # runs mailbot as a process
@pytest.mark.parametrize(("edits", "key", "problem"), ERRORS)
def test_check_refuses_a_setting_that_cannot_work(
    tmp_path: Path, edits: tuple[tuple[str, str], ...], key: str, problem: str
) -> None:
    config = _workspace(tmp_path, edits)
    result = run_mailbot("check", "--config", str(config))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"mailbot: {config}: {key}: "), line
    assert problem in line.removeprefix(f"mailbot: {config}: {key}: "), line


WARNINGS = [
    # The baseline: mail in a local folder needs a header a person writing it would not add.
    pytest.param((), {TRIAL}, id="maildir-trial-with-authentication"),
    pytest.param(((REQUIRE, "require_authentication = false"),), set(), id="a-trial-as-advised"),
    pytest.param(
        (
            ("starts_at = 2099-03-10T11:00:00", "starts_at = 2027-03-10T11:00:00"),
            ("ends_at = 2099-03-10T15:45:00", "ends_at = 2027-03-10T15:45:00"),
        ),
        {TRIAL, "events[1].starts_at"},
        id="placeholder-date",
    ),
    pytest.param(
        (
            ("starts_at = 2099-03-10T11:00:00", "starts_at = 2021-03-10T11:00:00"),
            ("ends_at = 2099-03-10T15:45:00", "ends_at = 2021-03-10T15:45:00"),
        ),
        {TRIAL, "events[1].ends_at"},
        id="event-over",
    ),
    pytest.param(
        (("capacity = 2", "capacity = 0"),), {TRIAL, "events[1].capacity"}, id="capacity-0"
    ),
    pytest.param(
        ((TRUSTED_IDS, "trusted_authserv_ids = []"),),
        {"security.trusted_authserv_ids", "organiser.email"},
        id="no-trusted-authserv-id",
    ),
    pytest.param(
        (_with("booking", 'reconfirm = "1d"\nreconfirm_hours = 48'),),
        {TRIAL, "booking.reconfirm_hours"},
        id="reconfirm-hours-outlast-the-notice",
    ),
]


@pytest.mark.integration  # runs mailbot as a process
@pytest.mark.parametrize(("edits", "keys"), WARNINGS)
def test_check_warns_of_a_setting_that_is_probably_not_meant(
    tmp_path: Path, edits: tuple[tuple[str, str], ...], keys: set[str]
) -> None:
    config = _workspace(tmp_path, edits)
    result = run_mailbot("check", "--config", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    warnings = [_WARNING.match(line) for line in result.stderr.splitlines()]
    assert all(warnings), result.stderr
    assert {w["key"] for w in warnings if w} == keys, result.stderr
    assert all(w["file"] == str(config) for w in warnings if w)
    assert len(warnings) == len(keys), "one line per warning"
    # The edges are still checked and reported as before.
    assert [line.split()[0] for line in result.stdout.splitlines()] == ["ok"] * 4


def _keys(warnings: tuple[ConfigWarning, ...]) -> list[str]:
    return [w.key for w in warnings]


def test_the_shipped_config_is_warned_of_its_placeholder_date() -> None:
    settings = load_settings(SHIPPED)
    warnings = config_warnings(settings, FIXED_NOW)
    assert _keys(warnings) == ["events[1].starts_at"]
    assert "placeholder" in warnings[0].problem


def test_an_event_is_over_from_its_end_and_told_when_its_people_are_erased(
    tmp_path: Path,
) -> None:
    settings = Workspace(tmp_path).settings
    (event,) = settings.event_infos()
    at_the_end = config_warnings(settings, event.ends_at)
    assert "events[1].ends_at" in _keys(at_the_end)
    assert "events[1].ends_at" not in _keys(config_warnings(settings, event.starts_at))
    (over,) = [w for w in at_the_end if w.key == "events[1].ends_at"]
    assert "2099-03-10" in over.problem and "2099-06-08" in over.problem  # 90 days later


def test_warnings_point_to_the_trust_page_that_exists(tmp_path: Path) -> None:
    config = _workspace(tmp_path, ((TRUSTED_IDS, "trusted_authserv_ids = []"),))
    pages = {
        match
        for w in config_warnings(load_settings(config), FIXED_NOW)
        for match in re.findall(r"docs/[\w-]+\.md", w.problem)
    }
    assert pages == {"docs/organiser-trust.md"}
    assert all((SHIPPED.parent / page).is_file() for page in pages)


@pytest.mark.integration
@pytest.mark.parametrize("mode", [(), ("--no-schedule",)], ids=["with jobs", "poll only"])
def test_the_service_logs_each_warning_once_when_it_starts(
    tmp_path: Path, mode: tuple[str, ...]
) -> None:
    config = _workspace(tmp_path, (("capacity = 2", "capacity = 0"),))
    settings = load_settings(config)
    expected = config_warnings(settings, datetime.now(UTC))
    assert {w.key for w in expected} == {TRIAL, "events[1].capacity"}
    service = subprocess.Popen(
        [*MAILBOT, "run", "--config", str(config), *mode],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    store = Store(connect(settings.database_url()))
    try:
        polled = wait_until(lambda: "poll" in _job_runs(store))
    finally:
        code, err = stop_service(service)
    assert polled and code == 0, err[-3000:]
    for warning in expected:
        line = f"{settings.source}: {warning.key}: {warning.problem}"
        assert err.count(line) == 1, f"{line!r} in:\n{err[-3000:]}"


def _job_runs(store: Store) -> set[str]:
    try:
        return set(store.job_runs())
    except OperationalError:  # the service has not made the database yet
        return set()
