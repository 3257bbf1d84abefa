"""Who a booking mail is from: sender extraction, readable body and the force table."""

from __future__ import annotations

import pytest

from mailbot.domain import Address
from mailbot.inbound.classify.body import readable_part
from mailbot.inbound.classify.forces import FORCES, force_for_domain, force_in_text
from mailbot.inbound.classify.sender import extract_sender

DISCLAIMER = (
    "This email and any attachments are confidential and intended solely for the\n"
    "addressee. If you are not the intended recipient please notify the sender and\n"
    "delete it. Any opinions expressed are those of the author.\n"
    "\n"
    "All communications may be monitored and recorded for lawful business purposes.\n"
    "\n"
    "Please consider the environment before printing this email."
)

LANCASHIRE_OUTLOOK = f"""OFFICIAL

Good morning,

I would like to attend the research forum on 14 May if there is space.

Kind regards

Priya Raman
Detective Inspector
Public Protection Unit | Lancashire Constabulary
Tel: 01772 412345 | Mobile: 07700 900123
Email: priya.raman@lancashire.police.uk

OFFICIAL

{DISCLAIMER}
"""

SCOTTISH_SIGNATURE = """Hello,

Could you add me to the list for the afternoon session?

Many thanks,

Eilidh MacLeòid
Detective Sergeant
Major Investigation Team (North)
Police Scotland | Poileas Alba
Tel: 01463 720000
"""

QUOTED_CHAIN = """Yes please, book me in.

Cheers
Mo

-----Original Message-----
From: Forum Bookings <bookings@example.org>
Sent: 03 March 2025 10:12
To: Hassan, Mo <mo.hassan@essex.police.uk>
Subject: Research forum

Dear colleague,

Would you like a place?

Regards
DCI Imogen Thackeray
Forum organiser
Kent Police
"""

# (display name, address, body) -> (name, rank, force)
CASES: list[tuple[str, str, str, tuple[str | None, str | None, str | None]]] = [
    (
        "",
        "jsmith@westmidlands.police.uk",
        "Hi,\n\nPlease book me onto the seminar.\n\n"
        "DC 1234 Jane Smith | Child Abuse Investigation Unit | West Midlands Police",
        ("Jane Smith", "Detective Constable", "West Midlands Police"),
    ),
    (
        "Smith, Jane (DC 1234)",
        "Jane.Smith@WestMidlands.Police.uk",
        "Could I have a place please?\n\nThanks\nJane",
        ("Jane Smith", "Detective Constable", "West Midlands Police"),
    ),
    (
        "SMITH Jane - West Midlands Police",
        "jane.smith2@westmidlands.police.uk",
        "",
        ("Jane Smith", None, "West Midlands Police"),
    ),
    (
        "DS 4521 Owen Pritchard",
        "owen.pritchard@nwp.police.uk",
        "Please reserve a seat for me.\n\nDiolch,\nOwen",
        ("Owen Pritchard", "Detective Sergeant", "North Wales Police"),
    ),
    (
        "",
        "p.raman@lancashire.police.uk",
        LANCASHIRE_OUTLOOK,
        ("Priya Raman", "Detective Inspector", "Lancashire Constabulary"),
    ),
    (
        "",
        "tom.h@kent.police.uk",
        "Can I come along?\n\nKind regards,\nTom",
        ("Tom", None, "Kent Police"),
    ),
    (
        "",
        "tom.baker@kent.police.uk",
        "Can I come along?\n\nKind regards,\nTom",
        ("Tom Baker", None, "Kent Police"),
    ),
    (
        "Morgan, Rhiannon",
        "rhiannon.morgan@gwent.police.uk",
        "I'd like to book.\n\nBest wishes\n\nRhiannon Morgan\nSenior Intelligence Analyst\n"
        "Force Intelligence Bureau\nGwent Police | Heddlu Gwent",
        ("Rhiannon Morgan", "Senior Intelligence Analyst", "Gwent Police"),
    ),
    (
        "PCSO 7788 Callum Reid",
        "callum.reid@northumbria.police.uk",
        "One place please.",
        ("Callum Reid", "Police Community Support Officer", "Northumbria Police"),
    ),
    (
        "",
        "hprice@wiltshire.police.uk",
        "I volunteer as a special and would love to come.\n\nThanks\n\n"
        "SC 2231 Hannah Price\nSpecial Constabulary\nWiltshire Police",
        ("Hannah Price", "Special Constable", "Wiltshire Police"),
    ),
    (
        "MacLeòid, Eilidh",
        "eilidh.macleoid@scotland.police.uk",
        SCOTTISH_SIGNATURE,
        ("Eilidh MacLeòid", "Detective Sergeant", "Police Scotland"),
    ),
    (
        "",
        "sean.obriain@psni.police.uk",
        "Please count me in.\n\nRegards\nInsp Seán Ó Briain | Crime Operations | PSNI",
        ("Seán Ó Briain", "Inspector", "Police Service of Northern Ireland"),
    ),
    (
        "Llewelyn-Jones, Siân",
        "s.llewelyn-jones@south-wales.police.uk",
        "Can I book a place?\n\nDiolch\nSiân",
        ("Siân Llewelyn-Jones", None, "South Wales Police"),
    ),
    (
        "",
        "niamh.oconnor82@gmail.com",
        "I'm a serving DC with Durham Constabulary, writing from my personal address "
        "as I'm on leave.\n\nThanks\nNiamh O'Connor",
        ("Niamh O'Connor", "Detective Constable", "Durham Constabulary"),
    ),
    (
        "Alex Turner",
        "alex.turner@example-university.ac.uk",
        "Is the forum open to academics?\n\nBest wishes\nDr Alex Turner\n"
        "School of Law, University of Example",
        ("Alex Turner", None, None),
    ),
    ("", "someone@met.police.uk", "", (None, None, "Metropolitan Police Service")),
    (
        "jane.smith@met.police.uk",
        "jane.smith@met.police.uk",
        "",
        ("Jane Smith", None, "Metropolitan Police Service"),
    ),
    ("", "j.smith12@met.police.uk", "Book me in.", (None, None, "Metropolitan Police Service")),
    (
        "",
        "r.adeyemi@met.police.uk",
        "Please book me a seat.\n\nThanks\nPC 4471CW Reece Adeyemi\nTerritorial Policing",
        ("Reece Adeyemi", "Police Constable", "Metropolitan Police Service"),
    ),
    (
        "",
        "karen.whitfield@met.police.uk",
        "Two of my team may also apply.\n\nRegards,\n\nDet Supt Karen Whitfield\n"
        "Specialist Crime | Metropolitan Police Service",
        ("Karen Whitfield", "Detective Superintendent", "Metropolitan Police Service"),
    ),
    (
        "C/Supt Graham Oduya",
        "graham.oduya@thamesvalley.police.uk",
        "Please reserve a place.",
        ("Graham Oduya", "Chief Superintendent", "Thames Valley Police"),
    ),
    (
        "ACC Deborah Hollins",
        "deborah.hollins@cumbria.police.uk",
        "",
        ("Deborah Hollins", "Assistant Chief Constable", "Cumbria Constabulary"),
    ),
    (
        "",
        "office.cc@derbyshire.police.uk",
        "The Chief Constable would like to attend.\n\nYours sincerely\n\n"
        "Martin Elsworthy\nChief Constable\nDerbyshire Constabulary",
        ("Martin Elsworthy", "Chief Constable", "Derbyshire Constabulary"),
    ),
    (
        "Commander Farah Qureshi",
        "farah.qureshi@cityoflondon.police.uk",
        "",
        ("Farah Qureshi", "Commander", "City of London Police"),
    ),
    (
        "",
        "lfairbairn@cleveland.police.uk",
        "Book me in please.\n\nThanks,\nDet Ch Insp Liam Fairbairn\nCleveland Police",
        ("Liam Fairbairn", "Detective Chief Inspector", "Cleveland Police"),
    ),
    (
        "A/DS 3310 Grace Obi",
        "grace.obi@gmp.police.uk",
        "",
        ("Grace Obi", "Acting Detective Sergeant", "Greater Manchester Police"),
    ),
    (
        "",
        "ben.carter@staffordshire.police.uk",
        "Could I attend?\n\nBen Carter | Intelligence Researcher | Staffordshire Police",
        ("Ben Carter", "Intelligence Researcher", "Staffordshire Police"),
    ),
    (
        "Laura Fenwick",
        "laura.fenwick@nca.gov.uk",
        "I'd like a place.\n\nKind regards\nLaura Fenwick\nSenior Investigator\n"
        "National Crime Agency",
        ("Laura Fenwick", "Senior Investigator", "National Crime Agency"),
    ),
    (
        "",
        "daniel.osei@btp.police.uk",
        "Please add me.\n\nCheers\nSgt Daniel Osei\nBritish Transport Police\nMobile 07700 900456",
        ("Daniel Osei", "Police Sergeant", "British Transport Police"),
    ),
    (
        "Hughes Gareth",
        "gareth.hughes@west-midlands.pnn.police.uk",
        "",
        ("Gareth Hughes", None, "West Midlands Police"),
    ),
    ("", "mo.hassan@essex.police.uk", QUOTED_CHAIN, ("Mo Hassan", None, "Essex Police")),
    (
        "",
        "jo.palmer@college.police.uk",
        "Happy to help on the day.\n\nBest,\nJo Palmer\nResearcher, Evidence and Insight\n"
        "College of Policing",
        ("Jo Palmer", "Researcher", "College of Policing"),
    ),
    (
        "",
        "sam.k1990@gmail.com",
        "Could you tell me more about the event?\n\nThanks\nSam",
        ("Sam", None, None),
    ),
    (
        "Ruth Adair",
        "ruth.adair@merseyside.police.uk",
        "Thanks\nRuth Adair\n\nPS I'll bring a colleague if that's OK",
        ("Ruth Adair", None, "Merseyside Police"),
    ),
    (
        "",
        "kez.w@outlook.com",
        "Please book me in.\n\nRegards\nKerry Walsh\nPolice Staff Investigator\n"
        "Hampshire & Isle of Wight Constabulary",
        ("Kerry Walsh", "Police Staff Investigator", "Hampshire and Isle of Wight Constabulary"),
    ),
    (
        "O'Connor, Niamh (Insp)",
        "n.oconnor@psni.police.uk",
        "",
        ("Niamh O'Connor", "Inspector", "Police Service of Northern Ireland"),
    ),
    (
        "CAIU Referrals",
        "caiu.referrals@westmidlands.police.uk",
        "Please book two places for the team.",
        (None, None, "West Midlands Police"),
    ),
    (
        "Events Team",
        "events@example.org",
        "Reminder: our conference is next week.",
        (None, None, None),
    ),
    (
        "",
        "e.lund@suffolk.police.uk",
        "Please book me.\n\nRegards\nErin Lund\nStaff Officer to the Chief Constable\n"
        "Suffolk Constabulary",
        ("Erin Lund", None, "Suffolk Constabulary"),
    ),
    (
        "",
        "zh@norfolk.police.uk",
        "Please book me.\n\nZara Hollis MSc\nDetective Constable\nSent from my iPhone",
        ("Zara Hollis", "Detective Constable", "Norfolk Constabulary"),
    ),
    # Form-style lines, wherever they stand in the mail: the label is never part of the value,
    # a blank value never takes the next line, and labels are read in any case and spacing.
    (
        "",
        "a.okoro@met.police.uk",
        "Name: Ada Okoro\nRank: A/DI\nForce: Metropolitan Police Service\n"
        "Unit: Central Specialist Crime\n\nI would like to attend the forum, if there is space.",
        ("Ada Okoro", "Acting Detective Inspector", "Metropolitan Police Service"),
    ),
    (
        "",
        "kwame.m1985@gmail.com",
        "Please book me a place.\n\nNAME:KWAME MENSAH\nrank : t/ds\nFORCE : Kent\nDept:\n",
        ("Kwame Mensah", "Temporary Detective Sergeant", "Kent Police"),
    ),
    (
        "",
        "liam.doyle@essex.police.uk",
        "Name:\nRank: A/Sgt\nForce:\nUnit:\n\nPlease book me a place.\n\nThanks\nLiam Doyle",
        ("Liam Doyle", "Acting Police Sergeant", "Essex Police"),
    ),
    (
        "",
        "lp.analysis@outlook.com",
        "I'd like a place please.\n\nName: Lee Park\nRole: Intelligence Analyst\n"
        "Organisation: Greater Manchester Police\nTeam: Child Exploitation Hub",
        ("Lee Park", "Intelligence Analyst", "Greater Manchester Police"),
    ),
    (
        "",
        "ada.okoro@met.police.uk",
        "Book me in please.\n\nName: OKORO, Ada | Rank: DC 2291 | Force: Met | Unit: CSC",
        ("Ada Okoro", "Detective Constable", "Metropolitan Police Service"),
    ),
    (
        "",
        "r.shah@wiltshire.police.uk",
        "Please book me.\n\nName: Rina Shah\nRole: Missing Persons Coordinator\n"
        "Department: Public Protection",
        ("Rina Shah", "Missing Persons Coordinator", "Wiltshire Police"),
    ),
    (
        "",
        "ann.reed@kent.police.uk",
        "Please book my colleague:\nName: Bob Tate\nRank: DC\n"
        "Email: bob.tate@kent.police.uk\n\nThanks\nPS 1234 Ann Reed",
        ("Ann Reed", "Police Sergeant", "Kent Police"),
    ),
    (
        "",
        "x.yu@kent.police.uk",
        "Hi\n\n- **Name:** Xan Yu\n- **Rank:** Police Staff\n- **Position:** Senior Analyst\n",
        ("Xan Yu", "Senior Analyst", "Kent Police"),
    ),
    # Ranks in a sentence that introduces the writer, acting and temporary ones included.
    (
        "",
        "femi.a.1990@gmail.com",
        "Hi, I'm T/DC Femi Adeyemi from the Met and would like a place at the forum.\n\n"
        "Thanks\nFemi",
        ("Femi Adeyemi", "Trainee Detective Constable", "Metropolitan Police Service"),
    ),
    (
        "",
        "jbell@cumbria.police.uk",
        "Hello, this is DS Jo Bell of Cumbria Constabulary. Can I book a place?\n\nThanks",
        ("Jo Bell", "Detective Sergeant", "Cumbria Constabulary"),
    ),
    (
        "",
        "s.hart@kent.police.uk",
        "Good morning. I am Acting DI Sam Hart, Kent Police, and would like to attend.",
        ("Sam Hart", "Acting Detective Inspector", "Kent Police"),
    ),
    (
        "",
        "kim.lowe@lancashire.police.uk",
        "I’m Temporary Detective Sergeant Kim Lowe and I'd like to book a place.",
        ("Kim Lowe", "Temporary Detective Sergeant", "Lancashire Constabulary"),
    ),
    (
        "",
        "x.yu@kent.police.uk",
        "This is Sergeant-level training, can I come?\n\nThanks\nXan Yu",
        ("Xan Yu", None, "Kent Police"),
    ),
    (
        "",
        "ann.reed@kent.police.uk",
        "I'm sure DS Jo Bell will come too.\n\nThanks\nAnn Reed",
        ("Ann Reed", None, "Kent Police"),
    ),
    (
        "",
        "t.reeve@dorset.police.uk",
        "Please book me.\n\nRegards\nA/Sgt 2231 Tom Reeve\nDorset Police",
        ("Tom Reeve", "Acting Police Sergeant", "Dorset Police"),
    ),
    # A staff role beside a unit: the role is the title, the unit stays out of it.
    (
        "",
        "lee.park@gmp.police.uk",
        "Please book me.\n\nRegards\nLee Park\nIntelligence Analyst | Child Exploitation Hub\n"
        "Greater Manchester Police",
        ("Lee Park", "Intelligence Analyst", "Greater Manchester Police"),
    ),
    ("", "", "", (None, None, None)),
]


@pytest.mark.parametrize(("display", "email", "body", "expected"), CASES)
def test_extract_sender(
    display: str,
    email: str,
    body: str,
    expected: tuple[str | None, str | None, str | None],
) -> None:
    details = extract_sender(Address(display, email), body)
    assert (details.name, details.rank, details.force) == expected
    assert details.email == email.lower()


def test_domain_force_beats_a_force_named_in_the_text() -> None:
    details = extract_sender(
        Address("", "amy.ross@kent.police.uk"),
        "I was seconded from Essex Police last year.\n\nThanks\nAmy Ross\nKent Police",
    )
    assert details.force == "Kent Police"


def test_readable_part_cuts_outlook_reply_chain() -> None:
    body = (
        "Yes, I can make the 14th.\r\n\r\nThanks\r\nJane Smith\r\n\r\n"
        "________________________________\r\n"
        "From: Forum Bookings <bookings@example.org>\r\n"
        "Sent: 03 March 2025 10:12\r\n"
        "To: Smith, Jane <jane.smith@westmidlands.police.uk>\r\n"
        "Subject: Research forum\r\n\r\n"
        "Would you like a place?\r\n"
    )
    assert readable_part(body) == "Yes, I can make the 14th.\n\nThanks\nJane Smith"


def test_readable_part_cuts_original_message_block() -> None:
    body = "Count me in.   \n\n-----Original Message-----\nFrom: A\nSent: B\nTo: C\nOld text"
    assert readable_part(body) == "Count me in."


def test_readable_part_cuts_wrapped_gmail_attribution_and_quotes() -> None:
    body = (
        "See you there.\nTom\n\nOn Tue, 4 Mar 2025 at 09:12, Forum Bookings <\n"
        "bookings@example.org> wrote:\n\n> Your place is confirmed.\n"
    )
    assert readable_part(body) == "See you there.\nTom"


def test_readable_part_drops_inline_quotes_but_keeps_the_answers() -> None:
    body = "> Will you need parking?\nYes please.\n> Any dietary needs?\nNone."
    assert readable_part(body) == "Yes please.\nNone."


def test_readable_part_removes_disclaimer_and_marking_but_keeps_signature() -> None:
    readable = readable_part(LANCASHIRE_OUTLOOK)
    assert "confidential" not in readable
    assert "environment" not in readable
    assert "monitored" not in readable
    assert "OFFICIAL" not in readable
    assert readable.startswith("Good morning,")
    assert readable.endswith("Email: priya.raman@lancashire.police.uk")
    assert "Priya Raman\nDetective Inspector" in readable


def test_readable_part_keeps_text_after_a_protective_marking() -> None:
    body = "OFFICIAL-SENSITIVE\nPlease book me in.\nOFFICIAL - SENSITIVE: PERSONAL\nThanks"
    assert readable_part(body) == "Please book me in.\nThanks"


@pytest.mark.parametrize(
    ("domain", "expected"),
    [
        ("met.police.uk", "Metropolitan Police Service"),
        ("MET.Police.UK", "Metropolitan Police Service"),
        ("mail.met.police.uk", "Metropolitan Police Service"),
        ("met.police.uk.", "Metropolitan Police Service"),
        ("evilmet.police.uk", None),
        ("met.police.uk.example.com", None),
        ("met-police.uk", None),
        ("police.uk", None),
        ("pnn.police.uk", None),
        ("west-midlands.pnn.police.uk", "West Midlands Police"),
        ("westmidlands.police.uk", "West Midlands Police"),
        ("scotland.police.uk", "Police Scotland"),
        ("nca.gov.uk", "National Crime Agency"),
        ("notnca.gov.uk", None),
        ("gov.uk", None),
        ("gmail.com", None),
        ("", None),
    ],
)
def test_force_for_domain(domain: str, expected: str | None) -> None:
    assert force_for_domain(domain) == expected


def test_every_listed_domain_leads_back_to_its_force() -> None:
    for force in FORCES:
        for domain in force.domains:
            assert force_for_domain(domain) == force.name
    territorial = [f for f in FORCES if f.domains and f.domains[0].endswith(".police.uk")]
    assert len({f.name for f in FORCES}) == len(FORCES)
    assert len(territorial) >= 43


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I'm with the Met Police in Lambeth", "Metropolitan Police Service"),
        ("Metropolitan Police", "Metropolitan Police Service"),
        ("Police Scotland", "Police Scotland"),
        ("Durham Constabulary", "Durham Constabulary"),
        ("Devon & Cornwall Police", "Devon and Cornwall Police"),
        ("Heddlu De Cymru", "South Wales Police"),
        ("West Mercia Police", "West Mercia Police"),
        ("seconded to the PSNI", "Police Service of Northern Ireland"),
        ("WMP", None),
        ("my psni colleague", None),
        ("Yorkshire Police", None),
        ("a metropolitan policeman", None),
        ("I'm T/DC Femi Adeyemi from the Met", "Metropolitan Police Service"),
        ("the Met Office forecasts snow", None),
        ("I met the Met team", "Metropolitan Police Service"),
        ("we met the team", None),
    ],
)
def test_force_in_text(text: str, expected: str | None) -> None:
    assert force_in_text(text) == expected
