"""Recognise mail written by machines (bounces, auto-replies, lists, our own mail)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from mailbot.domain import InboundMail

_BULK_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply"})
_LIST_HEADERS = ("list-id", "list-unsubscribe", "list-post")
_ROBOT_LOCAL_PARTS = frozenset(
    {"mailer-daemon", "postmaster", "noreply", "no-reply", "do-not-reply", "donotreply"}
)
_AUTORESPONDER_HEADERS = ("x-autoreply", "x-autorespond", "x-auto-reply", "x-autoresponder")
_AUTOREPLY_SUBJECT = re.compile(
    r"^\s*(automatic reply|auto(matic)?[- ]?reply|out of (the )?office|autoreply|"
    r"undeliverable|undelivered mail|delivery status notification|"
    r"returned mail|mail delivery (failed|failure))\b",
    re.IGNORECASE,
)
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
    if mail.header("x-mailbot-outcome") or mail.header("x-mailbot-booking"):
        return "mailbot's own mail (X-Mailbot headers)"
    message_id = (mail.message_id or "").lower()
    if message_id.startswith(OWN_MESSAGE_ID_PREFIX) and message_id.endswith(
        "@" + own.message_id_domain.lower() + ">"
    ):
        return "mailbot's own mail (Message-ID)"
    if mail.sender is not None and mail.sender.email in own.addresses:
        return "sent from mailbot's own address"

    auto_submitted = (mail.header("auto-submitted") or "").strip().lower()
    if auto_submitted and not auto_submitted.startswith("no"):
        return f"Auto-Submitted: {auto_submitted}"
    precedence = (mail.header("precedence") or "").strip().lower()
    if precedence in _BULK_PRECEDENCE:
        return f"Precedence: {precedence}"
    for name in _LIST_HEADERS:
        if mail.header(name) is not None:
            return f"mailing list ({name})"
    for name in _AUTORESPONDER_HEADERS:
        if mail.header(name) is not None:
            return f"auto-responder ({name})"
    if mail.content_type == "multipart/report":
        return "delivery or read report (multipart/report)"
    return_path = mail.header("return-path")
    if return_path is not None and return_path.strip() in ("<>", ""):
        return "null return path (a bounce or notification)"
    if mail.sender is not None:
        local_part = mail.sender.email.partition("@")[0]
        if local_part in _ROBOT_LOCAL_PARTS:
            return f"sent by {local_part}"
    if _AUTOREPLY_SUBJECT.match(mail.subject):
        return "auto-reply subject"
    return None
