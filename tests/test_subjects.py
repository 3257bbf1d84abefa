"""Subjects lead with the outcome and name the event briefly; a colleague booked by someone
else is told who booked them and how to decline (issue 14, defect 7)."""

from __future__ import annotations

from pathlib import Path

from tests.harness import Reply, Workspace, compose

JANE = "DC Jane Smith <jane.smith@westmidlands.police.uk>"
JANE_ADDRESS = "jane.smith@westmidlands.police.uk"
ALAN = "alan.brown@westmidlands.police.uk"
SARAH = "sarah.khan@westmidlands.police.uk"
TITLE = "Working together to enhance police responses to child sexual exploitation"
SHORT_TITLE = "CSE policing forum"


def book_two_colleagues(ws: Workspace) -> dict[str, Reply]:
    ws.deliver(
        compose(
            JANE,
            "Please book me a place, and could you also book my colleagues:\n"
            f"DC Alan Brown {ALAN}\n"
            f"DS Sarah Khan {SARAH}\n\n"
            "Thanks\nDC Jane Smith\nWest Midlands Police",
            subject="Booking for the forum",
            message_id="<c1@wmp>",
        )
    )
    ws.poll()
    return {r.to: r for r in ws.new_replies()}


def with_short_title(ws: Workspace) -> Workspace:
    config = ws.config.read_text()
    title_line = f'title = "{TITLE}"\n'
    ws.config.write_text(config.replace(title_line, f'{title_line}short_title = "{SHORT_TITLE}"\n'))
    return ws


def parts(reply: Reply) -> tuple[str, str]:
    text = reply.message.get_body(("plain",))
    html = reply.message.get_body(("html",))
    assert text is not None and html is not None
    return str(text.get_content()), str(html.get_content())


def test_colleagues_subjects_lead_with_the_outcome_and_use_the_short_title(
    tmp_path: Path,
) -> None:
    ws = with_short_title(Workspace(tmp_path, capacity=2))
    told = book_two_colleagues(ws)
    assert (told[ALAN].outcome, told[SARAH].outcome) == ("confirmed", "waitlisted")
    assert str(told[ALAN].message["Subject"]) == f"Confirmed: {SHORT_TITLE}"
    assert str(told[SARAH].message["Subject"]) == f"Waiting list: {SHORT_TITLE}"
    # The booker's own answer stays in their thread.
    assert str(told[JANE_ADDRESS].message["Subject"]) == "Re: Booking for the forum"


def test_without_a_short_title_the_subject_names_the_event_by_its_title(tmp_path: Path) -> None:
    told = book_two_colleagues(Workspace(tmp_path, capacity=2))
    assert str(told[ALAN].message["Subject"]) == f"Confirmed: {TITLE}"
    assert str(told[SARAH].message["Subject"]) == f"Waiting list: {TITLE}"


def test_a_colleague_is_told_who_booked_them_and_how_to_decline(tmp_path: Path) -> None:
    told = book_two_colleagues(with_short_title(Workspace(tmp_path, capacity=2)))
    for colleague in (ALAN, SARAH):
        for part in parts(told[colleague]):
            assert "Jane Smith" in part and JANE_ADDRESS in part, f"{colleague}: who booked?"
            assert "asked us to book you a place" in part
            assert "if you do not want it" in part.lower()
            assert "CANCEL" in part
            # They did not write to us: the mail must not call itself a reply.
            assert "automatic message" in part and "automatic reply" not in part
    for part in parts(told[JANE_ADDRESS]):
        assert "asked us to book you" not in part, "the booker booked themselves"
        assert "automatic reply" in part
