"""One person, one mail per event per poll, saying where they ended up: news about a booking
that has not left yet is withdrawn when the booking changes again, and the newer mail takes
its place, in the same thread (so every request is still answered exactly once)."""

from __future__ import annotations

from pathlib import Path

from tests.harness import Workspace, compose, first_officer_cancels, unverified_request
from tests.realmail import officer_request

ORGANISER = "Forum Organiser <organiser@example.ac.uk>"


def test_someone_waitlisted_and_promoted_in_one_poll_gets_one_reply_saying_confirmed(
    tmp_path: Path, database_url: str
) -> None:
    ws = Workspace(tmp_path, capacity=1, database_url=database_url)
    ws.deliver(
        officer_request(0),
        officer_request(1),  # full: waitlisted, until officer0 gives the place up
        first_officer_cancels(),
    )
    ws.poll()
    to_one = [r for r in ws.new_replies() if r.to == "officer1@lancashire.police.uk"]
    assert [r.outcome for r in to_one] == ["promoted"]
    (reply,) = to_one
    assert reply.message["In-Reply-To"] == "<request-1@lancashire.police.uk>"
    assert str(reply.message["Subject"]) == "Re: Booking request 1"
    assert [p.get_content_type() for p in reply.message.iter_attachments()] == ["text/calendar"]


def test_two_changes_by_the_organiser_in_one_poll_send_one_mail(tmp_path: Path) -> None:
    ws = Workspace(tmp_path, capacity=5)
    ws.deliver(unverified_request())
    ws.poll()
    (held,) = ws.new_replies()
    # Approved from one digest reply, then cancelled from another, read in the same poll.
    ws.deliver(
        compose(ORGANISER, f"APPROVE {held.booking}", subject="Re: digest", message_id="<o1@x>"),
        compose(ORGANISER, f"CANCEL {held.booking}", subject="Re: digest", message_id="<o2@x>"),
    )
    ws.poll()
    told = [(r.to, r.outcome) for r in ws.new_replies() if r.to != "organiser@example.ac.uk"]
    assert told == [("bea.quinn@cumbria.police.uk", "cancelled")]


def test_mail_that_has_left_is_not_taken_back_and_the_change_follows_it(tmp_path: Path) -> None:
    ws = Workspace(tmp_path, capacity=1)
    ws.deliver(officer_request(0), officer_request(1))
    ws.poll()
    assert sorted(r.outcome for r in ws.new_replies()) == ["confirmed", "waitlisted"]
    ws.deliver(first_officer_cancels())
    ws.poll()
    told = sorted((r.to, r.outcome) for r in ws.new_replies())
    assert told == [
        ("officer0@lancashire.police.uk", "cancelled"),
        ("officer1@lancashire.police.uk", "promoted"),
    ]
