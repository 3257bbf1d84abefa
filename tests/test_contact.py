"""Unit and telephone number from signature blocks."""

from __future__ import annotations

import pytest

from mailbot.inbound.classify.contact import phone_number, unit

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
]


@pytest.mark.parametrize(("text", "expected_unit", "expected_phone"), CASES)
def test_unit_and_phone_from_signatures(
    text: str, expected_unit: str | None, expected_phone: str | None
) -> None:
    assert unit(text) == expected_unit
    assert phone_number(text) == expected_phone
