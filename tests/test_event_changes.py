"""Issue 14, defect 6: moving the event in config.toml told nobody, and there was no way to
call it off. Now the next poll tells each person holding a place or waiting for one, once."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from icalendar import Calendar
from sqlmodel import Session, select

from mailbot.pipeline import notices
from mailbot.store.database import connect
from mailbot.store.tables import BookingRow
from tests.harness import FIXED_NOW, Reply, Workspace, compose, unverified_request
from tests.realmail import officer_request

OLD_START = "starts_at = 2099-03-10T11:00:00"
OLD_VENUE = 'venue = "University of Central Lancashire, Preston, PR1 2HE"'


def booked(tmp_path: Path) -> tuple[Workspace, dict[str, Reply]]:
    """Two places: officer0 and officer1 confirmed, officer2 waiting, a held request, and
    officer3 who cancelled."""
    ws = Workspace(tmp_path, capacity=2)
    ws.deliver(*(officer_request(i) for i in range(4)))
    ws.deliver(
        unverified_request(),
        compose(
            "Dev Lee <officer3@lancashire.police.uk>",
            "Sorry, I can no longer attend.",
            subject="Cancel",
            message_id="<cancel3@l>",
        ),
    )
    ws.poll()
    first = {r.to: r for r in ws.new_replies() if r.outcome in ("confirmed", "waitlisted")}
    return ws, first


def poll_a_day_later(ws: Workspace) -> None:
    # The organiser edits config.toml some time after the bookings were made.
    with Workspace.reopen(ws.root).bot(clock=lambda: FIXED_NOW + timedelta(days=1)) as bot:
        bot.deliver_every_seconds = float("inf")
        bot.poll()


def change_config(ws: Workspace, old: str, new: str) -> None:
    text = ws.config.read_text()
    assert old in text
    ws.config.write_text(text.replace(old, new))


def calendar(reply: Reply) -> Calendar | None:
    for part in reply.message.iter_attachments():
        if part.get_content_type() == "text/calendar":
            return Calendar.from_ical(part.get_content())
    return None


def entry(reply: Reply) -> tuple[str, str, int]:
    cal = calendar(reply)
    assert cal is not None
    (event,) = cal.walk("VEVENT")
    return str(cal["METHOD"]), str(event["UID"]), int(event["SEQUENCE"])


def statuses(ws: Workspace) -> dict[str, str]:
    with Session(connect(ws.settings.database_url())) as session:
        return {r.email: r.status for r in session.exec(select(BookingRow)).all()}


def test_moving_the_event_tells_those_booked_and_waiting_once(tmp_path: Path) -> None:
    ws, first = booked(tmp_path)
    assert statuses(ws)["officer1@lancashire.police.uk"] == "confirmed"
    change_config(ws, OLD_START, "starts_at = 2099-03-11T10:00:00")
    change_config(ws, "ends_at = 2099-03-10T15:45:00", "ends_at = 2099-03-11T15:00:00")
    change_config(ws, OLD_VENUE, 'venue = "Foster Building, Preston, PR1 2HE"')
    poll_a_day_later(ws)
    told = {r.to: r for r in ws.new_replies()}
    assert sorted(told) == [
        "officer0@lancashire.police.uk",
        "officer1@lancashire.police.uk",
        "officer2@lancashire.police.uk",
    ], "only those holding a place or waiting for one"
    for address in ("officer0@lancashire.police.uk", "officer1@lancashire.police.uk"):
        update = told[address]
        assert update.outcome == "updated"
        method, uid, sequence = entry(update)
        old_method, old_uid, old_sequence = entry(first[address])
        assert (method, old_method) == ("REQUEST", "REQUEST")
        assert uid == old_uid and sequence > old_sequence
        body = update.message.get_body(("plain",))
        assert body is not None
        text = body.get_content()
        assert "Wednesday 11 March 2099" in text and "Foster Building" in text
        assert "Tuesday 10 March 2099" in text, "what it was, so the change is plain"
    waiting = told["officer2@lancashire.police.uk"]
    assert waiting.outcome == "updated" and calendar(waiting) is None

    ws.poll()
    assert ws.new_replies() == [], "each change is sent once"
    Workspace.reopen(ws.root).poll()
    assert ws.new_replies() == [], "and not again after a restart"


def test_a_new_title_alone_sends_nothing(tmp_path: Path) -> None:
    ws, _ = booked(tmp_path)
    change_config(ws, 'title = "Working together', 'title = "Working together (revised)')
    ws.poll()
    assert ws.new_replies() == []


def test_calling_the_event_off_tells_everyone_once_and_books_nobody_after(
    tmp_path: Path,
) -> None:
    ws, first = booked(tmp_path)
    change_config(ws, OLD_VENUE, OLD_VENUE + "\ncancelled = true")
    poll_a_day_later(ws)
    told = {r.to: r for r in ws.new_replies()}
    assert {address: r.outcome for address, r in told.items()} == {
        "officer0@lancashire.police.uk": "event-cancelled",
        "officer1@lancashire.police.uk": "event-cancelled",
        "officer2@lancashire.police.uk": "event-cancelled",
        "bea.quinn@cumbria.police.uk": "event-cancelled",
    }
    method, uid, _ = entry(told["officer0@lancashire.police.uk"])
    assert (method, uid) == ("CANCEL", entry(first["officer0@lancashire.police.uk"])[1])
    assert calendar(told["officer2@lancashire.police.uk"]) is None, "never had an entry"
    assert calendar(told["bea.quinn@cumbria.police.uk"]) is None
    assert str(told["officer0@lancashire.police.uk"].message["Subject"]).startswith(
        "Event cancelled: "
    )
    assert set(statuses(ws).values()) == {"cancelled"}

    ws.deliver(officer_request(7))
    ws.poll()
    (answer,) = ws.new_replies()
    assert answer.to == "officer7@lancashire.police.uk" and answer.outcome == "info"
    body = answer.message.get_body(("plain",))
    assert body is not None and "called off" in body.get_content()
    assert "officer7@lancashire.police.uk" not in statuses(ws)
    Workspace.reopen(ws.root).poll()
    assert ws.new_replies() == []


def test_news_cut_off_before_it_is_queued_is_sent_in_full_next_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The event recorded as told and the mail queued commit together, or neither does.
    ws, _ = booked(tmp_path)
    change_config(ws, OLD_VENUE, 'venue = "Foster Building, Preston, PR1 2HE"')

    def crash(*_args: object, **_kwargs: object) -> list[object]:
        raise RuntimeError("the process died while writing the mail")

    with monkeypatch.context() as patched:
        patched.setattr(notices, "write_notices", crash)
        with pytest.raises(RuntimeError):
            poll_a_day_later(ws)
    assert ws.new_replies() == []
    poll_a_day_later(ws)
    assert sorted(r.outcome for r in ws.new_replies()) == ["updated"] * 3


def test_an_event_called_off_again_after_reopening_tells_those_booked_since(
    tmp_path: Path,
) -> None:
    ws, _ = booked(tmp_path)
    called_off = OLD_VENUE + "\ncancelled = true"
    change_config(ws, OLD_VENUE, called_off)
    ws.poll()
    ws.new_replies()
    change_config(ws, called_off, OLD_VENUE)  # the organiser reopens it
    ws.deliver(officer_request(7))
    ws.poll()
    assert [r.outcome for r in ws.new_replies()] == ["confirmed"]
    change_config(ws, OLD_VENUE, called_off)  # and calls it off for good
    ws.poll()
    (told,) = ws.new_replies()
    assert (told.to, told.outcome) == ("officer7@lancashire.police.uk", "event-cancelled")
    assert statuses(ws)["officer7@lancashire.police.uk"] == "cancelled"
