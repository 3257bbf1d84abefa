"""Unit and telephone number from signature blocks."""

from __future__ import annotations

import pytest

from mailbot.inbound.classify.contact import phone_number, unit

# Every case is read as written by this address: a form naming another address is someone
# else's.
SENDER = "ann.reed@kent.police.uk"

CASES = [
    (
        "Thanks\nJane\n\nDC 4471 Jane Smith | Child Abuse Investigation Unit | West Midlands Police\n"
        "Tel: 0121 496 0000",
        "Child Abuse Investigation Unit",
        "0121 496 0000",
    ),
    (
        "Regards\n\nPS 2210 Tom Halloran\nMissing From Home & CSE Team\nLancashire Constabulary\n"
        "Mob: 07700 900123",
        "Missing From Home & CSE Team",
        "07700 900123",
    ),
    (
        "Kind regards\nPriya Ramanathan\nAnalytical Researcher\nERASE Team\nDurham Constabulary",
        "ERASE Team",
        None,
    ),
    (
        "Cheers,\nEilidh\n\nDI Eilidh MacLeod\nNational Child Abuse Investigation Unit\n"
        "Police Scotland\nT: +44 (0)141 496 0123",
        "National Child Abuse Investigation Unit",
        "+44 (0)141 496 0123",
    ),
    ("Please book me a place.\n\nThanks\nSam", None, None),
    (
        "Best wishes\nHannah Okafor\nSpecial Constable - Bradford CSE Hub\nWest Yorkshire Police\n"
        "Direct: 01274 496000 ext 1234",
        "Bradford CSE Hub",
        "01274 496000",
    ),
    ("Thanks\nChris\nCumbria Constabulary\nCollar 1234567", None, None),
    # Form-style lines: the value after the label, never the label itself.
    (
        "Name: Ada Okoro\nRank: A/DI\nForce: Metropolitan Police Service\n"
        "Unit: Central Specialist Crime\n\nI would like to attend the forum, if there is space.",
        "Central Specialist Crime",
        None,
    ),
    ("Please book me a place.\n\nName: Ada Okoro\nRank: A/DI\nForce:\nUnit:", None, None),
    ("Please book me.\n\nNAME:Kwame Mensah\nDept : Public Protection\n", "Public Protection", None),
    (
        "Name: Ada Okoro | Rank: DC | Team:Child Exploitation Hub | Tel: 020 7946 0000",
        "Child Exploitation Hub",
        "020 7946 0000",
    ),
    ("Unit: n/a\n\nThanks\nDC Jo Bell\nPublic Protection Unit", "Public Protection Unit", None),
    (
        "Please book my colleague:\nName: Bob Tate\nUnit: Roads Policing Unit\n"
        "Email: bob.tate@kent.police.uk\n\nThanks\nPS 1234 Ann Reed\nKent Police",
        None,
        None,
    ),
    ("Hi\n\n**Name:** Xan Yu\n**Unit/Team:** Roads Policing\n", "Roads Policing", None),
    ("Team: please book the three of us onto the forum.", None, None),
    ("My name is DC Xan Yu and I work in CID.", None, None),
    # A staff role is the writer's title, not their unit.
    (
        "Regards\nLee Park\nIntelligence Analyst | Child Exploitation Hub\nGreater Manchester Police",
        "Child Exploitation Hub",
        None,
    ),
    ("Regards\nLee Park\nSenior Intelligence Analyst\nGreater Manchester Police", None, None),
    (
        "Regards\nLee Park\nIntelligence Analyst in the Child Exploitation Hub\nGMP",
        "Child Exploitation Hub",
        None,
    ),
]


@pytest.mark.parametrize(("text", "expected_unit", "expected_phone"), CASES)
def test_unit_and_phone_from_signatures(
    text: str, expected_unit: str | None, expected_phone: str | None
) -> None:
    assert unit(text, SENDER) == expected_unit
    assert phone_number(text) == expected_phone
