"""Realistic, made-up booking mail for `mailbot demo` (and the tests that replay it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime

AUTHSERV_ID = "mx.example.ac.uk"
BOOKING_ADDRESS = "bookings@example.ac.uk"


@dataclass(frozen=True)
class DemoMail:
    """One seeded message and what a person reading it would expect mailbot to do."""

    label: str
    data: bytes


def _message(
    *,
    sender: str,
    subject: str,
    body: str | None,
    sent_at: datetime,
    token: str,
    dmarc: str = "pass",
    html: str | None = None,
    extra: dict[str, str] | None = None,
) -> bytes:
    message = EmailMessage()
    domain = sender.rpartition("@")[2].rstrip(">")
    message["Authentication-Results"] = (
        f"{AUTHSERV_ID}; dkim={dmarc} header.d={domain}; spf={dmarc} smtp.mailfrom={domain}; "
        f"dmarc={dmarc} header.from={domain}"
    )
    message["From"] = sender
    message["To"] = f"Forum bookings <{BOOKING_ADDRESS}>"
    message["Subject"] = subject
    message["Date"] = format_datetime(sent_at)
    message["Message-ID"] = f"<{token}@{domain}>"
    for name, value in (extra or {}).items():
        message[name] = value
    if body is not None:
        message.set_content(body)
    if html is not None:
        if body is None:
            message.set_content(html, subtype="html")
        else:
            message.add_alternative(html, subtype="html")
    return message.as_bytes()


def demo_inbox(start: datetime) -> list[DemoMail]:
    """A dozen messages: officers from several forces, an HTML-only Outlook message, a
    non-police sender, an out-of-office, a repeat booking and one unauthenticated sender.
    With six places, the later officers go to the waitlist."""
    at = [start + timedelta(minutes=7 * i) for i in range(13)]
    outlook = {"X-Mailer": "Microsoft Outlook 16.0", "X-Auto-Response-Suppress": "All"}
    return [
        DemoMail(
            "officer, West Midlands, pipe signature",
            _message(
                sender='"Smith, Jane (DC 4471)" <jane.smith@westmidlands.police.uk>',
                subject="Booking - CSE research forum",
                body=(
                    "Hello,\n\nI would like to book a place at the forum in Preston please.\n\n"
                    "Many thanks,\nJane\n\n"
                    "DC 4471 Jane Smith | Child Abuse Investigation Unit | West Midlands Police\n"
                    "Tel: 0121 496 0000\n\nOFFICIAL\n"
                    "This email and any attachments are confidential and intended solely for "
                    "the addressee.\n"
                ),
                sent_at=at[0],
                token="demo-0001",
                extra=outlook,
            ),
        ),
        DemoMail(
            "officer, Lancashire",
            _message(
                sender="Tom Halloran <tom.halloran@lancashire.police.uk>",
                subject="Place at the forum",
                body=(
                    "Hi, could I have a place at the CSE forum please? I work in the "
                    "Preston exploitation team.\n\nRegards\n\n"
                    "PS 2210 Tom Halloran\nMissing From Home & CSE Team\nLancashire Constabulary\n"
                ),
                sent_at=at[1],
                token="demo-0002",
            ),
        ),
        DemoMail(
            "HTML-only Outlook message, Durham",
            _message(
                sender="Priya Ramanathan <priya.ramanathan@durham.police.uk>",
                subject="RE: Working together forum - booking",
                body=None,
                html=(
                    "<html><head><style>p{margin:0}</style></head><body>"
                    "<p>Good morning,</p><p>Please reserve me a place for the forum.</p>"
                    "<p>Kind regards</p><p><b>Priya Ramanathan</b><br>Analytical Researcher"
                    "<br>ERASE Team<br>Durham Constabulary</p></body></html>"
                ),
                sent_at=at[2],
                token="demo-0003",
                extra=outlook,
            ),
        ),
        DemoMail(
            "non-police sender",
            _message(
                sender="Alex Morgan <alex.morgan@gmail.example.com>",
                subject="Can I attend?",
                body="Hello, I'm a journalist and would love to attend the forum. Alex\n",
                sent_at=at[3],
                token="demo-0004",
            ),
        ),
        DemoMail(
            "out-of-office",
            _message(
                sender="Gareth Pugh <gareth.pugh@southwales.police.uk>",
                subject="Automatic reply: CSE forum",
                body="I am out of the office until Monday with no access to email.\n",
                sent_at=at[4],
                token="demo-0005",
                extra={"Auto-Submitted": "auto-replied", "X-Auto-Response-Suppress": "All"},
            ),
        ),
        DemoMail(
            "officer, West Yorkshire, special constable",
            _message(
                sender="Hannah Okafor <hannah.okafor@westyorkshire.police.uk>",
                subject="Forum booking",
                body=(
                    "Dear organiser,\n\nI'd like to attend the forum on police responses "
                    "to CSE.\n\nBest wishes\nHannah Okafor\nSpecial Constable\n"
                    "West Yorkshire Police\n"
                ),
                sent_at=at[5],
                token="demo-0006",
            ),
        ),
        DemoMail(
            "repeat booking (same officer again)",
            _message(
                sender='"Smith, Jane (DC 4471)" <jane.smith@westmidlands.police.uk>',
                subject="Booking - CSE research forum",
                body="Hello again, just checking my place is booked? Thanks, Jane\n",
                sent_at=at[6],
                token="demo-0007",
                extra=outlook,
            ),
        ),
        DemoMail(
            "officer, Metropolitan Police",
            _message(
                sender="DS Olu Adebayo <olu.adebayo@met.police.uk>",
                subject="Booking request",
                body=(
                    "Morning, please book me onto the forum.\n\nThanks\n"
                    "DS Olu Adebayo\nCSE Team, Havering\nMetropolitan Police Service\n"
                ),
                sent_at=at[7],
                token="demo-0008",
            ),
        ),
        DemoMail(
            "officer, Police Scotland",
            _message(
                sender="Eilidh MacLeod <eilidh.macleod@scotland.police.uk>",
                subject="Forum place",
                body=(
                    "Hi there,\n\nCould I book a place please?\n\nCheers,\nEilidh\n\n"
                    "DI Eilidh MacLeod\nNational Child Abuse Investigation Unit\nPolice Scotland\n"
                ),
                sent_at=at[8],
                token="demo-0009",
            ),
        ),
        DemoMail(
            "unauthenticated sender (DMARC fail)",
            _message(
                sender="Chris Doyle <chris.doyle@cumbria.police.uk>",
                subject="Booking",
                body="Please book me a place. Chris Doyle, DC, Cumbria Constabulary\n",
                sent_at=at[9],
                token="demo-0010",
                dmarc="fail",
            ),
        ),
        DemoMail(
            "officer, Greater Manchester (full: waitlist)",
            _message(
                sender="Siân Llewelyn <sian.llewelyn@gmp.police.uk>",
                subject="CSE forum - booking",
                body=(
                    "Hello, I'd like a place at the forum if any are left.\n\nDiolch,\n"
                    "Siân Llewelyn\nDetective Sergeant\nGreater Manchester Police\n"
                ),
                sent_at=at[10],
                token="demo-0011",
            ),
        ),
        DemoMail(
            "officer, Merseyside (full: waitlist)",
            _message(
                sender="Niamh O'Connor <niamh.oconnor@merseyside.police.uk>",
                subject="Booking for the Preston forum",
                body=(
                    "Hi, please add me to the forum.\n\nThanks\nPC Niamh O'Connor\n"
                    "Merseyside Police\n"
                ),
                sent_at=at[11],
                token="demo-0012",
            ),
        ),
    ]
