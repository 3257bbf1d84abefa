"""Notices as finished mail: each written about its own booking's event, threaded with the
message it answers, with a fresh Message-ID. What the pipeline calls to write anything."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
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
    ) -> list[OutgoingMail]:
        """Each notice as a mail about its own booking's event; replies thread with `mail`."""
        by_slug = {event.slug: event for event in self.events}
        reply = (
            None
            if mail is None
            else ReplyContext(
                message_id=mail.message_id, references=mail.references, subject=mail.subject
            )
        )
        return [
            render_notice(
                self.templates,
                notice,
                by_slug.get(notice.booking.event_slug, default_event)
                if notice.booking
                else default_event,
                self.sender,
                reply if notice.in_reply else None,
                message_id=self.new_message_id(),
                now=now,
            )
            for notice in notices
        ]
