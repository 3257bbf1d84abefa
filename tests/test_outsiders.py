"""Mail from outside the eligible domains: a refusal only to someone asking about a place;
anything else is recorded for the organiser's digest and never answered."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mailbot.pipeline.tasks import send_digest
from mailbot.store.database import connect
from mailbot.store.store import Store
from tests.harness import Workspace, compose
from tests.processes import run_mailbot as run

# A help desk's system writes like this: a person-like From, none of the automated-mail
# headers, no report structure. Answering it would be backscatter to a machine.
SYSTEM_NOTICE = (
    "Service Desk <servicedesk@university.example>",
    "[Ticket 4411] updated",
    "Your request has been updated by the service desk.\nStatus: in progress.\n",
)


def ledger(ws: Workspace) -> dict[str, tuple[str, str]]:
    rows = Store(connect(ws.settings.database_url())).ledger()
    return {row.sender_email or "?": (row.disposition, row.reason) for row in rows}


@pytest.mark.parametrize(
    ("sender", "subject", "body"),
    [
        pytest.param(*SYSTEM_NOTICE, id="help-desk-system"),
        pytest.param(
            "Ops Team <ops@hosting.example>",
            "Scheduled maintenance",
            "Your mailbox will be unavailable on Sunday between 02:00 and 04:00.\n",
            id="provider-notice",
        ),
        pytest.param(
            "Sam Reporter <sam.reporter@gmail.example.com>",
            "Press enquiry",
            "Who is speaking at the forum? Could you send me the programme?\n",
            id="question-from-outside",
        ),
    ],
)
def test_mail_from_outside_that_is_not_about_a_place_is_not_answered(
    tmp_path: Path, sender: str, subject: str, body: str
) -> None:
    ws = Workspace(tmp_path)
    ws.deliver(compose(sender, body, subject=subject, message_id="<outside-1@example.com>"))

    summary = ws.poll()

    assert ws.all_replies() == []
    assert summary.results["not answered"] == 1
    (disposition, reason) = next(iter(ledger(ws).values()))
    assert disposition == "not-answered"
    assert subject in reason, "the digest names the mail by its subject"
    assert ws.folder_count("Processed") == 1


def test_someone_outside_asking_for_a_place_is_still_told_why_not(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    ws.deliver(
        compose(
            "Alex Morgan <alex.morgan@gmail.example.com>",
            "Hello, could I book a place at the forum please?\n\nAlex\n",
            subject="Forum",
            message_id="<outside-2@example.com>",
        ),
        compose(
            "Alex Moss <alex.moss@gmail.example.com>",
            "I am a detective and would like to attend.\n",
            subject="Booking request",
            message_id="<outside-3@example.com>",
        ),
    )

    ws.poll()

    assert sorted((r.to, r.outcome) for r in ws.all_replies()) == [
        ("alex.morgan@gmail.example.com", "declined"),
        ("alex.moss@gmail.example.com", "declined"),
    ]


def test_an_officer_writing_vaguely_is_still_answered(tmp_path: Path) -> None:
    """The rule is for outsiders: an eligible sender's unclear mail is a booking request."""
    ws = Workspace(tmp_path)
    ws.deliver(
        compose(
            "DC 4471 Ann Lee <ann.lee@met.police.uk>",
            "Forum on 10 March.\n\nDC 4471 Ann Lee\nMetropolitan Police Service\n",
            subject="Forum",
            message_id="<officer-1@met.police.uk>",
        )
    )
    ws.poll()
    assert [r.outcome for r in ws.all_replies()] == ["confirmed"]


@pytest.mark.integration
def test_the_digest_lists_unanswered_mail_from_outside(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    sender, subject, body = SYSTEM_NOTICE
    ws.deliver(compose(sender, body, subject=subject, message_id="<outside-4@example.com>"))
    ws.poll()

    digest = run("digest", "--dry-run", "--config", str(ws.config))

    assert digest.returncode == 0, digest.stderr
    assert "1 message from outside" in digest.stdout  # the subject line
    assert "Mail from outside the eligible domains, not about a place (1)" in digest.stdout
    assert "From servicedesk@university.example" in digest.stdout
    assert "[Ticket 4411] updated" in digest.stdout


def test_control_characters_in_a_subject_reach_neither_the_ledger_nor_the_digest(
    tmp_path: Path,
) -> None:
    # An encoded word can carry any character: here a NUL and the terminal's "clear screen".
    # The subject is shown to the organiser (the digest, `mailbot digest` on a terminal) and
    # stored (PostgreSQL refuses NUL in text), so it is kept to one line of printable text.
    ws = Workspace(tmp_path)
    ws.deliver(
        b"From: Sam <sam@example.com>\r\n"
        b"To: bookings@example.ac.uk\r\n"
        b"Subject: =?utf-8?q?Your_invoice=00=1B[2J_is_ready?=\r\n"
        b"Message-ID: <invoice-1@example.com>\r\n"
        b"Content-Type: text/plain\r\n"
        b"\r\n"
        b"See attached.\r\n"
    )
    ws.poll()
    _disposition, reason = ledger(ws)["sam@example.com"]
    assert reason.endswith(": Your invoice [2J is ready")
    with ws.bot() as bot:
        digest = send_digest(bot.scheduled(), "organiser@example.ac.uk", dry_run=True)
    assert "Your invoice [2J is ready" in digest.text
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f]", digest.text)
