"""Decide what an inbound mail is: unusable, automated, or a person's request."""

from __future__ import annotations

from dataclasses import replace

from mailbot.domain import Automated, Classification, InboundMail, Request, Unusable
from mailbot.inbound.classify.automated import OwnIdentity, automated_reason
from mailbot.inbound.classify.body import readable_part
from mailbot.inbound.classify.contact import phone_number, unit
from mailbot.inbound.classify.intent import interpret
from mailbot.inbound.classify.sender import extract_sender
from mailbot.inbound.classify.trust import authenticity

__all__ = ["OwnIdentity", "classify"]


def classify(
    mail: InboundMail, own: OwnIdentity, trusted_authserv_ids: tuple[str, ...]
) -> Classification:
    """Machines are recognised before anything else, so that nothing automated is answered."""
    if mail.unreadable:
        return Unusable(mail.unreadable)
    reason = automated_reason(mail, own)
    if reason is not None:
        return Automated(reason)
    if mail.sender is None or mail.sender_problem:
        # A From header we cannot read with confidence is not answered: the reply could
        # go to someone who never wrote.
        return Unusable(mail.sender_problem or "no usable From address")
    readable = readable_part(mail.text)
    wanted = interpret(
        mail.subject, readable, mail.sender.email, mail.calendar, own_addresses=own.addresses
    )
    sender = replace(
        extract_sender(mail.sender, mail.text),
        unit=unit(readable, mail.sender.email),
        phone=phone_number(readable),
    )
    return Request(
        intent=wanted.intent,
        sender=sender,
        authenticity=authenticity(mail, trusted_authserv_ids),
        colleagues=wanted.colleagues,
        include_sender=wanted.include_sender,
        needs=wanted.needs,
        question=wanted.question,
        asks_for_place=wanted.asks_for_place,
    )
