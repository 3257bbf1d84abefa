"""Tests for the organiser's digest: a known state in, the subject, text and HTML out."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timedelta

import jinja2
import pytest

from mailbot.domain import BookingStatus, BookingView, EventInfo
from mailbot.inbound.commands import Verb, parse_commands
from mailbot.outbound.digest import (
    COMMAND_HELP,
    digest_subject,
    fill_bar,
    fill_percent,
    has_news,
    render_digest,
)
from mailbot.outbound.render import Sender, make_environment
from mailbot.records import (
    DeliveryFailure,
    DigestState,
    EventDigest,
    Quarantined,
    Question,
    Undeliverable,
)
from tests.values import FORUM, LONDON

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=LONDON)  # a Wednesday
SINCE = NOW - timedelta(days=1)
WORKSHOP = EventInfo(
    slug="cse-workshop-leeds",
    title="Interviewing children: a practitioner workshop",
    starts_at=datetime(2027, 4, 14, 10, 0, tzinfo=LONDON),
    ends_at=datetime(2027, 4, 14, 16, 0, tzinfo=LONDON),
    venue="Leeds Beckett University, Leeds, LS1 3HE",
    capacity=40,
)


def booking(
    ref: str,
    status: BookingStatus,
    name: str,
    force: str = "Lancashire Constabulary",
    *,
    rank: str | None = "DC",
    event: EventInfo = FORUM,
    position: int | None = None,
    offer_until: datetime | None = None,
) -> BookingView:
    local = name.lower().replace(" ", ".")
    return BookingView(
        ref=ref,
        event_slug=event.slug,
        email=f"{local}@example.police.uk",
        status=status,
        name=name,
        rank=rank,
        force=force,
        waitlist_position=position,
        offer_expires_at=offer_until,
    )


HELD = (
    booking("K7Q-4MZ", BookingStatus.HELD, "Priya Okafor", "Durham Constabulary"),
    booking("H2R-9TX", BookingStatus.HELD, "Tom Ellery", "Cumbria Constabulary", rank="PC"),
)
NEW = (
    booking("NAB-226", BookingStatus.CONFIRMED, "Aled Pryce"),
    booking("NAB-222", BookingStatus.CONFIRMED, "Beth Marlow", "West Midlands Police"),
    booking("NAB-223", BookingStatus.WAITLISTED, "Cai Dunmore", position=4),
)
CANCELLED = (booking("C9C-555", BookingStatus.CANCELLED, "Dora Finch"),)
PROMOTED = (booking("P5P-222", BookingStatus.CONFIRMED, "Evan Holt", "Merseyside Police"),)
WAITING = (
    booking(
        "WXW-336",
        BookingStatus.WAITLISTED,
        "Fay Quill",
        position=1,
        offer_until=NOW + timedelta(hours=6),
    ),
    booking("WXW-332", BookingStatus.WAITLISTED, "Gus Renner", position=2),
    booking("WXW-333", BookingStatus.WAITLISTED, "Hana Stroud", position=3),
    NEW[2],
)
PER_FORCE = (
    ("Lancashire Constabulary", 21),
    ("West Midlands Police", 9),
    ("Merseyside Police", 7),
)
FORUM_DIGEST = EventDigest(
    event=FORUM,
    confirmed=37,
    waitlisted=4,
    held=HELD,
    new_bookings=NEW,
    cancellations=CANCELLED,
    promotions=PROMOTED,
    waitlist=WAITING,
    per_force=PER_FORCE,
)
QUESTION = Question(
    asked_at=NOW - timedelta(hours=3),
    email="ines.vale@example.police.uk",
    name="Ines Vale",
    text="Is there parking at the venue?\nI will be driving from Carlisle.",
)
BOUNCED = Undeliverable(
    booking=booking("U4U-333", BookingStatus.CONFIRMED, "Jon Kestrel"),
    reason="550 5.1.1 mailbox unavailable",
)
SET_ASIDE = Quarantined(
    received_at=NOW - timedelta(hours=5),
    sender="kit.lowry@example.police.uk",
    reason="the message could not be decoded",
    subject="Places for my team",
    sent_at=NOW - timedelta(hours=14),
)
SENDER = Sender(
    booking_address="bookings@example.ac.uk",
    organiser_name="Forum Organiser",
    organiser_email="organiser@example.ac.uk",
    display_name="Forum Organiser (bookings)",
    quarantine_folder="Set aside",
)
FAILED = DeliveryFailure(
    failed_at=NOW - timedelta(hours=2),
    recipient="lee.marsh@example.police.uk",
    outcome="confirmed",
    error="554 5.7.1 rejected by policy",
    booking_ref="NAB-222",
)
STATE = DigestState(
    generated_at=NOW,
    since=SINCE,
    events=(FORUM_DIGEST,),
    questions=(QUESTION,),
    undeliverable=(BOUNCED,),
    quarantined=(SET_ASIDE,),
    delivery_failures=(FAILED,),
)
QUIET_EVENT = replace(FORUM_DIGEST, held=(), new_bookings=(), cancellations=(), promotions=())
QUIET = DigestState(generated_at=NOW, since=SINCE, events=(QUIET_EVENT,))


@pytest.fixture(scope="module")
def env() -> jinja2.Environment:
    return make_environment()


@pytest.fixture(scope="module")
def rendered(env: jinja2.Environment) -> tuple[str, str]:
    return render_digest(env, STATE, SENDER)


def _visible(html: str) -> str:
    """The HTML as a reader sees its words: tags gone, entities decoded, spaces collapsed."""
    text = re.sub(r"<[^>]+>", " ", html)
    for entity, char in (("&lt;", "<"), ("&gt;", ">"), ("&#39;", "'"), ("&#34;", '"')):
        text = text.replace(entity, char)
    text = text.replace("&amp;", "&")
    return " ".join(text.split())


# --- the fill bar -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("taken", "capacity", "expected"),
    [
        (30, 60, "[##########----------] 30/60"),
        (0, 60, "[--------------------] 0/60"),
        (60, 60, "[####################] 60/60"),
        (75, 60, "[####################] 75/60"),  # over capacity: the bar is capped
        (1, 60, "[#-------------------] 1/60"),  # one booking never looks like none
        (59, 60, "[###################-] 59/60"),  # nearly full never looks full
        (37, 60, "[############--------] 37/60"),
        (0, 0, "[--------------------] 0/0"),
        (3, 0, "[####################] 3/0"),
        (-2, 60, "[--------------------] -2/60"),
    ],
)
def test_fill_bar(taken: int, capacity: int, expected: str) -> None:
    assert fill_bar(taken, capacity) == expected


def test_fill_bar_width() -> None:
    assert fill_bar(5, 10, width=4) == "[##--] 5/10"


@pytest.mark.parametrize(
    ("taken", "capacity", "expected"),
    [
        (37, 60, 61),
        (0, 60, 0),
        (60, 60, 100),
        (90, 60, 100),
        (1, 1000, 1),
        (999, 1000, 99),
        (0, 0, 0),
    ],
)
def test_fill_percent(taken: int, capacity: int, expected: int) -> None:
    assert fill_percent(taken, capacity) == expected


# --- has_news -----------------------------------------------------------------------------


def test_a_quiet_state_has_no_news() -> None:
    assert not has_news(QUIET)
    assert not has_news(DigestState(generated_at=NOW, since=None, events=()))


@pytest.mark.parametrize(
    "news",
    [
        pytest.param(replace(QUIET, events=(replace(QUIET_EVENT, held=HELD[:1]),)), id="held"),
        pytest.param(
            replace(QUIET, events=(replace(QUIET_EVENT, new_bookings=NEW[:1]),)), id="new"
        ),
        pytest.param(
            replace(QUIET, events=(replace(QUIET_EVENT, cancellations=CANCELLED),)), id="cancelled"
        ),
        pytest.param(
            replace(QUIET, events=(replace(QUIET_EVENT, promotions=PROMOTED),)), id="promoted"
        ),
        pytest.param(replace(QUIET, questions=(QUESTION,)), id="question"),
        pytest.param(replace(QUIET, undeliverable=(BOUNCED,)), id="undeliverable"),
        pytest.param(replace(QUIET, quarantined=(SET_ASIDE,)), id="quarantined"),
        pytest.param(replace(QUIET, delivery_failures=(FAILED,)), id="delivery-failure"),
        pytest.param(
            replace(
                QUIET,
                events=(
                    QUIET_EVENT,
                    EventDigest(WORKSHOP, 0, 0, (), NEW[:1], (), (), (), ()),
                ),
            ),
            id="second-event",
        ),
    ],
)
def test_each_kind_of_news_counts(news: DigestState) -> None:
    assert has_news(news)


# --- the subject --------------------------------------------------------------------------


def test_subject_for_one_event() -> None:
    assert digest_subject(
        replace(STATE, questions=(), undeliverable=(), quarantined=(), delivery_failures=())
    ) == ("Bookings digest, Wednesday 25 November: 37 of 60 places taken, 2 to review")


def test_subject_counts_questions_and_problems() -> None:
    assert digest_subject(STATE) == (
        "Bookings digest, Wednesday 25 November: 37 of 60 places taken, 2 to review, "
        "1 question, 3 problems"
    )


def test_subject_says_when_nothing_changed() -> None:
    assert digest_subject(QUIET) == (
        "Bookings digest, Wednesday 25 November: 37 of 60 places taken, no changes"
    )


def test_subject_for_two_events_gives_totals() -> None:
    two = replace(
        QUIET, events=(QUIET_EVENT, EventDigest(WORKSHOP, 12, 0, HELD[1:], (), (), (), (), ()))
    )
    assert digest_subject(two) == (
        "Bookings digest, Wednesday 25 November: 2 events, 49 of 100 places taken, 1 to review"
    )


def test_subject_without_events() -> None:
    empty = DigestState(generated_at=NOW, since=None, events=())
    assert digest_subject(empty) == "Bookings digest, Wednesday 25 November: no events, no changes"


# --- the text and HTML --------------------------------------------------------------------


@pytest.fixture(params=["text", "html"])
def shown(request: pytest.FixtureRequest, rendered: tuple[str, str]) -> str:
    text, html = rendered
    return text if request.param == "text" else _visible(html)


def test_held_requests_come_with_their_reply_commands(shown: str) -> None:
    for held in HELD:
        assert f"APPROVE {held.ref}" in shown
        assert f"DECLINE {held.ref}" in shown
        assert held.email in shown
        assert held.name is not None and held.name in shown
    assert "Requests held for review (2)" in shown


def test_held_commands_stand_alone_on_their_lines_in_text(rendered: tuple[str, str]) -> None:
    text = rendered[0]
    lines = [line.strip() for line in text.splitlines()]
    for held in HELD:
        # The organiser may copy one line into a reply: it must parse as exactly one command.
        line = next(line for line in lines if line.endswith(f"APPROVE {held.ref}"))
        command = line.rpartition(":")[2].strip()
        parsed = parse_commands(command)
        assert not parsed.problems
        assert [(c.verb, c.ref) for c in parsed.commands] == [(Verb.APPROVE, held.ref)]


def test_question_shows_its_words_and_whom_to_reply_to(shown: str) -> None:
    assert "Is there parking at the venue?" in shown
    assert "I will be driving from Carlisle." in shown
    assert "Ines Vale" in shown
    assert "Reply to them at: ines.vale@example.police.uk" in shown
    assert "Wednesday 25 November, 05:00" in shown


def test_problems_are_listed(shown: str) -> None:
    assert "Jon Kestrel" in shown
    assert "550 5.1.1 mailbox unavailable" in shown
    assert "CANCEL U4U-333" in shown
    assert "kit.lowry@example.police.uk" in shown
    assert "the message could not be decoded" in shown
    assert "lee.marsh@example.police.uk" in shown
    assert "554 5.7.1 rejected by policy" in shown
    assert "NAB-222" in shown


def test_event_numbers_and_changes(shown: str) -> None:
    assert FORUM.title in shown or FORUM.title.upper() in shown
    assert FORUM.slug in shown
    assert "37 of 60 places taken, 23 left" in shown
    for group, title in ((NEW, "New bookings (3)"), (CANCELLED, "Cancellations (1)")):
        assert title in shown
        for b in group:
            assert b.ref in shown
            assert b.name is not None and b.name in shown
    assert "Given a place from the waiting list (1)" in shown
    assert "Evan Holt" in shown


def test_waitlist_has_positions_and_offers(shown: str) -> None:
    assert "Waiting list (4)" in shown
    for b in WAITING:
        assert f"{b.waitlist_position}. {b.ref}" in shown
    assert "offered a place until Wednesday 25 November, 14:00" in shown


def test_per_force_counts(rendered: tuple[str, str]) -> None:
    text, html = rendered
    for force, count in PER_FORCE:
        assert re.search(rf"^  {re.escape(force)} +{count}$", text, re.MULTILINE)
        assert re.search(rf">{re.escape(force)}</td><td[^>]*>{count}</td>", html)


def test_text_has_the_fill_bar(rendered: tuple[str, str]) -> None:
    assert "[############--------] 37/60" in rendered[0]


def test_html_has_a_two_cell_fill_bar(rendered: tuple[str, str]) -> None:
    html = rendered[1]
    assert re.search(r'<td width="61%"[^>]*background-color:#1a4f8b', html)
    assert re.search(r'<td width="39%"[^>]*background-color:#e6e9ed', html)


def test_full_event_bar_is_one_cell(env: jinja2.Environment) -> None:
    full = replace(QUIET, events=(replace(QUIET_EVENT, confirmed=62),))
    text, html = render_digest(env, full, SENDER)
    assert "[####################] 62/60" in text
    assert "62 of 60 places taken, 0 left (2 more booked than there are places)" in text
    assert 'width="100%" height="18"' in html
    assert 'width="0%"' not in html


def test_order_puts_what_needs_the_organiser_first(shown: str) -> None:
    marks = [
        "Requests held for review",
        "Questions from attendees",
        "Addresses our mail could not reach",
        "Messages set aside without a reply",
        "Mail we gave up sending",
        "37 of 60 places taken",
        "New bookings",
        "Cancellations",
        "Given a place from the waiting list",
        "Waiting list (4)",
        "Places by force",
    ]
    where = [shown.index(mark) for mark in marks]
    assert where == sorted(where)
    assert shown.lower().index("how to act on this digest") > where[-1]


def test_help_lists_every_command(shown: str) -> None:
    assert {syntax.split()[0] for syntax, _ in COMMAND_HELP} == {verb.value for verb in Verb}
    for syntax, _ in COMMAND_HELP:
        assert syntax in shown
    assert "one command per line at the top of your reply" in shown


def test_html_uses_inline_styles_only(rendered: tuple[str, str]) -> None:
    html = rendered[1]
    for forbidden in ("<style", "<link", "<img", "<script", "class="):
        assert forbidden not in html


def test_a_quiet_digest_says_so(env: jinja2.Environment) -> None:
    text, html = render_digest(env, QUIET, SENDER)
    assert "Nothing has changed and nothing needs you today." in text
    assert "Nothing has changed and nothing needs you today." in html
    assert "WHAT NEEDS YOU" not in text
    assert "What needs you" not in html


def test_first_digest_has_no_since(env: jinja2.Environment) -> None:
    text, _ = render_digest(env, replace(STATE, since=None), SENDER)
    assert "This is the first digest" in text


# --- hostile input ------------------------------------------------------------------------


def test_html_escapes_names_and_questions(env: jinja2.Environment) -> None:
    hostile_name = "<script>alert(1)</script> Smith & Co"
    hostile_question = 'Can I bring <b>two</b> & "friends"? <img src=x onerror=alert(1)>'
    held = replace(HELD[0], name=hostile_name, force="<i>Force</i>")
    state = replace(
        STATE,
        events=(replace(FORUM_DIGEST, held=(held,), per_force=(("A & B <Police>", 2),)),),
        questions=(replace(QUESTION, name=hostile_name, text=hostile_question),),
    )
    text, html = render_digest(env, state, SENDER)
    assert "<script>" not in html
    assert "<img" not in html
    assert "<b>two</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Smith &amp; Co" in html
    assert "Can I bring &lt;b&gt;two&lt;/b&gt; &amp; &#34;friends&#34;?" in html
    assert "A &amp; B &lt;Police&gt;" in html
    assert "&lt;i&gt;Force&lt;/i&gt;" in html
    # The text part is not HTML: escaping it would show the reader "&amp;".
    assert hostile_name in text
    assert hostile_question in text


# --- several events -----------------------------------------------------------------------


def test_two_events_are_both_listed(env: jinja2.Environment) -> None:
    workshop_held = booking(
        "Q3Z-8LM", BookingStatus.HELD, "Mo Ashdown", "Cleveland Police", event=WORKSHOP
    )
    workshop = EventDigest(
        event=WORKSHOP,
        confirmed=12,
        waitlisted=0,
        held=(workshop_held,),
        new_bookings=(booking("R2R-444", BookingStatus.CONFIRMED, "Nia Brook", event=WORKSHOP),),
        cancellations=(),
        promotions=(),
        waitlist=(),
        per_force=(("Cleveland Police", 12),),
    )
    state = replace(STATE, events=(FORUM_DIGEST, workshop))
    text, html = render_digest(env, state, SENDER)
    visible = _visible(html)
    for shown in (text, visible):
        assert "37 of 60 places taken" in shown
        assert "12 of 40 places taken, 28 left" in shown
        assert WORKSHOP.slug in shown and FORUM.slug in shown
        assert "APPROVE Q3Z-8LM" in shown and "APPROVE K7Q-4MZ" in shown
        # With several events, each held request says which event it is for.
        assert f"for {WORKSHOP.title}" in shown
        assert "Nobody is waiting." in shown
        assert "Nia Brook" in shown
    assert "[######--------------] 12/40" in text
    assert digest_subject(state).startswith(
        "Bookings digest, Wednesday 25 November: 2 events, 49 of 100 places taken, 3 to review"
    )


# --- mail set aside ---------------------------------------------------------------------------


UNREADABLE = Quarantined(
    received_at=NOW - timedelta(hours=4),
    sender=None,
    reason="the From header does not name exactly one mailbox",
    subject="",
    sent_at=None,
    from_line="undisclosed-recipients:;",
)


def test_set_aside_mail_gives_sender_subject_date_and_the_folder_to_look_in(
    env: jinja2.Environment,
) -> None:
    state = replace(STATE, quarantined=(SET_ASIDE, UNREADABLE))
    text, html = render_digest(env, state, SENDER)
    for shown in (text, _visible(html)):
        assert "Messages set aside without a reply (2)" in shown
        assert "From kit.lowry@example.police.uk, received Wednesday 25 November, 03:00" in shown
        assert "Subject: Places for my team" in shown
        assert "Sent: Tuesday 24 November, 18:00" in shown
        assert (
            'From an unreadable sender (the From line reads "undisclosed-recipients:;"), '
            "received Wednesday 25 November, 04:00"
        ) in shown
        assert "Subject: (no subject)" in shown
        assert "Why: the From header does not name exactly one mailbox" in shown
        assert (
            'They are in the "Set aside" folder of the booking mailbox bookings@example.ac.uk.'
        ) in shown
    assert text.count("Sent: ") == 1, "no date line for a message that gave none"


def test_set_aside_mail_in_a_maildir_inbox_names_the_folder_on_disk(
    env: jinja2.Environment,
) -> None:
    on_disk = replace(SENDER, quarantine_path="/srv/mailbot/inbox/.Set aside")
    text, html = render_digest(env, STATE, on_disk)
    for shown in (text, _visible(html)):
        assert "They are in the folder /srv/mailbot/inbox/.Set aside." in shown
        assert "booking mailbox" not in shown


def test_mail_set_aside_before_subjects_were_kept_still_renders(env: jinja2.Environment) -> None:
    earlier = Quarantined(NOW - timedelta(hours=5), None, "the message is empty")
    text, html = render_digest(env, replace(STATE, quarantined=(earlier,)), SENDER)
    for shown in (text, _visible(html)):
        assert "From an unreadable sender, received Wednesday 25 November, 03:00" in shown
        assert "Subject:" not in shown
        assert "Why: the message is empty" in shown


def test_html_escapes_what_set_aside_mail_says(env: jinja2.Environment) -> None:
    hostile = replace(
        UNREADABLE, subject="<b>Urgent</b> & <img src=x>", from_line='"<script>" <x@y>'
    )
    text, html = render_digest(env, replace(STATE, quarantined=(hostile,)), SENDER)
    assert "<img" not in html and "<script>" not in html and "<b>Urgent" not in html
    assert "&lt;b&gt;Urgent&lt;/b&gt; &amp; &lt;img src=x&gt;" in html
    assert "Subject: <b>Urgent</b> & <img src=x>" in text


def test_the_help_shows_how_to_add_a_note_and_its_example_is_read_so(shown: str) -> None:
    # Issue 16: a note after a command sank the whole mail of commands.
    found = re.search(r"e\.g\. (CANCEL K7Q-4MZ - she emailed me)\s*;", shown)
    assert found is not None, "the help shows a command with a note"
    (command,) = parse_commands(found.group(1)).commands
    assert (command.verb, command.ref, command.note) == (Verb.CANCEL, "K7Q-4MZ", "she emailed me")
