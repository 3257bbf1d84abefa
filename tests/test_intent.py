"""What a mail asks for: cancel, amend, colleagues, questions, thanks and calendar replies."""

from __future__ import annotations

import pytest
from icalendar import Calendar, Event, vCalAddress

from mailbot.domain import Intent, SenderDetails
from mailbot.inbound.classify.calendar import CalendarReply, calendar_reply
from mailbot.inbound.classify.intent import interpret
from mailbot.outbound.render import _SUBJECTS

SENDER = "ann.lee@met.police.uk"
OWN = frozenset({"bookings@example.ac.uk"})
SIGNATURE = (
    "\n\nKind regards,\nDC 2231 Ann Lee\nMCIT | Metropolitan Police Service\nann.lee@met.police.uk"
)


def ics(method: str, partstat: str | None, attendee: str = "mailto:Ann.Lee@met.police.uk") -> str:
    calendar = Calendar()
    calendar.add("prodid", "-//Example Mail Client//EN")
    calendar.add("version", "2.0")
    calendar.add("method", method)
    event = Event()
    event.add("uid", "forum-2025@example.ac.uk")
    event.add("summary", "Police research forum")
    address = vCalAddress(attendee)
    address.params["CN"] = "Ann Lee"
    if partstat is not None:
        address.params["PARTSTAT"] = partstat
    event.add("attendee", address)
    calendar.add_component(event)
    data: bytes = calendar.to_ical()
    return data.decode()


@pytest.mark.parametrize(
    ("subject", "body", "intent"),
    [
        # Bookings, including the ones that are phrased as questions.
        ("Research forum", "Please book me a place.", Intent.BOOK),
        ("Research forum", "Could I book a place?", Intent.BOOK),
        ("Forum", "Hi,\nCan I have a place at the forum please?", Intent.BOOK),
        ("Forum", "Is there space for me?", Intent.BOOK),
        ("Forum 12 June", "I'd like to attend the forum if there is room.", Intent.BOOK),
        ("Booking request", "DC Ann Lee, MCIT.", Intent.BOOK),
        ("", "", Intent.BOOK),
        # Cancellations: subject, opening lines, and the many ways people say it.
        ("Cancel my place", "Thanks", Intent.CANCEL),
        ("Re: Your place is confirmed", "I can no longer attend, sorry.", Intent.CANCEL),
        ("Re: Your place is confirmed", "Unfortunately I can't make it now.", Intent.CANCEL),
        ("Re: Your place is confirmed", "I'm unable to attend due to a court date.", Intent.CANCEL),
        ("RE: Forum", "Please cancel my booking.", Intent.CANCEL),
        ("Re: Forum", "I would like to withdraw from the forum.", Intent.CANCEL),
        ("Re: Forum", "Happy to give up my place for someone on the waiting list.", Intent.CANCEL),
        ("Re: Waiting list", "Please remove me from the list, thanks.", Intent.CANCEL),
        ("Re: Waiting list", "Could you take me off the waiting list?", Intent.CANCEL),
        ("Re: Forum", "I won't be able to attend after all.", Intent.CANCEL),
        ("Fw: Re: Cancellation", "", Intent.CANCEL),
        # Not cancellations: signatures, policies and hypotheticals.
        (
            "Booking",
            "Please book me.\n\nKind regards,\nJane\nCancellations: see our policy",
            Intent.BOOK,
        ),
        (
            "Forum",
            "Please book me a place.\n\nThanks\nDS Jo Bloggs\nNB our cancellation policy: please cancel 48h ahead",
            Intent.BOOK,
        ),
        ("Re: Your place is confirmed", "What is the cancellation policy?", Intent.QUESTION),
        ("Re: Your place is confirmed", "If I need to cancel, who should I tell?", Intent.QUESTION),
        ("Re: Your place is confirmed", "Please book me. I'm not coming by car.", Intent.BOOK),
        ("Re: Forum", "My colleague can't make it, can I bring someone else?", Intent.QUESTION),
        # Amendments of needs on an existing booking.
        ("Re: Your place is confirmed", "I'm vegan.", Intent.AMEND),
        (
            "Re: Your place is confirmed",
            "Thanks for confirming, I'm a wheelchair user so step-free access would help.",
            Intent.AMEND,
        ),
        ("Re: Forum", "Dietary requirements: gluten free please.", Intent.AMEND),
        ("Re: Forum", "Just to let you know I have a severe nut allergy.", Intent.AMEND),
        ("Re: Forum", "I'll need a BSL interpreter for the afternoon sessions.", Intent.AMEND),
        ("Re: Forum", "Will there be a hearing loop in the room?", Intent.QUESTION),
        ("Re: Forum", "I have no dietary requirements. Looking forward to it!", Intent.ACKNOWLEDGE),
        # Questions for a human.
        ("Re: Your place is confirmed", "What time does registration open?", Intent.QUESTION),
        ("Re: Your place is confirmed", "Where is the venue exactly", Intent.QUESTION),
        ("Re: Forum", "Can I bring my laptop?", Intent.QUESTION),
        (
            "Re: Forum",
            "Could you tell me whether slides will be shared afterwards.",
            Intent.QUESTION,
        ),
        ("Re: Forum", "How do I get there from the station?", Intent.QUESTION),
        # Acknowledgements.
        ("Re: Your place is confirmed", "Thanks!", Intent.ACKNOWLEDGE),
        ("Re: Your place is confirmed", "Thank you, see you there\nAnn", Intent.ACKNOWLEDGE),
        ("Re: Your place is confirmed", "Great, thanks" + SIGNATURE, Intent.ACKNOWLEDGE),
        (
            "RE: Forum",
            "Many thanks for confirming my place, see you on the 12th.",
            Intent.ACKNOWLEDGE,
        ),
        ("Re: Your place is confirmed", "Thanks!\nCould you send me the agenda", Intent.QUESTION),
    ],
)
def test_intent(subject: str, body: str, intent: Intent) -> None:
    assert interpret(subject, body, SENDER, own_addresses=OWN).intent is intent


@pytest.mark.parametrize(
    ("subject", "body", "intent", "needs"),
    [
        (
            "Forum",
            "I'm vegetarian, please book me.",
            Intent.BOOK,
            "I'm vegetarian, please book me.",
        ),
        ("Forum", "Please book me a place; I'm vegetarian.", Intent.BOOK, "I'm vegetarian."),
        (
            "Re: Your place is confirmed",
            "Thanks for confirming, I'm a wheelchair user so step-free access would help.",
            Intent.AMEND,
            "Thanks for confirming, I'm a wheelchair user so step-free access would help.",
        ),
        (
            "Re: Forum",
            "Hello,\nI should have said: I am halal\nand I use a wheelchair." + SIGNATURE,
            Intent.AMEND,
            "I should have said: I am halal and I use a wheelchair.",
        ),
        ("Forum", "Please book me. No dietary requirements.", Intent.BOOK, None),
        ("Forum", "I'm keen to attend. I use a wheelchair.", Intent.BOOK, "I use a wheelchair."),
        ("Re: Forum", "Is there a vegetarian option at lunch?", Intent.QUESTION, None),
    ],
)
def test_needs_are_kept_in_the_writers_words(
    subject: str, body: str, intent: Intent, needs: str | None
) -> None:
    result = interpret(subject, body, SENDER)
    assert (result.intent, result.needs) == (intent, needs)


def test_needs_are_cut_to_300_characters() -> None:
    body = "I'm vegan and " + "I also cannot eat many other things " * 20 + "."
    needs = interpret("Re: Forum", body, SENDER).needs
    assert needs is not None and len(needs) <= 300 and needs.startswith("I'm vegan")


@pytest.mark.parametrize(
    ("body", "intent", "question"),
    [
        ("Please book me. Is there parking?", Intent.BOOK, "Is there parking?"),
        ("Could I book a place? Also, is lunch provided?", Intent.BOOK, "Also, is lunch provided?"),
        ("Is there parking on site?", Intent.QUESTION, "Is there parking on site?"),
        (
            "Please book me.\n\nThanks,\nAnn\n\nPS will the slides be shared afterwards?",
            Intent.BOOK,
            "PS will the slides be shared afterwards?",
        ),
        ("Please book me a place.", Intent.BOOK, None),
    ],
)
def test_questions_are_passed_on(body: str, intent: Intent, question: str | None) -> None:
    result = interpret("Forum", body, SENDER)
    assert (result.intent, result.question) == (intent, question)


def test_a_long_question_is_cut_to_500_characters() -> None:
    body = "Could you tell me " + "about the agenda and the speakers " * 30 + "?"
    question = interpret("Re: Forum", body, SENDER).question
    assert question is not None and len(question) <= 500


ALAN = SenderDetails(
    "alan.brown@met.police.uk", "Alan Brown", "Detective Constable", "Metropolitan Police Service"
)
SARAH = SenderDetails("sarah.khan@met.police.uk", "Sarah Khan", None, "Metropolitan Police Service")
TOM = SenderDetails(
    "tom.reid@lancashire.police.uk", "Tom Reid", "Police Sergeant", "Lancashire Constabulary"
)
PRIYA = SenderDetails(
    "priya.shah@kent.police.uk", "Priya Shah", "Detective Sergeant", "Kent Police"
)


@pytest.mark.parametrize(
    ("body", "colleagues", "include_sender"),
    [
        (
            "Please book me a place. Could you also book DC Alan Brown (alan.brown@met.police.uk)"
            " and Sarah Khan <sarah.khan@met.police.uk>?" + SIGNATURE,
            (ALAN, SARAH),
            True,
        ),
        (
            "Please book my team:\n\n- DC 4471 Alan Brown, alan.brown@met.police.uk\n"
            "- DS 1022 Priya Shah, priya.shah@kent.police.uk\n- Sarah Khan <sarah.khan@met.police.uk>"
            + SIGNATURE,
            (ALAN, PRIYA, SARAH),
            False,
        ),
        (
            "I'd like to book on behalf of my colleague PS Tom Reid, tom.reid@lancashire.police.uk.",
            (TOM,),
            False,
        ),
        (
            "I can't attend myself but please book my colleague DC Alan Brown"
            " (alan.brown@met.police.uk).",
            (ALAN,),
            False,
        ),
        (
            "Could you book myself and alan.brown@met.police.uk (DC Alan Brown)?",
            (ALAN,),
            True,
        ),
        (
            "Please book a place for my colleague:\n1. Det Sgt Priya Shah priya.shah@kent.police.uk",
            (PRIYA,),
            False,
        ),
        (
            # Replies to the booking address and the sender's own signature are not colleagues.
            "Please book me and Sarah Khan <sarah.khan@met.police.uk>.\n"
            "Copying bookings@example.ac.uk and ann.lee@met.police.uk for reference." + SIGNATURE,
            (SARAH,),
            True,
        ),
        (
            # An address mentioned for another reason is not a booking.
            "Please book me a place.\n\nIf you need anything, my PA is sarah.khan@met.police.uk."
            + SIGNATURE,
            (),
            True,
        ),
    ],
)
def test_colleagues_are_booked_at_their_own_addresses(
    body: str, colleagues: tuple[SenderDetails, ...], include_sender: bool
) -> None:
    result = interpret("Forum booking", body, SENDER, own_addresses=OWN)
    assert result.intent is Intent.BOOK
    assert result.colleagues == colleagues
    assert result.include_sender is include_sender


def test_colleagues_and_needs_together_stay_a_booking() -> None:
    body = "Please book DC Alan Brown (alan.brown@met.police.uk); he is a wheelchair user."
    result = interpret("Re: Forum", body, SENDER)
    assert result.intent is Intent.BOOK
    assert result.colleagues == (ALAN,)
    assert result.needs == "he is a wheelchair user."


@pytest.mark.parametrize(
    ("calendar", "body", "intent"),
    [
        (ics("REPLY", "DECLINED"), "Please book me a place.", Intent.CANCEL),
        (ics("REPLY", "ACCEPTED"), "Ann Lee has accepted this invitation.", Intent.ACKNOWLEDGE),
        (ics("REPLY", "TENTATIVE"), "", Intent.ACKNOWLEDGE),
        # Neither an answer nor a reply: the words decide.
        (ics("REPLY", "NEEDS-ACTION"), "I can no longer attend.", Intent.CANCEL),
        (ics("REQUEST", "DECLINED"), "Please book me a place.", Intent.BOOK),
        ("BEGIN:VCALENDAR\nthis is not a calendar", "I can no longer attend.", Intent.CANCEL),
        ("\x00\xff garbage", "Thanks!", Intent.ACKNOWLEDGE),
    ],
)
def test_calendar_replies_decide_first(calendar: str, body: str, intent: Intent) -> None:
    assert interpret("Accepted: Research forum", body, SENDER, calendar).intent is intent


@pytest.mark.parametrize(
    ("text", "reply"),
    [
        (
            ics("REPLY", "declined"),
            CalendarReply("REPLY", "DECLINED", "forum-2025@example.ac.uk", "ann.lee@met.police.uk"),
        ),
        (
            ics("REPLY", "ACCEPTED", attendee="ann.lee@met.police.uk"),
            CalendarReply("REPLY", "ACCEPTED", "forum-2025@example.ac.uk", "ann.lee@met.police.uk"),
        ),
        (
            ics("REPLY", None),
            CalendarReply("REPLY", None, "forum-2025@example.ac.uk", "ann.lee@met.police.uk"),
        ),
        (
            "BEGIN:VCALENDAR\nMETHOD:reply\nEND:VCALENDAR\n",
            CalendarReply("REPLY", None, None, None),
        ),
        ("BEGIN:VCALENDAR\nVERSION:2.0\nEND:VCALENDAR\n", None),
        ("BEGIN:VEVENT\nUID:1\nEND:VEVENT\n", None),
        ("not a calendar at all", None),
        ("", None),
    ],
)
def test_calendar_reply_reads_the_answer(text: str, reply: CalendarReply | None) -> None:
    assert calendar_reply(text) == reply


# Every subject mailbot starts a thread with, as a person's mail client answers it.
OUR_SUBJECTS = {
    key: "Re: " + subject.format(title="CSE forum") for key, subject in _SUBJECTS.items()
}


@pytest.mark.parametrize("subject", sorted(OUR_SUBJECTS.values()))
@pytest.mark.parametrize(
    ("body", "intent"),
    [
        ("Thanks", Intent.ACKNOWLEDGE),
        ("Great, see you there", Intent.ACKNOWLEDGE),
        ("Thank you very much!" + SIGNATURE, Intent.ACKNOWLEDGE),
        ("Please cancel my place.", Intent.CANCEL),
    ],
)
def test_answers_to_our_own_subjects_are_read_by_their_words(
    subject: str, body: str, intent: Intent
) -> None:
    # A subject that reads as "cancel" would turn a thank-you into a cancellation.
    assert interpret(subject, body, SENDER, own_addresses=OWN).intent is intent


@pytest.mark.parametrize("body", ["Yes please", "Yes please!\nAnn", "Yes, I'll take it. Thanks"])
def test_yes_to_an_offer_takes_the_place(body: str) -> None:
    assert interpret(OUR_SUBJECTS["offer"], body, SENDER, own_addresses=OWN).intent is Intent.BOOK
