"""Which event a mail is about: its plus-address, its thread, a booking reference, the
event it names, or the only one there is. Pure."""

from __future__ import annotations

import re
from collections.abc import Mapping

from mailbot.domain import EventInfo, InboundMail
from mailbot.refs import REF_PATTERN

_ADDRESS = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w.-]+")
_RECIPIENT_HEADERS = ("to", "cc", "delivered-to", "x-original-to")


def references_in(mail: InboundMail) -> tuple[str, ...]:
    """Booking references written in the subject or the text, in order, without repeats."""
    found = REF_PATTERN.findall(f"{mail.subject}\n{mail.text}".upper())
    return tuple(dict.fromkeys(found))


def plus_tag(mail: InboundMail, booking_address: str) -> str | None:
    """The tag of a "bookings+cse-forum@..." address the mail was sent to, if any."""
    local, _, domain = booking_address.lower().partition("@")
    for name in _RECIPIENT_HEADERS:
        for value in mail.header_values(name):
            for address in _ADDRESS.findall(value.lower()):
                user, _, host = str(address).partition("@")
                base, plus, tag = user.partition("+")
                if plus and base == local and host == domain and tag:
                    return tag
    return None


def route(
    mail: InboundMail,
    events: tuple[EventInfo, ...],
    *,
    booking_address: str,
    thread_event: str | None = None,
    ref_events: Mapping[str, str] | None = None,
) -> EventInfo | None:
    """The event this mail is about, or None when it could be several.

    `thread_event` is the event of the booking our mail in this thread was about;
    `ref_events` maps the references written in the mail to their bookings' events.
    """
    by_slug = {event.slug: event for event in events}
    tag = plus_tag(mail, booking_address)
    if tag in by_slug:
        return by_slug[tag]
    if thread_event in by_slug:
        return by_slug[thread_event]
    named_by_ref = {slug for slug in (ref_events or {}).values() if slug in by_slug}
    if len(named_by_ref) == 1:
        return by_slug[named_by_ref.pop()]
    if len(events) == 1:
        return events[0]
    haystack = f"{mail.subject}\n{mail.text}".lower()
    named = [e for e in events if e.slug in haystack or e.title.lower() in haystack]
    return named[0] if len(named) == 1 else None
