"""Machines with the less common marks (lists, abuse reports, SMS gateways): never answered.

The fixtures in tests/mail/robots/ imitate what list managers, mailbox providers and carriers'
gateways write, and each carries a passing trusted Authentication-Results header, so that only
recognising the machine can keep mailbot from answering it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mailbot.domain import Automated, InboundMail, Intent, RawMessage, Request
from mailbot.inbound.classify import OwnIdentity, classify
from mailbot.inbound.classify.automated import automated_reason
from mailbot.inbound.classify.trust import authenticity
from mailbot.inbound.parse import parse
from tests.corpora import ledger_by_file, run_corpus
from tests.harness import MAIL_DIR, Workspace, compose

ROBOTS = MAIL_DIR / "robots"
OWN = OwnIdentity(
    addresses=frozenset({"bookings@example.ac.uk"}), message_id_domain="example.ac.uk"
)
TRUSTED = ("mx.example.ac.uk",)
OFFICER = "DC Ann Lee <ann.lee@met.police.uk>"
PASS = (
    "Authentication-Results: mx.example.ac.uk; dkim=pass header.d=met.police.uk; "
    "dmarc=pass header.from=met.police.uk\r\n"
)


def robot_fixtures() -> list[Path]:
    files = sorted(ROBOTS.glob("*.eml"))
    assert files, f"no fixtures in {ROBOTS}"
    return files


def mail(
    headers: str = "",
    body: str = "Please book me a place.\r\n",
    *,
    sender: str = OFFICER,
    subject: str = "Booking",
) -> InboundMail:
    data = (
        f"{PASS}From: {sender}\r\nTo: bookings@example.ac.uk\r\nSubject: {subject}\r\n"
        f"Date: Tue, 24 Nov 2026 10:00:00 +0000\r\nMessage-ID: <m1@met.police.uk>\r\n"
        f"MIME-Version: 1.0\r\n{headers}\r\n{body}"
    )
    return parse(RawMessage("test:1", data.encode()))


@pytest.mark.parametrize("path", robot_fixtures(), ids=lambda p: p.name)
def test_each_fixture_passes_authentication(path: Path) -> None:
    """Otherwise authentication, not recognition, could be what keeps a fixture unanswered."""
    message = parse(RawMessage(path.name, path.read_bytes()))
    assert message.sender is not None and message.sender_problem is None
    assert authenticity(message, TRUSTED).verified


def test_no_robot_is_answered(tmp_path: Path) -> None:
    paths = robot_fixtures()
    ws = Workspace(tmp_path, capacity=100)
    by_key, problems = run_corpus(ws, paths)
    problems += [f"replied ({reply.outcome}) to {reply.to}" for reply in ws.all_replies()]
    ledger = ledger_by_file(ws, by_key)
    for path in paths:
        row = ledger.get(path.name)
        if row is None:
            problems.append(f"{path.name}: no ledger row")
        elif row.disposition not in ("ignored", "set-aside"):
            problems.append(f"{path.name}: {row.disposition} ({row.reason})")
    assert not problems, "\n".join(problems)


ARF_MIXED = (
    'Content-Type: multipart/mixed; boundary="b"\r\n',
    "--b\r\nContent-Type: text/plain\r\n\r\n"
    "This is an email abuse report for an email message received from IP 192.0.2.10\r\n"
    "--b\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\nVersion: 1\r\n"
    "--b--\r\n",
)


def case(
    name: str,
    reason: str,
    headers: str = "",
    body: str | None = None,
    *,
    sender: str | None = None,
    subject: str | None = None,
) -> object:
    return pytest.param(headers, body, sender, subject, reason, id=name)


LIST_HEADERS = ("List-Help", "List-Subscribe", "List-Unsubscribe", "List-Post", "List-Owner")


@pytest.mark.parametrize(
    ("headers", "body", "sender", "subject", "reason"),
    [
        *(
            case(
                name, f"mailing list ({name.lower()})", f"{name}: <mailto:x@lists.example.org>\r\n"
            )
            for name in LIST_HEADERS
        ),
        case("List-Archive", "(list-archive)", "List-Archive: <https://lists.example.org/a/>\r\n"),
        case("List-Id", "(list-id)", "List-Id: Police news <news.lists.example.org>\r\n"),
        case(
            "ezmlm",
            "mailing list (mailing-list)",
            "Mailing-List: contact x-help@lists.example.org; run by ezmlm\r\n",
        ),
        case("X-Mailman-Version", "(x-mailman-version)", "X-Mailman-Version: 2.1.39\r\n"),
        case("X-Mailman-Rule-Hits", "(x-mailman-rule-hits)", "X-Mailman-Rule-Hits: nonmember\r\n"),
        case("X-BeenThere", "mailing list (x-beenthere)", "X-BeenThere: x@lists.example.org\r\n"),
        case("X-ML-Name", "mailing list (x-ml-name)", "X-ML-Name: forensic-ml\r\n"),
        case("X-ML-Count", "mailing list (x-ml-count)", "X-ML-Count: 00412\r\n"),
        case("X-MLServer", "mailing list (x-mlserver)", "X-MLServer: fml [fml 8.0]\r\n"),
        case(
            "arf",
            "abuse feedback report",
            'Content-Type: multipart/report; report-type=feedback-report; boundary="b"\r\n',
        ),
        case(
            "arf-quoted-report-type",
            "abuse feedback report",
            'Content-Type: multipart/report; boundary="b";\r\n\treport-type="feedback-report"\r\n',
        ),
        case(
            "feedback-report-alone",
            "abuse feedback report",
            "Content-Type: message/feedback-report\r\n",
        ),
        case(
            "arf-as-mixed",
            "abuse feedback report",
            *ARF_MIXED,
            subject="FW: Your place is confirmed",
        ),
        case("jmrp", "abuse feedback report", subject="complaint about message from 192.0.2.10"),
        case(
            "jmrp-ipv6",
            "abuse feedback report",
            subject="complaint about message from 2001:db8::25",
        ),
        case("aol-arf", "abuse feedback report", subject="Email Feedback Report for IP 192.0.2.10"),
        case("aol-old", "abuse feedback report", subject="Client TOS Notification"),
        case("scomp", "abuse feedback report (sent by scomp)", sender="scomp@aol.example.net"),
        case(
            "delivery-status-alone",
            "delivery status notice (message/delivery-status)",
            "Content-Type: message/delivery-status\r\n",
            "Reporting-MTA: dns; gw.example.com\r\n\r\n"
            "Final-Recipient: rfc822; 447700900789@sms.example.com\r\nAction: failed\r\n",
        ),
        case(
            "arf-as-mixed-without-the-usual-words",
            "abuse feedback report",
            'Content-Type: multipart/mixed; boundary="b"\r\n',
            "--b\r\nContent-Type: text/plain\r\n\r\nA complaint was received.\r\n"
            "--b\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\n"
            "--b--\r\n",
            subject="FW: Your place is confirmed",
        ),
        case(
            "delivery-status-inside-mixed",
            "delivery status notice (message/delivery-status)",
            'Content-Type: multipart/mixed; boundary="b"\r\n',
            "--b\r\nContent-Type: text/plain\r\n\r\nSee below.\r\n"
            "--b\r\nContent-Type: message/delivery-status\r\n\r\n"
            "Reporting-MTA: dns; gw.example.com\r\n\r\nAction: failed\r\n"
            "--b--\r\n",
            subject="Re: Your place is confirmed",
        ),
        case("message-not-delivered", "auto-reply subject", subject="Message not delivered"),
        case("sms-not-delivered", "auto-reply subject", subject="SMS not delivered"),
        case("delivery-failure", "auto-reply subject", subject="Delivery failure: 447700900123"),
        case(
            "sms-gateway",
            "delivery failure notice (text-message gateway)",
            body="Your message could not be delivered to the mobile phone 07700 900456.\r\n",
            subject="Re: Your place is confirmed",
        ),
        case(
            "sms-gateway-handset",
            "text-message gateway",
            body="Message to 447700900123 cannot be delivered to the handset: barred.\r\n",
        ),
    ],
)
def test_machine_mail_is_recognised(
    headers: str, body: str | None, sender: str | None, subject: str | None, reason: str
) -> None:
    message = mail(
        headers,
        body if body is not None else "Please book me a place.\r\n",
        sender=sender or OFFICER,
        subject=subject or "Booking",
    )
    found = automated_reason(message, OWN)
    assert found is not None and reason in found
    assert isinstance(classify(message, OWN, TRUSTED), Automated)


OUTLOOK = (
    "Thread-Topic: Booking - CSE forum\r\n"
    "Thread-Index: AdtBq3xkP1c9mN2vQ8K7sZxY0aB1cQ==\r\n"
    "Accept-Language: en-GB, en-US\r\n"
    "Content-Language: en-GB\r\n"
    "X-MS-Has-Attach:\r\n"
    "X-MS-TNEF-Correlator:\r\n"
    "X-Auto-Response-Suppress: All\r\n"
    "X-MS-Exchange-Organization-AuthAs: Internal\r\n"
    "X-MS-Office365-Filtering-Correlation-Id: 5d1b8f0e-7a3c-4e21-9b6d-2f8c0a4e1d77\r\n"
    "X-Mailer: Microsoft Outlook 16.0\r\n"
)
FORWARD_AS_ATTACHMENT = (
    'Content-Type: multipart/mixed; boundary="fw"\r\n',
    "--fw\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    "Please book me a place at this; the invitation from the list is attached.\r\n\r\n"
    "--fw\r\nContent-Type: message/rfc822\r\nContent-Disposition: attachment\r\n\r\n"
    "From: Police News <news@lists.example.org>\r\nSubject: Forum in Preston\r\n"
    "List-Id: <police-news.lists.example.org>\r\nList-Unsubscribe: <mailto:x@example.org>\r\n"
    "Precedence: list\r\nX-Mailman-Version: 2.1.39\r\n\r\n"
    "This is an email abuse report for nobody: the list's own words, not ours.\r\n"
    "--fw--\r\n",
)


@pytest.mark.parametrize(
    ("headers", "body", "sender", "subject"),
    [
        (OUTLOOK, None, None, "Booking - CSE forum"),
        (
            "",
            "I saw the forum advertised on the regional mailing list. Please book me a place.\r\n",
            None,
            None,
        ),
        (*FORWARD_AS_ATTACHMENT, None, "FW: Forum in Preston"),
        ("", None, "Training Staff <staff@lancashire.police.uk>", None),
        ("", None, None, "Complaint about message from your booking system"),
        ("", None, None, "Re: Message not delivered?"),
        (
            "",
            "My earlier email could not be delivered, so I am sending it again: please book "
            "me a place.\r\n\r\nDC Ann Lee | Child Abuse Investigation Unit\r\n",
            None,
            None,
        ),
        (
            "",
            "Please book me a place. I am finishing an abuse report this week, so the "
            "afternoon session suits me best.\r\n",
            None,
            None,
        ),
        (
            'Content-Type: multipart/mixed; boundary="fw"\r\n',
            "--fw\r\nContent-Type: text/plain\r\n\r\nPlease book me a place; "
            "my colleague's complaint to her provider is attached.\r\n"
            "--fw\r\nContent-Type: message/rfc822\r\n\r\n"
            'From: abuse@provider.example\r\nContent-Type: multipart/report; boundary="r"\r\n'
            "\r\n--r\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\n"
            "--r--\r\n--fw--\r\n",
            None,
            "FW: complaint",
        ),
    ],
    ids=[
        "outlook",
        "mentions-a-mailing-list",
        "forwards-list-mail-as-attachment",
        "staff-address",
        "complains-in-words",
        "reply-about-delivery",
        "mentions-delivery-failure",
        "mentions-abuse-report",
        "forwards-a-report-as-attachment",
    ],
)
def test_a_person_is_not_taken_for_a_machine(
    headers: str, body: str | None, sender: str | None, subject: str | None
) -> None:
    message = mail(
        headers,
        body if body is not None else "Please book me a place.\r\n",
        sender=sender or OFFICER,
        subject=subject or "Booking",
    )
    assert automated_reason(message, OWN) is None
    result = classify(message, OWN, TRUSTED)
    assert isinstance(result, Request) and result.intent is Intent.BOOK


def test_an_officer_forwarding_list_mail_as_an_attachment_is_booked(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    headers, body = FORWARD_AS_ATTACHMENT
    data = (
        f"{PASS}From: {OFFICER}\r\nTo: bookings@example.ac.uk\r\nSubject: FW: Forum in Preston\r\n"
        f"Date: Tue, 24 Nov 2026 10:00:00 +0000\r\nMessage-ID: <fw1@met.police.uk>\r\n"
        f"MIME-Version: 1.0\r\n{headers}\r\n{body}"
    )
    ws.deliver(data.encode())
    ws.poll()
    assert [(r.to, r.outcome) for r in ws.all_replies()] == [("ann.lee@met.police.uk", "confirmed")]


def test_a_list_message_beside_a_booking_changes_nothing(tmp_path: Path) -> None:
    """The list copy of a booking request is ignored; the officer's own copy is booked."""
    ws = Workspace(tmp_path)
    ws.deliver(
        (ROBOTS / "mailman-beenthere.eml").read_bytes(),
        compose(
            '"Patel, Raj (DS 2231)" <raj.patel@lancashire.police.uk>',
            "Please could I book a place at the CSE forum in Preston?",
            message_id="<direct.raj@lancashire.police.uk>",
        ),
    )
    ws.poll()
    assert [(r.to, r.outcome) for r in ws.all_replies()] == [
        ("raj.patel@lancashire.police.uk", "confirmed")
    ]
