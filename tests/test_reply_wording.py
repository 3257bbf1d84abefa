"""Conversations whose replies must say what to do next: a refusal tells an officer writing
from a personal address to write again from a police one, and only mail about a real place
names whom it is booked for."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

from tests.harness import Reply, Workspace, compose, first_officer_cancels, unverified_request
from tests.realmail import officer_request


def bodies(reply: Reply) -> tuple[str, str]:
    text = reply.message.get_body(("plain",))
    html = reply.message.get_body(("html",))
    assert isinstance(text, EmailMessage) and isinstance(html, EmailMessage)
    return str(text.get_content()), str(html.get_content())


def flat(text: str) -> str:
    return " ".join(text.split())


def one(replies: list[Reply], outcome: str) -> Reply:
    (found,) = [r for r in replies if r.outcome == outcome]
    return found


def test_an_officer_writing_from_a_personal_address_is_told_to_use_their_police_one(
    tmp_path: Path,
) -> None:
    ws = Workspace(tmp_path)
    ws.deliver(
        compose(
            "Sam Okoro <sam.okoro@gmail.example.com>",
            "Please book me a place at the forum.\n\nDC Sam Okoro\nLancashire Constabulary\n",
            subject="Booking request",
            message_id="<personal-1@gmail.example.com>",
        )
    )
    ws.poll()

    (refusal,) = ws.new_replies()
    assert (refusal.to, refusal.outcome) == ("sam.okoro@gmail.example.com", "declined")
    text, html = bodies(refusal)
    assert (
        "please write again from your police email address (one ending in police.uk), "
        "and we will book your place from there"
    ) in flat(text)
    assert "<strong>write again from your police email address</strong>" in html
    assert "(one ending in police.uk)" in html
    for body in (text, html):
        assert "Booked for" not in body


def test_only_mail_about_a_real_place_names_whom_it_is_booked_for(tmp_path: Path) -> None:
    ws = Workspace(tmp_path, capacity=1)
    ws.deliver(officer_request(0), officer_request(1), unverified_request())
    ws.poll()
    first = ws.new_replies()
    assert sorted(r.outcome for r in first) == ["confirmed", "held", "waitlisted"]

    confirmed_text, confirmed_html = bodies(one(first, "confirmed"))
    assert "Booked for: " in confirmed_text and ">Booked for</td>" in confirmed_html
    waiting_text, waiting_html = bodies(one(first, "waitlisted"))
    assert "Waiting list for: " in waiting_text and ">Waiting list for</td>" in waiting_html
    held_text, held_html = bodies(one(first, "held"))
    for body in (waiting_text, waiting_html, held_text, held_html):
        assert "Booked for" not in body
    for body in (held_text, held_html):
        assert "Waiting list for" not in body

    ws.deliver(first_officer_cancels())
    ws.poll()
    second = ws.new_replies()
    assert sorted(r.outcome for r in second) == ["cancelled", "promoted"]
    for body in bodies(one(second, "cancelled")):
        assert "Booked for" not in body
    promoted_text, promoted_html = bodies(one(second, "promoted"))
    assert "Booked for: " in promoted_text and ">Booked for</td>" in promoted_html
