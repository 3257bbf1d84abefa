"""What the pipeline's units of work are given, frozen: the settings a poll runs by, what a
handler needs for one message or command, what a scheduled task needs. They get these,
never the Mailbot itself."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from mailbot.domain import EventInfo, Policy
from mailbot.inbound.classify import OwnIdentity
from mailbot.outbound.render import Sender
from mailbot.outbound.replies import ReplyWriter
from mailbot.pipeline.delivery import DeliverySummary
from mailbot.store.store import Store


@dataclass(frozen=True)
class PipelineSettings:
    """Everything the pipeline needs to know from the configuration."""

    events: tuple[EventInfo, ...]
    policy: Policy
    own: OwnIdentity
    trusted_authserv_ids: tuple[str, ...]
    sender: Sender
    max_failures: int = 3
    replies_per_day: int = 5


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


@dataclass(frozen=True)
class Scheduled:
    """What a scheduled task (digest, reminders) gets: where the bookings are, how to write
    mail, the time, and how to send what it queued."""

    store: Store
    writer: ReplyWriter
    clock: Callable[[], datetime]
    deliver: Callable[[], DeliverySummary]
