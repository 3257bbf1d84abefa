"""Automated-mail detection, authentication and intent: messages in, verdicts out."""

from __future__ import annotations

import pytest

from mailbot.domain import Automated, InboundMail, Intent, RawMessage, Request, Unusable
from mailbot.inbound.classify import OwnIdentity, classify
from mailbot.inbound.classify.automated import automated_reason
from mailbot.inbound.classify.intent import intent_of
from mailbot.inbound.classify.trust import authenticity
from mailbot.inbound.parse import parse

OWN = OwnIdentity(
    addresses=frozenset({"bookings@example.ac.uk"}), message_id_domain="example.ac.uk"
)
TRUSTED = ("mx.example.ac.uk",)
PASS = "Authentication-Results: mx.example.ac.uk; dkim=pass header.d=met.police.uk; dmarc=pass header.from=met.police.uk\r\n"


def mail(
    headers: str,
    body: str = "Please book me a place.\r\n",
    sender: str = "DC Ann Lee <ann.lee@met.police.uk>",
) -> InboundMail:
    data = f"From: {sender}\r\nSubject: Booking\r\nMessage-ID: <m1@met.police.uk>\r\n{headers}\r\n{body}"
    return parse(RawMessage("test:1", data.encode()))


@pytest.mark.parametrize(
    ("headers", "sender", "reason"),
    [
        ("Auto-Submitted: auto-replied\r\n", None, "Auto-Submitted"),
        ("Auto-Submitted: auto-generated\r\n", None, "Auto-Submitted"),
        ("Precedence: bulk\r\n", None, "Precedence: bulk"),
        ("Precedence: junk\r\n", None, "Precedence: junk"),
        ("Precedence: list\r\n", None, "Precedence: list"),
        ("List-Id: <police-news.lists.example.org>\r\n", None, "mailing list"),
        ("List-Unsubscribe: <mailto:leave@lists.example.org>\r\n", None, "mailing list"),
        ("X-Autoreply: yes\r\n", None, "auto-responder"),
        ("Return-Path: <>\r\n", None, "null return path"),
        (
            "Content-Type: multipart/report; report-type=delivery-status; boundary=x\r\n",
            None,
            "multipart/report",
        ),
        ("", "Mail Delivery System <MAILER-DAEMON@mx.met.police.uk>", "mailer-daemon"),
        ("", "postmaster@met.police.uk", "postmaster"),
        ("X-Mailbot-Outcome: confirmed\r\n", None, "own mail"),
        ("", "Forum bookings <bookings@example.ac.uk>", "own address"),
    ],
)
def test_automated_mail_is_recognised(headers: str, sender: str | None, reason: str) -> None:
    message = mail(headers, sender=sender) if sender else mail(headers)
    found = automated_reason(message, OWN)
    assert found is not None and reason in found
    assert isinstance(classify(message, OWN, TRUSTED), Automated)


def test_our_own_message_id_coming_back_is_recognised() -> None:
    data = b"From: ann.lee@met.police.uk\r\nMessage-ID: <mailbot.abc123@example.ac.uk>\r\n\r\nx"
    assert automated_reason(parse(RawMessage("k", data)), OWN) == "mailbot's own mail (Message-ID)"


@pytest.mark.parametrize(
    "subject", ["Automatic reply: Booking", "Out of Office: Booking", "Undeliverable: Booking"]
)
def test_auto_reply_subjects_are_recognised_without_headers(subject: str) -> None:
    data = f"From: ann.lee@met.police.uk\r\nSubject: {subject}\r\n\r\nx".encode()
    assert automated_reason(parse(RawMessage("k", data)), OWN) == "auto-reply subject"


def test_exchange_auto_response_suppress_does_not_stop_a_booking() -> None:
    message = mail(PASS + "X-Auto-Response-Suppress: All\r\nAuto-Submitted: no\r\n")
    assert automated_reason(message, OWN) is None
    result = classify(message, OWN, TRUSTED)
    assert isinstance(result, Request) and result.intent is Intent.BOOK


@pytest.mark.parametrize(
    ("headers", "verified", "summary"),
    [
        (PASS, True, "DMARC pass (mx.example.ac.uk)"),
        (
            "Authentication-Results: mx.example.ac.uk; dkim=pass header.d=met.police.uk; dmarc=none\r\n",
            True,
            "DKIM pass for met.police.uk",
        ),
        (
            "Authentication-Results: mx.example.ac.uk; dkim=pass header.d=evil.example; dmarc=fail header.from=met.police.uk\r\n",
            False,
            "DMARC fail",
        ),
        ("", False, "no Authentication-Results"),
        (
            "Authentication-Results: mx.evil.example; dmarc=pass header.from=met.police.uk\r\n",
            False,
            "untrusted host mx.evil.example",
        ),
        (
            # A forged trusted header below the gateway's own: only the topmost counts.
            "Authentication-Results: mx.example.ac.uk; dmarc=fail header.from=met.police.uk\r\n"
            "Authentication-Results: mx.example.ac.uk; dmarc=pass header.from=met.police.uk\r\n",
            False,
            "DMARC fail",
        ),
        (
            "Authentication-Results: mx.example.ac.uk; dmarc=fail (dmarc=pass) header.from=met.police.uk\r\n",
            False,
            "DMARC fail",
        ),
        (
            "Authentication-Results: mx.example.ac.uk; dmarc=pass header.from=other.police.uk\r\n",
            False,
            "DMARC pass",
        ),
        (
            # The MX quotes the sender's HELO name; its ";" and "dmarc=pass" are not results.
            'Authentication-Results: mx.example.ac.uk; spf=fail smtp.helo="mail.attacker.example;dmarc=pass"; dmarc=fail header.from=met.police.uk\r\n',
            False,
            "DMARC fail",
        ),
        (
            'Authentication-Results: mx.example.ac.uk; spf=fail smtp.mailfrom="b;dmarc=pass"@unlisted.example; dmarc=fail header.from=met.police.uk\r\n',
            False,
            "DMARC fail",
        ),
        (
            r'Authentication-Results: mx.example.ac.uk; spf=fail smtp.helo="x\"; dmarc=pass header.from=met.police.uk; y=\""; dmarc=fail header.from=met.police.uk'
            "\r\n",
            False,
            "DMARC fail",
        ),
        (
            # A result naming no domain is not about the sender's domain.
            "Authentication-Results: mx.example.ac.uk; dmarc=pass\r\n",
            False,
            "DMARC pass",
        ),
        (
            "Authentication-Results: mx.example.ac.uk; dkim=pass; dmarc=none\r\n",
            False,
            "DMARC none",
        ),
    ],
)
def test_authentication_results(headers: str, verified: bool, summary: str) -> None:
    result = authenticity(mail(headers), TRUSTED)
    assert result.verified is verified
    assert summary in result.summary


M365 = (
    "Authentication-Results: spf=pass (sender IP is 192.0.2.10) smtp.mailfrom=met.police.uk; "
    "dkim=pass (signature was verified) header.d=met.police.uk;dmarc=pass action=none "
    "header.from=met.police.uk;compauth=pass reason=100\r\n"
)


@pytest.mark.parametrize(
    ("headers", "trusted", "verified", "summary"),
    [
        (M365, ("microsoft-365",), True, "DMARC pass (microsoft-365)"),
        (M365, TRUSTED, False, "untrusted host microsoft-365"),
        (
            M365.replace("dmarc=pass action=none", "dmarc=bestguesspass action=none").replace(
                "dkim=pass", "dkim=none"
            ),
            ("microsoft-365",),
            False,
            "DMARC bestguesspass",
        ),
        (
            M365.replace("dmarc=pass", "dmarc=fail").replace("dkim=pass", "dkim=fail"),
            ("microsoft-365",),
            False,
            "DMARC fail",
        ),
    ],
)
def test_microsoft_365_authentication_results(
    headers: str, trusted: tuple[str, ...], verified: bool, summary: str
) -> None:
    result = authenticity(mail(headers), trusted)
    assert result.verified is verified
    assert summary in result.summary


def test_spoofed_from_with_defect_is_set_aside_not_answered() -> None:
    message = mail(PASS, sender="ann.lee@met.police.uk <attacker@evil.example>")
    result = classify(message, OWN, TRUSTED)
    assert isinstance(result, Unusable)
    assert "malformed" in result.reason


@pytest.mark.parametrize(
    ("subject", "body", "intent"),
    [
        ("Booking", "Please book me a place.", Intent.BOOK),
        ("Cancel my place", "Thanks", Intent.CANCEL),
        ("Re: Your place is confirmed", "I can no longer attend, sorry.", Intent.CANCEL),
        ("Re: Your place is confirmed", "Unfortunately I can't make it now.", Intent.CANCEL),
        ("RE: Forum", "Please cancel my booking.\n\nJane", Intent.CANCEL),
        (
            "Booking",
            "Please book me.\n\nKind regards,\nJane\nCancellations: see our policy",
            Intent.BOOK,
        ),
    ],
)
def test_intent(subject: str, body: str, intent: Intent) -> None:
    assert intent_of(subject, body) is intent
