"""Sender details through the whole pipeline: what a booking mail says about its writer is what
the booking records."""

from __future__ import annotations

from pathlib import Path

from mailbot.store.database import connect
from mailbot.store.store import Store
from tests.harness import Workspace, compose


def test_form_lines_and_a_staff_signature_book_with_rank_force_and_unit(tmp_path: Path) -> None:
    ws = Workspace(tmp_path, capacity=5)
    ws.deliver(
        compose(
            "a.okoro@met.police.uk",
            "Please book me a place at the forum.\n\nThanks\n\n"
            "Name: Ada Okoro\nRank: A/DI\nForce: Metropolitan Police Service\n"
            "Unit: Central Specialist Crime\n",
            message_id="<form@met>",
        ),
        compose(
            "lp77@gmp.police.uk",
            "I'd like to attend, please.\n\nRegards\nLee Park\n"
            "Intelligence Analyst | Child Exploitation Hub\nGreater Manchester Police",
            message_id="<analyst@gmp>",
        ),
    )
    ws.poll()

    assert sorted((r.to, r.outcome) for r in ws.new_replies()) == [
        ("a.okoro@met.police.uk", "confirmed"),
        ("lp77@gmp.police.uk", "confirmed"),
    ]
    store = Store(connect(ws.settings.database_url()))
    booked = {
        row.view.email: (row.view.name, row.view.rank, row.view.force, row.view.unit)
        for row in store.bookings()
    }
    assert booked == {
        "a.okoro@met.police.uk": (
            "Ada Okoro",
            "Acting Detective Inspector",
            "Metropolitan Police Service",
            "Central Specialist Crime",
        ),
        "lp77@gmp.police.uk": (
            "Lee Park",
            "Intelligence Analyst",
            "Greater Manchester Police",
            "Child Exploitation Hub",
        ),
    }
