"""A certificate of attendance as a one-page PDF of real text (screen readers and search read
it), made with fpdf2."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from pathlib import Path

from mailbot.domain import BookingView, EventInfo
from mailbot.outbound.dates import long_date, time_range

__all__ = ["certificate_pdf", "hours_attended"]

# A Unicode font where the system has one (Debian's fonts-dejavu-core); fpdf2's own fonts
# are Latin-1 only, and names such as "Zoë Łukasik" must print as written where possible.
_UNICODE_FONTS = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/TTF/DejaVuSans.ttf"),
)


def hours_attended(event: EventInfo) -> str:
    """ "4 hours 45 minutes"."""
    minutes = int((event.ends_at - event.starts_at).total_seconds() // 60)
    hours, rest = divmod(minutes, 60)
    parts = [f"{hours} hour{'s' if hours != 1 else ''}"] if hours else []
    if rest or not parts:
        parts.append(f"{rest} minute{'s' if rest != 1 else ''}")
    return " ".join(parts)


def _as_written(text: str) -> str:
    return text


def _latin1(text: str) -> str:
    """Text the core fonts can print: accents kept where Latin-1 has them, else dropped
    ("Ł" becomes "L"), anything else "?"."""
    out = []
    for char in text:
        try:
            char.encode("latin-1")
            out.append(char)
        except UnicodeEncodeError:
            base = unicodedata.normalize("NFKD", char).encode("latin-1", "ignore").decode()
            out.append(base or {"Ł": "L", "ł": "l", "Ø": "O", "ø": "o"}.get(char, "?"))
    return "".join(out)


def certificate_pdf(
    booking: BookingView, event: EventInfo, *, organiser_name: str, issued: datetime
) -> bytes:
    """One A4 page naming the person, the event, its date, venue and hours, the organiser
    and the booking reference. The same input gives the same bytes."""
    from fpdf import FPDF  # imported here: only a mail with a certificate needs it

    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_creation_date(issued)
    pdf.set_title(f"Certificate of attendance: {event.title}")
    pdf.set_author(organiser_name)
    pdf.set_lang("en-GB")
    font_file = next((path for path in _UNICODE_FONTS if path.is_file()), None)
    family, text = "Helvetica", _latin1
    if font_file is not None:
        pdf.add_font("Body", "", str(font_file))
        family, text = "Body", _as_written
    pdf.set_auto_page_break(auto=False)
    pdf.add_page()
    width = pdf.w - 2 * 25

    def line(value: str, size: float, gap: float = 4) -> None:
        pdf.set_font(family, size=size)
        pdf.set_x(25)
        pdf.multi_cell(width, size * 0.5, text(value), align="C")
        pdf.ln(gap)

    who = " ".join(part for part in (booking.rank, booking.name) if part) or booking.email
    pdf.set_y(45)
    line("Certificate of attendance", 26, 14)
    line("This is to certify that", 13)
    line(who, 20, 2)
    if booking.force:
        line(booking.force, 13)
    line("attended", 13)
    line(event.title, 16, 8)
    line(long_date(event.starts_at), 13, 2)
    line(f"{time_range(event.starts_at, event.ends_at)} ({hours_attended(event)})", 13, 2)
    line(event.venue, 13, 24)
    line(organiser_name, 14, 1)
    line("Organiser", 11, 30)
    line(f"Booking reference {booking.ref} · issued {long_date(issued)}", 9)
    return bytes(pdf.output())
