"""Notices as finished mail: each written about its own booking's event, threaded with the
message it answers, with a fresh Message-ID. What the pipeline calls to write anything."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from email.parser import BytesHeaderParser
from email.policy import default
from typing import TYPE_CHECKING

from mailbot.domain import EventInfo, InboundMail, Notice, OutgoingMail
from mailbot.outbound.render import ReplyContext, Sender, new_message_id, render_notice

if TYPE_CHECKING:
    import jinja2


@dataclass(frozen=True)
class ReplyWriter:
    """Writes mailbot's mail: whom it writes as, about which events, from which templates."""

    templates: jinja2.Environment
    sender: Sender
    events: tuple[EventInfo, ...]
    message_id_domain: str
    make_token: Callable[[], str]

    def new_message_id(self) -> str:
        return new_message_id(self.message_id_domain, self.make_token())

    def write(
        self,
        notices: tuple[Notice, ...],
        mail: InboundMail | None,
        now: datetime,
        *,
        default_event: EventInfo,
        threads: Mapping[str, Thread] | None = None,
    ) -> list[OutgoingMail]:
        """Each notice as a mail about its own booking's event; replies thread with `mail`,
        and a notice about a booking in `threads` answers that thread instead."""
        by_slug = {event.slug: event for event in self.events}
        reply = (
            None
            if mail is None
            else ReplyContext(
                message_id=mail.message_id, references=mail.references, subject=mail.subject
            )
        )
        written = []
        for notice in notices:
            booking = notice.booking
            event = by_slug.get(booking.event_slug, default_event) if booking else default_event
            taken_over = (threads or {}).get(booking.ref) if booking else None
            if taken_over is None:
                written.append(self._render(notice, event, reply if notice.in_reply else None, now))
                continue
            in_thread = self._render(replace(notice, in_reply=True), event, taken_over.context, now)
            written.append(replace(in_thread, answers=taken_over.answers))
        return written

    def _render(
        self, notice: Notice, event: EventInfo, reply: ReplyContext | None, now: datetime
    ) -> OutgoingMail:
        return render_notice(
            self.templates,
            notice,
            event,
            self.sender,
            reply,
            message_id=self.new_message_id(),
            now=now,
        )


@dataclass(frozen=True)
class Thread:
    """The thread a withdrawn reply was in, and the inbound message it answered: a newer
    mail about the same booking goes there in its place, so that message is still answered."""

    context: ReplyContext
    answers: str


def thread_of(data: bytes, answers: str) -> Thread:
    """The thread of one of our replies, read back from its headers."""
    headers = BytesHeaderParser(policy=default).parsebytes(data)
    references = str(headers.get("References", "")).split()
    in_reply_to = headers.get("In-Reply-To")
    return Thread(
        ReplyContext(
            message_id=str(in_reply_to) if in_reply_to else None,
            references=tuple(references),
            subject=str(headers.get("Subject", "")),
        ),
        answers,
    )
