"""docs/organiser-trust.md's trial with a Maildir inbox works as written: its example mails,
as they stand on the page, through the real pipeline."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.harness import Workspace

PAGE = Path(__file__).resolve().parent.parent / "docs" / "organiser-trust.md"
REFUSED = "could not be authenticated"


def _page_mails() -> tuple[str, str]:
    """The officer's request and the organiser's command, as the page shows them."""
    officer, organiser = re.findall(r"```eml\n(.*?)```", PAGE.read_text(), flags=re.DOTALL)
    return officer, organiser


def _without_header(mail: str) -> str:
    first, rest = mail.split("\n", 1)
    assert first.startswith("Authentication-Results: ")
    return rest


@pytest.mark.parametrize(
    ("with_header", "require", "outcome", "carried_out"),
    [
        pytest.param(True, "true", "confirmed", True, id="the-header-as-shown"),
        pytest.param(False, "true", "held", False, id="hand-written-mail"),
        pytest.param(False, "false", "confirmed", True, id="authentication-off-for-a-trial"),
    ],
)
def test_the_pages_trial_mails_are_answered_as_it_says(
    tmp_path: Path, with_header: bool, require: str, outcome: str, carried_out: bool
) -> None:
    ws = Workspace(tmp_path, capacity=5)
    ws.config.write_text(
        ws.config.read_text().replace(
            "require_authentication = true", f"require_authentication = {require}"
        )
    )
    mails = _page_mails() if with_header else tuple(map(_without_header, _page_mails()))
    ws.deliver(*(mail.encode() for mail in mails))
    ws.poll()
    replies = {reply.to: reply for reply in ws.new_replies()}
    assert replies["ann.lee@lancashire.police.uk"].outcome == outcome
    answer = replies["organiser@example.ac.uk"].message.get_body(("plain",))
    assert answer is not None
    text = str(answer.get_content())
    assert (REFUSED not in text) == carried_out, text
    if not carried_out:
        assert "no Authentication-Results header" in text
