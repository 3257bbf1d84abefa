"""Read a delivery failure report: which addresses failed, and which of our mails came back.

Pure: bytes in, a `Bounce` (or None for mail that is not a bounce) out; it never raises.

Recognising a bounce costs a full parse plus flufl.bounce's seventeen heuristic detectors,
roughly ten times the cost of parsing an ordinary message, and far more for a large attachment
that the heuristics read line by line. So the detectors run only on mail that carries at least
one mark that bounces have: a report content type or a delivery-status or returned-headers
part, a daemon-like or empty sender, a null Return-Path, X-Failed-Recipients, Auto-Submitted,
or a subject in the vocabulary of delivery failures. The trade-off: a bounce with none of
those marks (a person's address as sender, an unrelated subject and no report structure) is
not recognised here. Every message in flufl.bounce's own corpus carries one of them, and such
a message still meets the rest of the classifier, which answers nothing automated. Skipping
the heuristics on ordinary mail also keeps them from misreading an officer's message.
"""

from __future__ import annotations

import base64
import email
import email.header
import email.policy
import email.utils
import quopri
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from email.message import Message
from email.parser import HeaderParser
from functools import lru_cache

_DELIVERY_STATUS_TYPES = frozenset({"message/delivery-status", "message/global-delivery-status"})
_RETURNED_HEADER_TYPES = frozenset(
    {"text/rfc822-headers", "message/rfc822-headers", "message/global-headers"}
)
# Senders whose mail is a bounce whatever it says: the brief's MAILER-DAEMON and postmaster,
# in the spellings MTAs actually use.
_BOUNCE_SENDERS = frozenset({"mailer-daemon", "mailer_daemon", "mailerdaemon", "postmaster"})
# Senders that only make a message worth scanning: other systems' daemons and gateways.
_DAEMON_LIKE = re.compile(r"daemon|postmaster|^ndr$|^mdaemon$|mail\.?delivery", re.IGNORECASE)
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|undelivered|non-?deliver|not\s+(?:been\s+)?delivered|"
    r"could\s+not\s+be\s+delivered|"
    r"delivery\s+(?:status|fail|has\s+failed|notification|problem|report|delay|warning|error)|"
    r"returned\s+(?:mail|to\s+sender)|failure\s+notice|failed\s+mail|mail\s+(?:system\s+)?error|"
    r"delayed\s+mail|message\s+delayed|rejected\s+mail",
    re.IGNORECASE,
)
# Only these transfer encodings can hide a Message-ID from a search of the raw bytes.
_ENCODED = frozenset({"base64", "quoted-printable"})


@dataclass(frozen=True)
class Bounce:
    """What a bounce says about mail we sent.

    `temporary` is True only when delivery was merely delayed: no address failed for good.
    """

    failed_addresses: tuple[str, ...]  # lower-cased, sorted
    temporary: bool
    our_message_ids: tuple[str, ...]  # our Message-IDs found anywhere in it, in order


def bounce_report(data: bytes, own_message_id_domain: str) -> Bounce | None:
    """The bounce `data` reports, or None when it is not a bounce."""
    try:
        return _report(data, own_message_id_domain)
    except Exception:
        # Every step below guards its own failures; this only stops a bug in this module from
        # halting the pipeline, which then classifies the message as if it were no bounce.
        return None


def _report(data: bytes, own_domain: str) -> Bounce | None:
    try:
        message = email.message_from_bytes(data, policy=email.policy.compat32)
    except Exception:  # the compat32 parser is lenient; a failure here is not a bounce we can read
        return None
    parts = list(_walk(message))
    part_types = {_content_type(part) for part in parts}
    sender = _sender_address(message)
    if not _worth_scanning(message, part_types, sender):
        return None

    temporary_found, permanent_found = _flufl_failures(message)
    dsn_delayed, dsn_failed = _dsn_failures(parts)
    failed = permanent_found | dsn_failed
    delayed = temporary_found | dsn_delayed
    is_delivery_report = _is_delivery_report(message) or bool(part_types & _DELIVERY_STATUS_TYPES)
    if not (
        failed
        or delayed
        or is_delivery_report
        or _from_bounce_sender(message, sender)
        or _returns_a_message(message, part_types)
    ):
        return None
    return Bounce(
        failed_addresses=tuple(sorted(failed)),
        temporary=bool(delayed) and not failed,
        our_message_ids=_our_message_ids(data, parts, own_domain),
    )


def _worth_scanning(message: Message, part_types: set[str], sender: str) -> bool:
    """Whether the message carries any mark of a bounce (see the module docstring)."""
    if "multipart/report" in part_types:
        return True
    if part_types & (_DELIVERY_STATUS_TYPES | _RETURNED_HEADER_TYPES):
        return True
    local_part = sender.partition("@")[0]
    if not local_part or _DAEMON_LIKE.search(local_part):
        return True
    if _DAEMON_LIKE.search(_header_text(message, "From")):
        return True
    if _header_text(message, "Return-Path").strip() in ("<>", "< >"):
        return True
    if message.get("X-Failed-Recipients") is not None:
        return True
    auto_submitted = _header_text(message, "Auto-Submitted").strip().lower()
    if auto_submitted and not auto_submitted.startswith("no"):
        return True
    return bool(_BOUNCE_SUBJECT.search(_header_text(message, "Subject")))


def _from_bounce_sender(message: Message, sender: str) -> bool:
    """MAILER-DAEMON, postmaster, or a null address ("Mail Delivery System <>"), which only
    mail systems use."""
    if sender.partition("@")[0] in _BOUNCE_SENDERS:
        return True
    return not sender and re.search(r"<\s*>", _header_text(message, "From")) is not None


def _returns_a_message(message: Message, part_types: set[str]) -> bool:
    """A failure subject with the returned message or its headers attached: a bounce whose
    recipients no detector can name (flufl.bounce's simple_43 and dumbass_01 are such)."""
    if not part_types & ({"message/rfc822"} | _RETURNED_HEADER_TYPES):
        return False
    return bool(_BOUNCE_SUBJECT.search(_header_text(message, "Subject")))


def _flufl_failures(message: Message) -> tuple[frozenset[str], frozenset[str]]:
    """flufl.bounce's (temporary, permanent) failures; nothing when a detector breaks.

    A detector that raises on odd mail stops flufl's whole scan, so the DSN reading in this
    module is what still finds the standard reports then.
    """
    # Only here: most mail is not worth scanning, and flufl.bounce takes 20 ms to import.
    from flufl.bounce import all_failures

    try:
        temporary, permanent = all_failures(message)
    except Exception:
        return frozenset(), frozenset()
    return _addresses(temporary), _addresses(permanent)


def _addresses(found: Iterable[object]) -> frozenset[str]:
    result = set()
    for address in found:
        raw = address.decode("ascii", "replace") if isinstance(address, bytes) else str(address)
        text = raw.strip().lower()
        if text:
            result.add(text)
    return frozenset(result)


def _dsn_failures(parts: list[Message]) -> tuple[frozenset[str], frozenset[str]]:
    """(delayed, failed) recipients from RFC 3464 delivery-status parts."""
    delayed: set[str] = set()
    failed: set[str] = set()
    for part in parts:
        if _content_type(part) not in _DELIVERY_STATUS_TYPES:
            continue
        for block in _status_blocks(part):
            action = _header_text(block, "Action").strip().lower()
            if action.startswith(("failed", "error")):  # OpenSMTPD writes the non-standard "error"
                target = failed
            elif action.startswith("delayed"):
                target = delayed
            else:
                continue
            recipient = _recipient(block)
            if recipient:
                target.add(recipient)
    return frozenset(delayed), frozenset(failed)


def _status_blocks(part: Message) -> list[Message]:
    """The per-recipient field blocks of a delivery-status part, re-read from its text.

    The parser's own split is not trusted: it leaves a base64-encoded part (some gateways send
    them) as one opaque block, and reads message/global-delivery-status as a single message.
    """
    parser = HeaderParser(policy=email.policy.compat32)
    chunks = re.split(r"\n[ \t]*\n", _status_text(part).replace("\r\n", "\n"))
    return [parser.parsestr(chunk.strip() + "\n") for chunk in chunks if chunk.strip()]


def _status_text(part: Message) -> str:
    try:
        payload = part.get_payload()
        if isinstance(payload, list):
            text = "\n\n".join(block.as_string() for block in payload if isinstance(block, Message))
        elif isinstance(payload, str):
            text = payload
        else:
            return ""
        encoding = _transfer_encoding(part)
        if encoding == "base64":
            compact = "".join(text.split())
            compact += "=" * (-len(compact) % 4)
            return base64.b64decode(compact).decode("utf-8", errors="replace")
        if encoding == "quoted-printable":
            raw = text.encode("ascii", errors="replace")
            return quopri.decodestring(raw).decode("utf-8", errors="replace")
    except Exception:  # an undecodable status part reports nothing; flufl may still have
        return ""
    return text


def _recipient(block: Message) -> str | None:
    """The address we sent to: Original-Recipient when the MTA kept it, else Final-Recipient."""
    for name in ("Original-Recipient", "Final-Recipient"):
        value = _header_text(block, name)
        kind, separator, address = value.partition(";")
        address = (address if separator else kind).strip().strip("<>").strip().lower()
        if "@" in address:
            return address
    return None


def _is_delivery_report(message: Message) -> bool:
    if message.get_content_type() != "multipart/report":
        return False
    try:
        report_type = message.get_param("report-type")
    except Exception:  # a malformed Content-Type names no report type
        return False
    if isinstance(report_type, tuple):  # RFC 2231-encoded parameter
        report_type = email.utils.collapse_rfc2231_value(report_type)
    return isinstance(report_type, str) and report_type.strip().lower() == "delivery-status"


def _our_message_ids(data: bytes, parts: list[Message], own_domain: str) -> tuple[str, ...]:
    """Our Message-IDs anywhere in the bounce: in returned headers, a returned message, or
    quoted text. Encoded parts are searched decoded, since base64 or a soft line break would
    hide an ID from the search of the raw bytes."""
    pattern = _own_id_pattern(own_domain.strip().lower())
    haystacks = [data]
    for part in parts:
        if part.is_multipart() or _transfer_encoding(part) not in _ENCODED:
            continue
        try:
            payload = part.get_payload(decode=True)
        except Exception:  # an undecodable part hides nothing we could find anyway
            continue
        if isinstance(payload, bytes):
            haystacks.append(payload)
    found: dict[str, None] = {}
    for haystack in haystacks:
        for match in pattern.finditer(haystack):
            found.setdefault(match.group(0).decode("ascii"), None)
    return tuple(found)


@lru_cache(maxsize=8)
def _own_id_pattern(own_domain: str) -> re.Pattern[bytes]:
    # The token alphabet is the one render.new_message_id accepts.
    domain = re.escape(own_domain.encode("ascii", errors="replace"))
    return re.compile(rb"<mailbot\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@" + domain + rb">", re.I)


def _walk(message: Message) -> Iterator[Message]:
    """Every part, stopping quietly where the MIME structure is too broken to walk."""
    try:
        yield from message.walk()
    except Exception:  # e.g. RecursionError on absurdly deep nesting
        return


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type()
    except Exception:  # an unreadable Content-Type reads as plain text, as RFC 2045 says
        return "text/plain"


def _transfer_encoding(part: Message) -> str:
    return _header_text(part, "Content-Transfer-Encoding").strip().lower()


def _sender_address(message: Message) -> str:
    """The lower-cased From address, or "" when there is none (as in a null sender)."""
    try:
        _, address = email.utils.parseaddr(_header_text(message, "From"))
    except Exception:  # an unparseable From names no sender, like a null one
        return ""
    return address.strip().lower()


def _header_text(message: Message, name: str) -> str:
    """A header decoded to one line of text, or "" when absent or unreadable."""
    try:
        value = message.get(name)
        if value is None:
            return ""
        raw = str(value)
    except Exception:  # compat32 can hand back a Header that will not stringify
        return ""
    try:
        text = str(email.header.make_header(email.header.decode_header(raw)))
    except Exception:  # a broken encoded-word: the raw text still shows daemons and subjects
        text = raw
    return " ".join(text.split())
