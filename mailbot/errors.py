"""mailbot's small error tree; third-party errors are translated into these at the edges."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path


class MailbotError(Exception):
    """Base of every error mailbot raises on purpose."""


class ConfigError(MailbotError):
    """The configuration is invalid: exit status 2, naming the file, the key and the problem."""

    def __init__(self, source: Path, key: str | None, problem: str) -> None:
        self.source = source
        self.key = key
        self.problem = problem
        where = f"{source}: {key}" if key else f"{source}"
        super().__init__(f"{where}: {problem}")


class BadArgumentError(MailbotError):
    """A command's argument or option names nothing there is (a booking reference, an event
    slug): exit status 2, blaming the argument, never the configuration file."""

    def __init__(self, problem: str, option: str | None = None) -> None:
        self.option = option
        self.problem = problem
        super().__init__(f"{option}: {problem}" if option else problem)


class OperationalError(MailbotError):
    """A server or the database could not be reached or refused us: exit status 1."""


class AlreadyRecordedError(MailbotError):
    """What a transaction wrote was recorded first by another process (a unique key
    already taken, such as a message's place in the ledger): nothing was written, and the
    other process's record stands."""


class LifecycleError(MailbotError):
    """A status change the booking lifecycle does not allow was about to be written: a
    defect in mailbot, refused so that no booking is left in an impossible state."""


class InboxFilingError(OperationalError):
    """Handled mail could not be moved out of the inbox (a folder refused, a quota full).

    Raised by a source only after every new message was read and handled: nothing waits
    on it, the messages stay in the inbox, and the move is tried again on the next cycle.
    """


class TransientDeliveryError(OperationalError):
    """Delivery failed in a way that may succeed later (4xx, connection lost)."""


class ServerUnavailableError(TransientDeliveryError):
    """The server could not be reached or would not take mail at all (connection refused,
    421): the mail itself was not at fault and waits for the server, not for a backoff."""


class PermanentDeliveryError(MailbotError):
    """The server refused the mail for good (5xx, refused recipient)."""


def causes(exc: BaseException) -> Iterator[BaseException]:
    """`exc`, then what it was raised from or during, and so on inward (each once)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__
