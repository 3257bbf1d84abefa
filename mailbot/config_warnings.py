"""Settings that load but are probably not meant: the warnings `mailbot check` prints and the
service logs when it starts (pure). Settings that cannot work at all are errors, raised when
config.toml is loaded (mailbot/config.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from mailbot.config import EventSettings, Settings
from mailbot.domain import EventInfo
from mailbot.rules.reminders import parse_offset

# The start written in the shipped config.toml, whose announcement gave no date.
PLACEHOLDER_STARTS_AT = datetime(2027, 3, 10, 11, 0)
TRUST_PAGE = "docs/organiser-trust.md"


@dataclass(frozen=True)
class ConfigWarning:
    """One setting (`key`, as errors name it) and what is probably wrong, and what to do."""

    key: str
    problem: str


def config_warnings(settings: Settings, now: datetime) -> tuple[ConfigWarning, ...]:
    """Every warning about `settings` at `now` (aware): trust, then reconfirmation, then
    each event."""
    return (
        *_trust(settings),
        *_reconfirmation(settings),
        *(
            warning
            for number, (event, info) in enumerate(
                zip(settings.events, settings.event_infos(), strict=True), start=1
            )
            for warning in _event(f"events[{number}]", event, info, settings.retention.days, now)
        ),
    )


def _trust(settings: Settings) -> list[ConfigWarning]:
    if not settings.security.require_authentication:
        return []
    trusted = settings.security.trusted_authserv_ids
    if not trusted:
        return [
            ConfigWarning(
                "security.trusted_authserv_ids",
                "is empty while require_authentication = true, so no Authentication-Results"
                " header is believed and every booking request will be held for the"
                " organiser: list the authserv-id your mail gateway writes"
                f" (see {TRUST_PAGE})",
            ),
            ConfigWarning(
                "organiser.email",
                f"commands mailed from {settings.organiser.email} can never be authenticated"
                " (no trusted_authserv_ids), so every one will be refused; list your"
                f" gateway's authserv-id (see {TRUST_PAGE}); the mailbot command line works"
                " meanwhile",
            ),
        ]
    if settings.mailbox.maildir is not None:
        ids = ", ".join(trusted)
        return [
            ConfigWarning(
                "mailbox.maildir",
                "mail in a local folder is believed only with an Authentication-Results"
                f" header from {ids}; mail written by hand for a trial has none, so requests"
                " will be held and organiser commands refused: for a trial set"
                " require_authentication = false in [security] or add the header (see"
                f" {TRUST_PAGE}); ignore this if a mail server delivers here and writes it",
            )
        ]
    return []


def _reconfirmation(settings: Settings) -> list[ConfigWarning]:
    booking = settings.booking
    if booking.reconfirm is None:
        return []
    if timedelta(hours=booking.reconfirm_hours) < parse_offset(booking.reconfirm):
        return []
    return [
        ConfigWarning(
            "booking.reconfirm_hours",
            f"{booking.reconfirm_hours} hours to answer is no shorter than reconfirm ="
            f' "{booking.reconfirm}" before the event, so no unanswered place can be passed'
            " on before it starts: ask earlier or allow fewer hours",
        )
    ]


def _event(
    key: str, event: EventSettings, info: EventInfo, retention_days: int, now: datetime
) -> list[ConfigWarning]:
    if event.starts_at.replace(tzinfo=None) == PLACEHOLDER_STARTS_AT and not event.cancelled:
        # A placeholder is the one thing to fix, whether or not its date has passed.
        return [
            ConfigWarning(
                f"{key}.starts_at",
                f"{info.starts_at:%Y-%m-%d %H:%M} is the placeholder date of the shipped"
                " config.toml: set the event's real date and times before taking bookings",
            )
        ]
    warnings = []
    if now >= info.ends_at:
        erased_from = info.ends_at + timedelta(days=retention_days)
        ended = f"the event ended on {info.ends_at:%Y-%m-%d} and takes no more bookings"
        if now < erased_from:
            advice = (
                "if that date is wrong, correct it; if not, keep the event here until its"
                f" attendees' data is erased on {erased_from:%Y-%m-%d} ([retention] days),"
                " then remove it"
            )
        else:
            advice = (
                f"its attendees' data was due to be erased on {erased_from:%Y-%m-%d}: once"
                " `mailbot status` shows retention has run since, remove the event"
            )
        warnings.append(ConfigWarning(f"{key}.ends_at", f"{ended}: {advice}"))
    if event.capacity == 0 and not event.cancelled:
        warnings.append(
            ConfigWarning(
                f"{key}.capacity",
                "0 places: every request joins the waiting list and nobody is confirmed;"
                " set the number of places (the organiser can also send"
                f" CAPACITY {event.slug} <places>)",
            )
        )
    return warnings
