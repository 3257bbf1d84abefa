"""The lifecycle table: docs/lifecycle.md shows it as it is, every row can be reached, and the
store refuses a change the table does not list, whichever path asks for it."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from mailbot.domain import BookingStatus, Decision, Outcome, StatusChange, Trigger
from mailbot.errors import LifecycleError
from mailbot.pipeline.retention import forget
from mailbot.rules import lifecycle
from mailbot.rules.lifecycle import TABLE, Stage
from mailbot.store.database import connect
from mailbot.store.store import Store
from mailbot.store.tables import BookingRow
from tests.harness import FIXED_NOW, Workspace, compose
from tests.realmail import officer_request

ROOT = Path(__file__).parent.parent
TABLE_IN_DOC = re.compile(
    r"<!-- lifecycle table:[^\n]*-->\n(.*?)<!-- end of lifecycle table -->", re.DOTALL
)


def test_the_documented_table_is_the_one_the_code_follows() -> None:
    doc = (ROOT / "docs" / "lifecycle.md").read_text(encoding="utf-8")
    found = TABLE_IN_DOC.search(doc)
    assert found is not None, "docs/lifecycle.md has lost its table markers"
    assert found.group(1) == lifecycle.markdown(), (
        "docs/lifecycle.md differs from mailbot/rules/lifecycle.py: paste in "
        "`python -c 'from mailbot.rules.lifecycle import markdown; print(markdown(), end=\"\")'`"
    )


def test_every_stage_and_every_trigger_is_in_the_table() -> None:
    assert {s for row in TABLE for s in row.sources} | {
        row.target for row in TABLE if row.target
    } == set(Stage)
    assert {row.trigger for row in TABLE} == set(Trigger)


@pytest.mark.parametrize("row", TABLE, ids=lambda r: f"{r.trigger}-{r.party}-{r.when}")
def test_each_row_is_the_one_its_own_question_finds(row: lifecycle.Transition) -> None:
    # A row shadowed by an earlier, broader one would be documented and never followed.
    for source in row.sources:
        assert lifecycle.step(source, row.trigger, row.party, row.when) == row


def test_every_mail_the_table_sends_has_both_templates() -> None:
    templates = ROOT / "templates"
    for row in TABLE:
        if row.notice is None:
            continue
        name = row.template or row.notice.value
        for kind in ("txt", "html"):
            assert (templates / f"{name}.{kind}.j2").is_file(), (row, kind)


def test_a_move_the_table_does_not_list_is_asked_for_in_vain() -> None:
    with pytest.raises(LookupError):
        lifecycle.step(Stage.CANCELLED, Trigger.APPROVE, lifecycle.Party.ORGANISER)
    assert not lifecycle.allows(Stage.CONFIRMED, Trigger.APPROVE)
    assert lifecycle.permits(Stage.WAITLISTED, Trigger.PLACE_FREED, Stage.OFFERED)
    assert not lifecycle.permits(Stage.DECLINED, Trigger.CANCEL, Stage.CANCELLED)


def test_the_store_refuses_a_change_outside_the_lifecycle_and_writes_nothing(
    tmp_path: Path,
) -> None:
    ws = Workspace(tmp_path, capacity=1)
    ws.deliver(officer_request(0), officer_request(1))
    ws.poll()
    url = ws.settings.database_url()
    with Session(connect(url)) as session:
        rows = {r.email: r for r in session.exec(select(BookingRow)).all()}
    waiting = rows["officer1@lancashire.police.uk"]
    assert waiting.status == "waitlisted"
    # A waitlisted booking confirmed "because its holder cancelled": no rule may do that.
    wrong = Decision(
        Outcome.INFO,
        ("a defect",),
        changes=(StatusChange(waiting.ref, BookingStatus.CONFIRMED, cause=Trigger.CANCEL),),
    )
    store = Store(connect(url))
    with (
        pytest.raises(LifecycleError, match="cannot move a booking from waitlisted"),
        store.transaction() as tx,
    ):
        tx.apply_decision(wrong, actor="test", now=FIXED_NOW + timedelta(minutes=1))
    with Session(connect(url)) as session:
        again = session.exec(select(BookingRow).where(BookingRow.ref == waiting.ref)).one()
    assert again.status == "waitlisted"


def test_forgetting_someone_whose_booking_already_ended_erases_them(tmp_path: Path) -> None:
    # Found by tests/test_lifecycle_model.py: forget raised ValueError for a declined or
    # cancelled booking ("'erased' is not a valid BookingStatus").
    ws = Workspace(tmp_path, capacity=1)
    ws.deliver(
        compose("Gita Reid <gita.reid@gmail.com>", "Please book me a place.", message_id="<g@g>")
    )
    ws.poll()
    assert [r.outcome for r in ws.new_replies()] == ["declined"]
    with ws.bot() as bot:
        erased = forget(bot.store, bot.handling(), "gita.reid@gmail.com", FIXED_NOW)
    assert erased == 1
    with Session(connect(ws.settings.database_url())) as session:
        (row,) = session.exec(select(BookingRow)).all()
    assert "gita" not in row.email and row.name is None, "kept only as an anonymous count"
    assert ws.new_replies() == []
