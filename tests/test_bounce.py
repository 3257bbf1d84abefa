"""Bounce reading: hand-written bounces of our own mail, and flufl.bounce's corpus of real ones."""

from __future__ import annotations

import base64
import email

import pytest
from flufl.bounce import all_failures

from mailbot.inbound.classify import bounce as bounce_module
from mailbot.inbound.classify.bounce import Bounce, bounce_report
from tests.bounces import (
    DELAYED_DSN,
    EXCHANGE_NDR,
    FLUFL_NOT_BOUNCES,
    OFFICER_BOOKING,
    OFFICER_RESEND,
    OUR_ID,
    OUT_OF_OFFICE,
    OWN_DOMAIN,
    POSTFIX_DSN,
    QMAIL_BOUNCE,
    READ_RECEIPT,
    flufl_corpus,
)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(
            POSTFIX_DSN,
            Bounce(("ann.leee@met.police.uk",), temporary=False, our_message_ids=(OUR_ID,)),
            id="postfix-dsn-with-returned-headers",
        ),
        pytest.param(
            EXCHANGE_NDR,
            Bounce(
                ("j.smith@lancashire.police.uk",),
                temporary=False,
                our_message_ids=("<mailbot.0a1b2c3d4e5f60718293a4b5@example.ac.uk>",),
            ),
            id="exchange-undeliverable",
        ),
        pytest.param(
            QMAIL_BOUNCE,
            Bounce(("p.jones@durham.police.uk",), temporary=False, our_message_ids=(OUR_ID,)),
            id="qmail-plain-text",
        ),
        pytest.param(
            DELAYED_DSN,
            Bounce((), temporary=True, our_message_ids=(OUR_ID,)),
            id="delayed-dsn",
        ),
        pytest.param(OUT_OF_OFFICE, None, id="out-of-office"),
        pytest.param(READ_RECEIPT, None, id="read-receipt"),
        pytest.param(OFFICER_RESEND, None, id="officer-mentions-failed-delivery"),
        pytest.param(OFFICER_BOOKING, None, id="officer-booking"),
    ],
)
def test_bounce_report(data: bytes, expected: Bounce | None) -> None:
    assert bounce_report(data, OWN_DOMAIN) == expected


def test_a_failed_and_a_delayed_recipient_is_not_temporary() -> None:
    data = DELAYED_DSN.replace(
        b"Final-Recipient: rfc822; k.brown",
        b"Final-Recipient: rfc822; gone@cumbria.police.uk\r\nAction: failed\r\n"
        b"Status: 5.1.1\r\n\r\nFinal-Recipient: rfc822; k.brown",
    )
    report = bounce_report(data, OWN_DOMAIN)
    assert report == Bounce(("gone@cumbria.police.uk",), temporary=False, our_message_ids=(OUR_ID,))


def test_only_our_own_domain_counts_as_our_message() -> None:
    report = bounce_report(QMAIL_BOUNCE, "other-forum.example.org")
    assert report is not None
    assert report.our_message_ids == ("<mailbot.ffff0000@other-forum.example.org>",)


def test_a_base64_delivery_status_is_still_read() -> None:
    status = (
        b"Reporting-MTA: dns; gw.kent.police.uk\r\n\r\n"
        b"Final-Recipient: rfc822; X.Y@kent.police.uk\r\nAction: failed\r\nStatus: 5.1.1\r\n"
    )
    data = (
        b"From: Mail Gateway <gateway@kent.police.uk>\r\n"
        b"Subject: Delivery Status Notification (Failure)\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n"
        b"--b\r\nContent-Type: message/delivery-status\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(status).replace(b"\n", b"\r\n")
        + b"--b--\r\n"
    )
    assert bounce_report(data, OWN_DOMAIN) == Bounce(
        ("x.y@kent.police.uk",), temporary=False, our_message_ids=()
    )


def test_a_detector_that_raises_falls_back_to_reading_the_dsn(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(_message: object) -> object:
        raise UnicodeDecodeError("ascii", b"\xff", 0, 1, "as flufl.bounce does on odd mail")

    # Where bounce.py looks it up when it needs it (it imports flufl.bounce only then).
    monkeypatch.setattr("flufl.bounce.all_failures", broken)
    assert bounce_report(POSTFIX_DSN, OWN_DOMAIN) == Bounce(
        ("ann.leee@met.police.uk",), temporary=False, our_message_ids=(OUR_ID,)
    )


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\xff\xfe\x00garbage",
        b"From: MAILER-DAEMON@x\r\nContent-Type: multipart/report\r\n\r\nno boundary at all",
        b"From: <>\r\nSubject: =?bogus-charset?q?Undeliverable?=\r\n\r\n",
        b"From: MAILER-DAEMON@x\r\nContent-Type: multipart/report; report-type*=''%ff\r\n\r\n",
        b"Content-Type: multipart/mixed; boundary=a\r\n\r\n"
        + b"--a\r\nContent-Type: multipart/mixed; boundary=a\r\n\r\n" * 3000,
    ],
    ids=["empty", "binary", "report-without-boundary", "bad-charset", "bad-rfc2231", "deep"],
)
def test_odd_input_never_raises(data: bytes) -> None:
    # The private function, because the public one swallows every exception by design.
    bounce_module._report(data, OWN_DOMAIN)
    bounce_report(data, OWN_DOMAIN)


def test_flufl_corpus_agrees_with_flufl() -> None:
    """Every bounce in the corpus is recognised, with exactly the addresses flufl.bounce finds."""
    problems = []
    for path in flufl_corpus():
        data = path.read_bytes()
        try:
            report = bounce_module._report(data, OWN_DOMAIN)
        except Exception as exc:
            problems.append(f"{path.name}: raised {type(exc).__name__}: {exc}")
            continue
        if path.name in FLUFL_NOT_BOUNCES:
            if report is not None:
                problems.append(f"{path.name}: not a bounce, got {report}")
            continue
        if report is None:
            problems.append(f"{path.name}: bounce not recognised")
            continue
        temporary, permanent = all_failures(email.message_from_bytes(data))
        flufl_permanent = tuple(sorted(a.decode("ascii").lower() for a in permanent))
        if report.failed_addresses != flufl_permanent:
            problems.append(f"{path.name}: {report.failed_addresses} != flufl {flufl_permanent}")
        if report.temporary != (bool(temporary) and not permanent):
            problems.append(f"{path.name}: temporary={report.temporary}, flufl {temporary}")
    assert not problems, "\n".join(problems)
