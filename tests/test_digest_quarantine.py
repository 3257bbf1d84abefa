"""Mail set aside for a human, through the real pipeline into the organiser's digest: each
item says who sent it (or what its From line reads), its subject and date, and the folder
to find it in."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

from mailbot.outbound.render import make_environment
from mailbot.pipeline.tasks import send_digest
from mailbot.store.database import connect
from mailbot.store.store import Store
from tests.harness import Workspace
from tests.realmail import officer_request

ORGANISER = "organiser@example.ac.uk"
DIGEST_TIME = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)  # GMT: times show as written

TWO_SENDERS = (
    b"From: Kit Lowry <kit.lowry@example.police.uk>, Ann Lee <ann.lee@example.police.uk>\r\n"
    b"To: bookings@example.ac.uk\r\n"
    b"Subject: Places for my team\r\n"
    b"Date: Tue, 24 Nov 2026 18:02:00 +0000\r\n"
    b"Message-ID: <two-senders@example.police.uk>\r\n"
    b"Content-Type: text/plain\r\n"
    b"\r\n"
    b"Please book us both.\r\n"
)


def digest_of(ws: Workspace) -> tuple[str, str]:
    with ws.bot(clock=lambda: DIGEST_TIME) as bot:
        assert send_digest(bot.scheduled(), ORGANISER).sent
    (digest,) = [r for r in ws.new_replies() if r.to == ORGANISER]
    text = digest.message.get_body(("plain",))
    html = digest.message.get_body(("html",))
    assert isinstance(text, EmailMessage) and isinstance(html, EmailMessage)
    plain = str(text.get_content()).replace("\r\n", "\n")
    return plain, " ".join(str(html.get_content()).split())


def test_unreadable_mail_in_the_digest_says_what_it_was_and_where_it_is(
    tmp_path: Path,
) -> None:
    ws = Workspace(tmp_path)
    ws.deliver(TWO_SENDERS)
    assert ws.poll().results["set aside"] == 1
    assert ws.new_replies() == []

    text, html = digest_of(ws)

    folder = tmp_path / "inbox" / ".Quarantine"
    assert ws.folder_count("Quarantine") == 1 and any(folder.glob("*/*"))
    assert "Messages set aside without a reply (1)" in text
    assert (
        '- From an unreadable sender (the From line reads "Kit Lowry '
        '<kit.lowry@example.police.uk>, Ann Lee <ann.lee@example.police.uk>"), received '
        "Wednesday 25 November, 09:30"
    ) in text
    assert "  Subject: Places for my team\n" in text
    assert "  Sent: Tuesday 24 November, 18:02\n" in text
    assert "  Why: the From header does not name exactly one mailbox\n" in text
    assert f"They are in the folder {folder}." in text
    for words in ("Subject: Places for my team", "Sent: Tuesday 24 November, 18:02"):
        assert words in html
    assert f"They are in the folder {folder}." in html


def test_mail_that_kept_crashing_is_listed_with_its_sender_and_subject(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(Path(__file__).parent.parent / "templates", templates)
    confirmed = templates / "confirmed.txt.j2"
    confirmed.write_text("{{ booking.no_such_field }}" + confirmed.read_text())
    ws = Workspace(tmp_path / "ws")
    ws.deliver(officer_request(3))
    for _ in range(ws.settings.mailbox.max_failures):
        with ws.bot() as bot:
            bot.templates = make_environment(templates)
            bot.poll()
    (set_aside,) = [
        row
        for row in Store(connect(ws.settings.database_url())).ledger()
        if row.disposition == "set-aside"
    ]
    assert set_aside.sender_email == "officer3@lancashire.police.uk"

    text, _ = digest_of(ws)

    assert "- From officer3@lancashire.police.uk, received Wednesday 25 November, 09:30" in text
    assert "  Subject: Booking request 3\n" in text
    assert "  Why: failed 3 times, last: UndefinedError" in text
    assert "unreadable sender" not in text


def test_a_date_without_a_zone_and_a_from_line_without_an_address(tmp_path: Path) -> None:
    # "-0000" is a time in UTC whose sender's zone is unknown (RFC 5322): the parser gives
    # it back without a zone, and the ledger keeps only times with one.
    ws = Workspace(tmp_path)
    ws.deliver(
        b"From: Kit Lowry\r\n"
        b"To: bookings@example.ac.uk\r\n"
        b"Subject: Forum\r\n"
        b"Date: Tue, 24 Nov 2026 18:02:00 -0000\r\n"
        b"Message-ID: <no-address@example.police.uk>\r\n"
        b"\r\n"
        b"Can I come?\r\n"
    )
    assert ws.poll().results["set aside"] == 1

    text, _ = digest_of(ws)

    assert '- From an unreadable sender (the From line reads "Kit Lowry"), received' in text
    assert "  Subject: Forum\n  Sent: Tuesday 24 November, 18:02\n" in text
    assert "  Why: the From address is incomplete\n" in text
