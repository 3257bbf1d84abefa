"""Recognise mail written by machines (bounces, auto-replies, lists, our own mail)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from mailbot.domain import InboundMail

_BULK_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply"})
# Headers whose presence alone marks a machine, tried in this order: a header name, or a
# prefix ending in "-" that any header starting with it matches, and what such mail is.
# A list manager may write only some of these, and relays strip some, so each one counts.
_MARK_HEADERS: tuple[tuple[str, str], ...] = (
    ("list-id", "mailing list"),  # RFC 2919
    ("list-post", "mailing list"),  # RFC 2369, as are the next five
    ("list-unsubscribe", "mailing list"),
    ("list-subscribe", "mailing list"),
    ("list-help", "mailing list"),
    ("list-owner", "mailing list"),
    ("list-archive", "mailing list"),
    ("mailing-list", "mailing list"),  # ezmlm
    ("x-mailman-", "mailing list"),  # Mailman: X-Mailman-Version, X-Mailman-Rule-Hits, ...
    ("x-beenthere", "mailing list"),  # Mailman 2
    ("x-ml-", "mailing list"),  # fml: X-ML-Name, X-ML-Count, X-ML-Info
    ("x-mlserver", "mailing list"),  # fml
    ("x-autoreply", "auto-responder"),
    ("x-autorespond", "auto-responder"),
    ("x-auto-reply", "auto-responder"),
    ("x-autoresponder", "auto-responder"),
)
_DELIVERY_STATUS_TYPES = frozenset({"message/delivery-status", "message/global-delivery-status"})
# RFC 5965 (ARF): the report type of a multipart/report, read from the raw Content-Type.
_FEEDBACK_REPORT_TYPE = re.compile(r"report-type\s*=\s*\"?feedback-report\b", re.IGNORECASE)
_ROBOT_LOCAL_PARTS = frozenset(
    {"mailer-daemon", "postmaster", "noreply", "no-reply", "do-not-reply", "donotreply"}
)
# AOL's complaint address, before and after AOL moved to ARF: no person writes from it.
_COMPLAINT_LOCAL_PARTS = frozenset({"scomp"})
_AUTOREPLY_SUBJECT = re.compile(
    r"^\s*(automatic reply|auto(matic)?[- ]?reply|out of (the )?office|autoreply|"
    r"undeliverable|undelivered (mail|message)|delivery status notification|"
    r"returned mail|mail delivery (failed|failure)|"
    r"(message|mail|e-?mail|text|sms) (was )?not delivered|delivery (failure|failed))\b",
    re.IGNORECASE,
)
_IP_ADDRESS = r"\[?(\d{1,3}(\.\d{1,3}){3}|[0-9a-f]*:[0-9a-f]*:[0-9a-f:.]*)\]?"
# Subjects of mailbox providers' complaint reports: Microsoft's JMRP ("complaint about message
# from 192.0.2.1"), AOL's ARF ("Email Feedback Report for IP ...") and AOL's older format.
# An IP address must follow "from": a person complaining about our mail names none.
_COMPLAINT_SUBJECT = re.compile(
    rf"^\s*(complaint about message from {_IP_ADDRESS}|email feedback report for ip "
    rf"{_IP_ADDRESS}|client tos notification\s*$)",
    re.IGNORECASE,
)
# The opening RFC 5965 suggests for an ARF report's human-readable part, which providers
# keep; it finds a report whose machine-readable part was left out or mislabelled.
_ABUSE_REPORT_TEXT = re.compile(r"\bthis is an? e-?mail abuse report\b", re.IGNORECASE)
# What a carrier's email-to-SMS gateway says when a text cannot reach the phone; such a
# notice may keep our subject and have no DSN structure at all.
_GATEWAY_NOTICE_TEXT = re.compile(
    r"\b(could ?not|can ?not|can't|was not|has not been) (be )?delivered to the "
    r"(mobile|handset|cell|phone|subscriber)",
    re.IGNORECASE,
)
# Only the start of the body is searched: machine notices say what they are at once, and a
# person's long mail (or a quoted thread) is not scanned for phrases.
_NOTICE_SPAN = 2000
OWN_MESSAGE_ID_PREFIX = "<mailbot."


@dataclass(frozen=True)
class OwnIdentity:
    """How mailbot recognises its own mail coming back."""

    addresses: frozenset[str]  # lower-cased addresses mailbot sends from
    message_id_domain: str


def automated_reason(mail: InboundMail, own: OwnIdentity) -> str | None:
    """Why this mail was written by a machine, or None if a person wrote it.

    Exchange's X-Auto-Response-Suppress is deliberately not a sign: Outlook adds it to
    ordinary human mail.
    """
    return (
        _own_mail(mail, own)
        or _declared(mail)
        or _marked_by_header(mail)
        or _report(mail)
        or _robot_sender(mail)
        or _robot_subject(mail)
        or _robot_text(mail)
    )


def _own_mail(mail: InboundMail, own: OwnIdentity) -> str | None:
    if mail.header("x-mailbot-outcome") or mail.header("x-mailbot-booking"):
        return "mailbot's own mail (X-Mailbot headers)"
    message_id = (mail.message_id or "").lower()
    if message_id.startswith(OWN_MESSAGE_ID_PREFIX) and message_id.endswith(
        "@" + own.message_id_domain.lower() + ">"
    ):
        return "mailbot's own mail (Message-ID)"
    if mail.sender is not None and mail.sender.email in own.addresses:
        return "sent from mailbot's own address"
    return None


def _declared(mail: InboundMail) -> str | None:
    """What the mail says of itself (RFC 3834's Auto-Submitted, the older Precedence)."""
    auto_submitted = (mail.header("auto-submitted") or "").strip().lower()
    if auto_submitted and not auto_submitted.startswith("no"):
        return f"Auto-Submitted: {auto_submitted}"
    precedence = (mail.header("precedence") or "").strip().lower()
    if precedence in _BULK_PRECEDENCE:
        return f"Precedence: {precedence}"
    return None


def _marked_by_header(mail: InboundMail) -> str | None:
    """The first rule of _MARK_HEADERS that one of the mail's own headers meets. Only the
    top-level headers count: a person may forward list mail as an attachment."""
    names = frozenset(name for name, _ in mail.headers)
    for mark, kind in _MARK_HEADERS:
        if mark.endswith("-"):
            found = next((name for name, _ in mail.headers if name.startswith(mark)), None)
        else:
            found = mark if mark in names else None
        if found is not None:
            return f"{kind} ({found})"
    return None


def _report(mail: InboundMail) -> str | None:
    """A report by its content type: abuse feedback, delivery status, or another report."""
    content_type = mail.header("content-type") or ""
    if "message/feedback-report" in mail.part_types or (
        mail.content_type == "multipart/report" and _FEEDBACK_REPORT_TYPE.search(content_type)
    ):
        # Some providers send the report inside multipart/mixed rather than multipart/report.
        return "abuse feedback report"
    status = mail.part_types & _DELIVERY_STATUS_TYPES
    if status:
        # Some gateways send the RFC 3464 fields alone, or inside multipart/mixed.
        return f"delivery status notice ({min(status)})"
    if mail.content_type == "multipart/report":
        return "delivery or read report (multipart/report)"
    return None


def _robot_sender(mail: InboundMail) -> str | None:
    return_path = mail.header("return-path")
    if return_path is not None and return_path.strip() in ("<>", ""):
        return "null return path (a bounce or notification)"
    if mail.sender is not None:
        local_part = mail.sender.email.partition("@")[0]
        if local_part in _ROBOT_LOCAL_PARTS:
            return f"sent by {local_part}"
        if local_part in _COMPLAINT_LOCAL_PARTS:
            return f"abuse feedback report (sent by {local_part})"
    return None


def _robot_subject(mail: InboundMail) -> str | None:
    if _AUTOREPLY_SUBJECT.match(mail.subject):
        return "auto-reply subject"
    if _COMPLAINT_SUBJECT.match(mail.subject):
        return "abuse feedback report (complaint subject)"
    return None


def _robot_text(mail: InboundMail) -> str | None:
    # A plain substring test first: the regexes cost more, and run only on the rare mail
    # that has the words.
    opening = mail.text[:_NOTICE_SPAN].lower()
    if "abuse report" in opening and _ABUSE_REPORT_TEXT.search(opening):
        return "abuse feedback report"
    if "delivered to the" in opening and _GATEWAY_NOTICE_TEXT.search(opening):
        return "delivery failure notice (text-message gateway)"
    return None
