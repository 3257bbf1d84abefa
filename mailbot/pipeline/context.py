"""What a handler is given: the settings it decides by and the means to write, frozen for
the one message (or command) it handles. Handlers get this, never the Mailbot itself."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mailbot.domain import EventInfo, Policy
from mailbot.outbound.replies import ReplyWriter


@dataclass(frozen=True)
class Handling:
    events: tuple[EventInfo, ...]
    policy: Policy
    replies_per_day: int  # to one address, so that a responder no header betrays cannot loop
    make_ref: Callable[[], str]
    writer: ReplyWriter

    @property
    def from_address(self) -> str:
        return self.writer.sender.booking_address
