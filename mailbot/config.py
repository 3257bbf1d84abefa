"""Read config.toml into validated, frozen settings; every error names the file, key and problem."""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from datetime import datetime, time
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from mailbot.domain import LARGEST_CAPACITY, EventInfo, Policy, is_event_slug
from mailbot.errors import ConfigError
from mailbot.rules.reminders import parse_offset

DEFAULT_CONFIG_NAME = "config.toml"
CONFIG_ENV = "MAILBOT_CONFIG"

# Ten years, as for reminder offsets: any span a job adds to a date stays within the calendar
# a datetime can hold, since every event lies in the years below.
_LONGEST_DAYS = 3660
_LONGEST_HOURS = _LONGEST_DAYS * 24
_FIRST_YEAR, _LAST_YEAR = 2000, 9000
# Network timeouts: an hour is longer than any server is worth waiting for, and a socket
# refuses a timeout as large as `inf` (OverflowError) the first time it connects.
_LONGEST_TIMEOUT = 3600.0


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class OrganiserSettings(_Section):
    name: str = Field(min_length=1)
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _Credentials(_Section):
    username: str | None = None
    password: str | None = None
    password_env: str | None = None
    auth: Literal["password", "oauth2"] = "password"

    def secret(self, section: str, source: Path) -> str:
        """The password, from the environment variable when one is named."""
        if self.password_env is None and self.password is None:
            raise ConfigError(
                source, f"{section}.password_env", "no password or password_env given"
            )
        return _from_env_or_value(
            source, f"{section}.password_env", self.password_env, self.password
        )


class MailboxSettings(_Credentials):
    address: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    maildir: str | None = None
    host: str | None = None
    port: int = Field(default=993, ge=1, le=65535)
    tls: bool = True
    folder: str = "INBOX"
    processed_folder: str = "Processed"
    quarantine_folder: str = "Quarantine"
    max_failures: int = Field(default=3, ge=1)
    timeout_seconds: float = Field(default=30.0, gt=0, le=_LONGEST_TIMEOUT)

    @field_validator("processed_folder", "quarantine_folder")
    @classmethod
    def _not_the_inbox(cls, name: str, info: ValidationInfo) -> str:
        # Mail filed into the folder mailbot reads would be read again, forever; and retention's
        # removal of filed copies must never reach the inbox. IMAP's INBOX has no case.
        if name.casefold() == str(info.data.get("folder", "INBOX")).casefold():
            raise ValueError(f"{name!r} is the folder mailbot reads: name another folder")
        return name

    @model_validator(mode="after")
    def _one_transport(self) -> MailboxSettings:
        if self.maildir is None and self.host is None:
            raise ValueError("give either host (an IMAP server) or maildir (a local folder)")
        if self.host is not None and not self.tls and not _is_loopback(self.host):
            raise ValueError("tls = false is allowed only for a server on loopback")
        return self


class SmtpSettings(_Credentials):
    maildir: str | None = None
    host: str | None = None
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["none", "starttls", "tls"] = "starttls"
    timeout_seconds: float = Field(default=30.0, gt=0, le=_LONGEST_TIMEOUT)

    @model_validator(mode="after")
    def _one_transport(self) -> SmtpSettings:
        if self.maildir is None and self.host is None:
            raise ValueError("give either host (an SMTP server) or maildir (a local folder)")
        if self.host is not None and self.security == "none" and not _is_loopback(self.host):
            raise ValueError('security = "none" is allowed only for a server on loopback')
        return self


class OAuth2Section(_Section):
    """How mailbot obtains OAuth2 access tokens (Microsoft 365, Google)."""

    token_url: str = Field(pattern=r"^https?://")
    client_id: str = Field(min_length=1)
    client_secret: str | None = None
    client_secret_env: str | None = None
    scope: str = Field(min_length=1)
    grant: Literal["client_credentials", "refresh_token"] = "client_credentials"
    refresh_token_env: str | None = None

    @model_validator(mode="after")
    def _refresh_needs_token(self) -> OAuth2Section:
        if self.grant == "refresh_token" and not self.refresh_token_env:
            raise ValueError('grant = "refresh_token" needs refresh_token_env')
        return self

    def secret(self, source: Path) -> str:
        return _from_env_or_value(
            source, "oauth2.client_secret_env", self.client_secret_env, self.client_secret
        )

    def refresh_token(self, source: Path) -> str | None:
        if self.grant != "refresh_token":
            return None
        return _from_env_or_value(source, "oauth2.refresh_token_env", self.refresh_token_env, None)


def _from_env_or_value(source: Path, key: str, env: str | None, value: str | None) -> str:
    if env:
        found = os.environ.get(env)
        if found is None:
            raise ConfigError(source, key, f"the environment variable {env} is not set")
        return found
    if value is not None:
        return value
    raise ConfigError(source, key, "no value or environment variable given")


class DatabaseSettings(_Section):
    url: str = "sqlite:///mailbot.db"

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, url: str) -> str:
        if not url.startswith(("sqlite:", "postgresql")):
            raise ValueError("use sqlite:///PATH or postgresql+psycopg://USER@HOST/DB")
        return url


class EligibilitySettings(_Section):
    domains: list[str] = Field(min_length=1)
    review_unknown: bool = False

    @field_validator("domains")
    @classmethod
    def _normalise(cls, domains: list[str]) -> list[str]:
        normalised = [d.strip().lower().strip(".") for d in domains]
        for domain in normalised:
            _check_domain(domain)
        return normalised


# One DNS label in its ASCII form (RFC 1035 letters, digits and hyphens; at most 63).
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


def _check_domain(domain: str) -> None:
    """Raise unless `domain` could be the domain of a sender's address: such a setting
    would match nobody, and every request would be refused as ineligible."""
    example = 'like "police.uk" (its sub-domains are included)'
    if "@" in domain:
        raise ValueError(f"{domain!r}: give the domain without a name or @, {example}")
    try:
        # The same IDNA reading as the eligibility rule's, so a non-ASCII domain is fine.
        ascii_form = domain.encode("idna").decode("ascii")
    except UnicodeError:
        ascii_form = ""
    labels = ascii_form.split(".")
    if len(labels) < 2 or len(ascii_form) > 253 or not all(map(_LABEL.fullmatch, labels)):
        raise ValueError(f"{domain!r} is not a domain {example}")


class SecuritySettings(_Section):
    trusted_authserv_ids: list[str] = Field(default_factory=list)
    require_authentication: bool = True


_DETAILS = ("name", "rank", "force")


class BookingSettings(_Section):
    required_details: list[str] = Field(default_factory=lambda: ["name", "force"])
    waitlist_offer_hours: int | None = Field(default=None, ge=1, le=_LONGEST_HOURS)
    reconfirm: str | None = None  # e.g. "5d" before the event: ask each attendee to confirm
    # Unanswered by then: released if needed.
    reconfirm_hours: int = Field(default=48, ge=1, le=_LONGEST_HOURS)

    @field_validator("reconfirm")
    @classmethod
    def _reconfirm_offset(cls, value: str | None) -> str | None:
        if value is not None:
            parse_offset(value)
        return value

    @field_validator("required_details")
    @classmethod
    def _known_details(cls, values: list[str]) -> list[str]:
        for value in values:
            if value not in _DETAILS:
                raise ValueError(f"{value!r} is not one of {', '.join(_DETAILS)}")
        return values


class RetentionSettings(_Section):
    days: int = Field(default=90, ge=1)
    # Also delete mailbot's own filed copies (Processed, Quarantine) of erased mail: off
    # unless set, as some keep those folders as their record.
    remove_filed_mail: bool = False


class LimitsSettings(_Section):
    replies_per_address_per_day: int = Field(default=5, ge=1)


class ScheduleSettings(_Section):
    poll_seconds: int = Field(default=60, ge=1)
    digest_at: str = "08:00"
    digest_always: bool = False
    reminders: list[str] = Field(default_factory=lambda: ["7d", "1d"])
    timezone: str = "Europe/London"

    @field_validator("digest_at")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        try:
            time.fromisoformat(value)
        except ValueError:
            raise ValueError(f'{value!r} is not a time of day like "08:00"') from None
        return value

    @field_validator("reminders")
    @classmethod
    def _offsets(cls, values: list[str]) -> list[str]:
        # The reminder job's own reading, so that what passes here is what the job can use.
        for value in values:
            parse_offset(value)
        return values

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not a known time zone") from None
        return value


class EventSettings(_Section):
    slug: str
    title: str = Field(min_length=1)
    starts_at: datetime
    ends_at: datetime
    venue: str = Field(min_length=1)
    capacity: int = Field(ge=0, le=LARGEST_CAPACITY)
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    places_per_force: int | None = Field(default=None, ge=1)
    bookings_per_sender: int | None = Field(default=None, ge=1)
    programme: str | None = None
    directions: str | None = None
    short_title: str | None = Field(default=None, min_length=1, max_length=60)
    cancelled: bool = False
    certificate: bool = False

    @field_validator("slug")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not is_event_slug(value):
            raise ValueError('use lower-case letters, digits and hyphens, like "cse-forum"')
        return value

    @field_validator("starts_at", "ends_at", "opens_at", "closes_at")
    @classmethod
    def _in_range(cls, value: datetime | None) -> datetime | None:
        # Reminders are reckoned back from the start and retention forward from the end; a
        # year at the calendar's edge would take those jobs past it (OverflowError).
        if value is not None and not _FIRST_YEAR <= value.year <= _LAST_YEAR:
            raise ValueError(
                f"{value.isoformat()} is outside the years {_FIRST_YEAR} to {_LAST_YEAR}"
                " (a mistyped year?)"
            )
        return value

    @model_validator(mode="after")
    def _order(self) -> EventSettings:
        times = (self.starts_at, self.ends_at, self.opens_at, self.closes_at)
        if len({t.utcoffset() is None for t in times if t is not None}) > 1:
            # A local time and one with an offset cannot be compared (TypeError).
            raise ValueError(
                "give the event's times all as local times or all with a UTC offset, not both"
            )
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        if self.opens_at and self.closes_at and self.closes_at <= self.opens_at:
            raise ValueError("closes_at must be after opens_at")
        if self.opens_at and not self.closes_at and self.opens_at >= self.starts_at:
            raise ValueError(
                "opens_at must be before starts_at: bookings close when the event starts"
                " (unless closes_at says otherwise), so nobody could book"
            )
        return self


class Settings(_Section):
    """The whole configuration. `source` is the file it came from."""

    source: Path
    organiser: OrganiserSettings
    mailbox: MailboxSettings
    smtp: SmtpSettings
    database: DatabaseSettings = DatabaseSettings()
    eligibility: EligibilitySettings
    security: SecuritySettings = SecuritySettings()
    schedule: ScheduleSettings = ScheduleSettings()
    booking: BookingSettings = BookingSettings()
    limits: LimitsSettings = LimitsSettings()
    retention: RetentionSettings = RetentionSettings()
    events: Annotated[list[EventSettings], Field(min_length=1)]
    oauth2: OAuth2Section | None = None

    @model_validator(mode="after")
    def _oauth2_when_asked(self) -> Settings:
        for name, section in (("mailbox", self.mailbox), ("smtp", self.smtp)):
            if section.auth == "oauth2":
                if self.oauth2 is None:
                    raise ValueError(f'[{name}] auth = "oauth2" needs an [oauth2] section')
                if not section.username:
                    raise ValueError(f'[{name}] auth = "oauth2" needs the mailbox as username')
        return self

    @model_validator(mode="after")
    def _unique_slugs(self) -> Settings:
        slugs = [event.slug for event in self.events]
        if len(set(slugs)) != len(slugs):
            raise ValueError("two [[events]] share a slug; each needs its own")
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.schedule.timezone)

    def event_infos(self) -> tuple[EventInfo, ...]:
        zone = self.zone
        return tuple(
            EventInfo(
                slug=e.slug,
                title=e.title,
                starts_at=_in_zone(e.starts_at, zone),
                ends_at=_in_zone(e.ends_at, zone),
                venue=e.venue,
                capacity=e.capacity,
                opens_at=_in_zone(e.opens_at, zone) if e.opens_at else None,
                closes_at=_in_zone(e.closes_at, zone) if e.closes_at else None,
                places_per_force=e.places_per_force,
                bookings_per_sender=e.bookings_per_sender,
                programme=e.programme.strip() if e.programme else None,
                directions=e.directions.strip() if e.directions else None,
                short_title=e.short_title.strip() if e.short_title else None,
                cancelled=e.cancelled,
                certificate=e.certificate,
            )
            for e in self.events
        )

    def policy(self) -> Policy:
        return Policy(
            eligible_domains=tuple(self.eligibility.domains),
            require_authentication=self.security.require_authentication,
            organiser_name=self.organiser.name,
            organiser_email=self.organiser.email,
            required_details=tuple(self.booking.required_details),
            offer_hours=self.booking.waitlist_offer_hours,
            review_unknown=self.eligibility.review_unknown,
        )

    def resolve_path(self, value: str) -> Path:
        """A path from the file, relative to the file's own folder."""
        path = Path(value).expanduser()
        return path if path.is_absolute() else (self.source.parent / path)

    def oauth2_in_use(self) -> OAuth2Section | None:
        """The [oauth2] section when IMAP or SMTP signs in with it, else None."""
        if "oauth2" in (self.mailbox.auth, self.smtp.auth):
            return self.oauth2
        return None

    def database_url(self) -> str:
        """The database URL, with a relative SQLite path taken from the config file's folder."""
        url = self.database.url
        prefix = "sqlite:///"
        if url.startswith(prefix) and url != "sqlite:///:memory:":
            return prefix + str(self.resolve_path(url[len(prefix) :]))
        return url


def _in_zone(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment.astimezone(zone)


def config_path(given: Path | None) -> Path:
    """`--config`, else $MAILBOT_CONFIG, else ./config.toml."""
    if given is not None:
        return given
    from_env = os.environ.get(CONFIG_ENV)
    return Path(from_env) if from_env else Path(DEFAULT_CONFIG_NAME)


def load_settings(path: Path) -> Settings:
    """Read and validate one config file. Raises ConfigError naming file, key and problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(path, None, "the file does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, None, f"cannot be read: {exc}") from None
    return parse_settings(text, path)


def parse_settings(text: str, path: Path) -> Settings:
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, None, f"is not valid TOML: {exc}") from None
    try:
        settings = Settings.model_validate({**document, "source": path.resolve()})
    except ValidationError as exc:
        # An unknown key usually explains a "missing" one (a misspelling), so name it first.
        errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
        first = errors[0]
        raise ConfigError(path, _key_name(first["loc"], document), _problem(first)) from None
    _check_across_sections(settings, path)
    return settings


def _check_across_sections(settings: Settings, path: Path) -> None:
    """What the sections cannot check alone, each error naming its own key."""
    if settings.retention.days > _LONGEST_DAYS:
        # Retention counts from an event's end; longer would run past the calendar.
        raise ConfigError(path, "retention.days", f"at most {_LONGEST_DAYS} (ten years)")
    if settings.organiser.email.lower() == settings.mailbox.address.lower():
        raise ConfigError(
            path,
            "organiser.email",
            "is the booking address itself: mail from it is taken for mailbot's own and"
            " never read, and the digest would land in the booking inbox; give the"
            " organiser's own address",
        )


def _key_name(location: tuple[int | str, ...], document: dict[str, Any]) -> str | None:
    parts: list[str] = []
    for part in location:
        if isinstance(part, int):
            parts[-1] = f"{parts[-1]}[{part + 1}]"  # people count [[events]] from 1
        else:
            parts.append(part)
    return ".".join(parts) or None


def _problem(error: Any) -> str:
    kind = error["type"]
    if kind == "missing":
        return "is required but missing"
    if kind == "extra_forbidden":
        return "is not a known key (check its spelling)"
    message = str(error["msg"])
    message = message.removeprefix("Value error, ")
    if "type" in kind or kind.endswith("_type"):
        return f"{message}, got {error.get('input')!r}"
    return message
