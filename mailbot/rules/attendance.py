"""Who came: the organiser's ATTENDED and ABSENT, from the start of the event, for those
holding a place; someone recorded as having come gets a certificate once, where the event
gives them. Pure."""

from __future__ import annotations

from datetime import datetime

from mailbot.domain import Actor, BookingView, Decision, EventInfo, Notice, Outcome, Trigger
from mailbot.rules import lifecycle
from mailbot.rules.lifecycle import Party, When
from mailbot.rules.organiser import Planned


def plan_attendance(
    booking: BookingView,
    event: EventInfo,
    came: bool,
    *,
    certificate_sent: bool,
    now: datetime,
) -> Planned | str:
    """The decision and the organiser's line for it, or why it cannot be recorded."""
    trigger = Trigger.ATTENDED if came else Trigger.ABSENT
    if now < event.starts_at:
        starts = f"{event.starts_at:%Y-%m-%d %H:%M}"
        return f"attendance is recorded from the start of the event ({starts})"
    source = lifecycle.stage(booking.status, booking.offer_expires_at)
    if not lifecycle.allows(source, trigger):
        return f"{booking.ref} is {booking.status.value}: only confirmed places are marked"
    when = When.CERTIFICATES_ON if came and event.certificate and not certificate_sent else When.ANY
    row = lifecycle.step(source, trigger, Party.ORGANISER, when)
    notices: tuple[Notice, ...] = ()
    certified: tuple[str, ...] = ()
    if row.notice is Outcome.CERTIFICATE:
        notices = (Notice(row.notice, booking, in_reply=False, acted_by=Actor.ORGANISER),)
        certified = (booking.ref,)
    word = "attended" if came else "absent"
    line = f"{word} ({booking.email})" + ("; certificate sent" if certified else "")
    decision = Decision(
        Outcome.INFO,
        (f"{word}, recorded by the organiser",),
        notices=notices,
        attendance=((booking.ref, came),),
        certified=certified,
    )
    return Planned(decision, line)
