"""Bounce messages for tests: hand-written bounces of our own mail, and the path to
flufl.bounce's corpus of real ones (fetched by scripts/fetch-corpora)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

OWN_DOMAIN = "example.ac.uk"
OUR_ID = "<mailbot.3f9a1c2b7d4e5f60718293a4@example.ac.uk>"
ROOT = Path(__file__).resolve().parent.parent
FLUFL_CORPUS = ROOT / ".cache" / "corpora" / "flufl.bounce"
# flufl.bounce keeps these as samples its detectors must NOT report: a person's Outlook reply
# and an autoresponder's "Auto reply". Every other message in its corpus is a bounce.
FLUFL_NOT_BOUNCES = frozenset({"groupwise_03.txt", "qmail_08.txt"})


def flufl_corpus() -> list[Path]:
    """The corpus messages; fails (never skips) when they have not been fetched."""
    files = sorted(FLUFL_CORPUS.glob("*.txt"))
    if not files:
        pytest.fail(f"no flufl.bounce corpus in {FLUFL_CORPUS}: run scripts/fetch-corpora first")
    return files


def crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode()


POSTFIX_DSN = crlf(f"""\
Return-Path: <>
Received: by mx.example.ac.uk (Postfix) id 4A1B2C3D; Wed, 25 Nov 2026 09:30:05 +0000 (GMT)
Date: Wed, 25 Nov 2026 09:30:05 +0000 (GMT)
From: MAILER-DAEMON@mx.example.ac.uk (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: bookings@example.ac.uk
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="4A1B2C3D.1795599005/mx.example.ac.uk"
Message-Id: <20261125093005.4A1B2C3D@mx.example.ac.uk>

This is a MIME-encapsulated message.

--4A1B2C3D.1795599005/mx.example.ac.uk
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.example.ac.uk.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

<ann.leee@met.police.uk>: host mx1.met.police.uk[192.0.2.10] said: 550 5.1.1
    <ann.leee@met.police.uk>: Recipient address rejected: User unknown (in
    reply to RCPT TO command)

--4A1B2C3D.1795599005/mx.example.ac.uk
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.ac.uk
X-Postfix-Queue-ID: 4A1B2C3D
X-Postfix-Sender: rfc822; bookings@example.ac.uk
Arrival-Date: Wed, 25 Nov 2026 09:30:00 +0000 (GMT)

Final-Recipient: rfc822; Ann.Leee@met.police.uk
Original-Recipient: rfc822;Ann.Leee@met.police.uk
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx1.met.police.uk
Diagnostic-Code: smtp; 550 5.1.1 <ann.leee@met.police.uk>: Recipient address
    rejected: User unknown

Final-Recipient: rfc822; organiser@example.ac.uk
Action: delivered
Status: 2.0.0

--4A1B2C3D.1795599005/mx.example.ac.uk
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

Return-Path: <bookings@example.ac.uk>
From: Forum bookings <bookings@example.ac.uk>
To: ann.leee@met.police.uk
Cc: organiser@example.ac.uk
Subject: Your place at the CSE forum
Date: Wed, 25 Nov 2026 09:30:00 +0000
Message-ID: {OUR_ID}
X-Mailbot-Outcome: confirmed
X-Mailbot-Booking: K7Q-4MZ

--4A1B2C3D.1795599005/mx.example.ac.uk--
""")

# Microsoft 365's NDR: the readable part is base64, so our Message-ID in its "Original message
# headers" can only be found decoded; the returned message carries it a second time.
_M365_TEXT = crlf("""\
Your message to j.smith@lancashire.police.uk couldn't be delivered.

j.smith wasn't found at lancashire.police.uk.

Diagnostic information for administrators:

Generating server: LO2P265MB1234.GBRP265.PROD.OUTLOOK.COM

j.smith@lancashire.police.uk
Remote Server returned '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup'

Original message headers:

From: Forum bookings <bookings@example.ac.uk>
To: <j.smith@lancashire.police.uk>
Subject: Your place at the CSE forum
Message-ID: <mailbot.0a1b2c3d4e5f60718293a4b5@example.ac.uk>
""")
EXCHANGE_NDR = crlf(f"""\
From: Microsoft Outlook <postmaster@lancashirepolice.onmicrosoft.com>
To: <bookings@example.ac.uk>
Date: Wed, 25 Nov 2026 09:31:12 +0000
Subject: Undeliverable: Your place at the CSE forum
Content-Language: en-GB
Message-ID: <7b1e2f3a-4c5d-6e7f-8091-a2b3c4d5e6f7@LO2P265MB1234.GBRP265.PROD.OUTLOOK.COM>
In-Reply-To: <mailbot.0a1b2c3d4e5f60718293a4b5@example.ac.uk>
X-MS-Exchange-Message-Is-Ndr:
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="_000_7b1e2f3a_"

--_000_7b1e2f3a_
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: base64

{base64.encodebytes(_M365_TEXT).decode()}
--_000_7b1e2f3a_
Content-Type: message/delivery-status

Reporting-MTA: dns;LO2P265MB1234.GBRP265.PROD.OUTLOOK.COM
Received-From-MTA: dns;mx.example.ac.uk
Arrival-Date: Wed, 25 Nov 2026 09:31:10 +0000

Final-Recipient: rfc822;J.Smith@lancashire.police.uk
Action: failed
Status: 5.1.10
Diagnostic-Code: smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup

--_000_7b1e2f3a_
Content-Type: message/rfc822

From: Forum bookings <bookings@example.ac.uk>
To: <j.smith@lancashire.police.uk>
Subject: Your place at the CSE forum
Date: Wed, 25 Nov 2026 09:31:00 +0000
Message-ID: <mailbot.0a1b2c3d4e5f60718293a4b5@example.ac.uk>
MIME-Version: 1.0
Content-Type: text/plain; charset="utf-8"

Dear DC Smith, your place is confirmed.

--_000_7b1e2f3a_--
""")

QMAIL_BOUNCE = crlf(f"""\
Return-Path: <>
Date: 25 Nov 2026 09:32:01 -0000
From: MAILER-DAEMON@mail.durham.police.uk
To: bookings@example.ac.uk
Subject: failure notice
Message-ID: <20261125093201.12345.qmail@mail.durham.police.uk>

Hi. This is the qmail-send program at mail.durham.police.uk.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<P.Jones@durham.police.uk>:
Sorry, no mailbox here by that name. (#5.1.1)

--- Below this line is a copy of the message.

Return-Path: <bookings@example.ac.uk>
Received: (qmail 12340 invoked from network); 25 Nov 2026 09:32:00 -0000
From: Forum bookings <bookings@example.ac.uk>
To: P.Jones@durham.police.uk
Subject: Re: Booking please
Message-ID: {OUR_ID}
In-Reply-To: <CAB1234@durham.police.uk>
References: <CAB1234@durham.police.uk> <mailbot.ffff0000@other-forum.example.org>

Dear PC Jones,

Thank you for your request. Your place is confirmed.
""")

DELAYED_DSN = crlf(f"""\
Return-Path: <>
From: Mail Delivery System <MAILER-DAEMON@mx.example.ac.uk>
To: bookings@example.ac.uk
Subject: Delayed Mail (still being retried)
Date: Wed, 25 Nov 2026 13:30:05 +0000 (GMT)
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="DELAY.1"

--DELAY.1
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.example.ac.uk.

####################################################################
# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #
####################################################################

Your message could not be delivered for more than 4 hour(s).
It will be retried until it is 5 day(s) old.

<k.brown@cumbria.police.uk>: connect to mx.cumbria.police.uk[192.0.2.55]:25:
    Connection timed out

--DELAY.1
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.ac.uk
Arrival-Date: Wed, 25 Nov 2026 09:30:00 +0000 (GMT)

Final-Recipient: rfc822; k.brown@cumbria.police.uk
Original-Recipient: rfc822;k.brown@cumbria.police.uk
Action: delayed
Status: 4.4.1
Diagnostic-Code: X-Postfix; connect to mx.cumbria.police.uk[192.0.2.55]:25:
    Connection timed out
Will-Retry-Until: Mon, 30 Nov 2026 09:30:00 +0000 (GMT)

--DELAY.1
Content-Type: text/rfc822-headers

From: Forum bookings <bookings@example.ac.uk>
To: k.brown@cumbria.police.uk
Subject: Your place at the CSE forum
Message-ID: {OUR_ID}

--DELAY.1--
""")

OUT_OF_OFFICE = crlf(f"""\
From: "Lee, Ann (DC 2211)" <ann.lee@met.police.uk>
To: Forum bookings <bookings@example.ac.uk>
Subject: Automatic reply: Your place at the CSE forum
Date: Wed, 25 Nov 2026 09:30:40 +0000
Message-ID: <AM0PR02MB1234.ann@met.police.uk>
In-Reply-To: {OUR_ID}
References: {OUR_ID}
Auto-Submitted: auto-replied
X-Auto-Response-Suppress: All
X-MS-Exchange-Inbox-Rules-Loop: ann.lee@met.police.uk
MIME-Version: 1.0
Content-Type: text/plain; charset="us-ascii"

Thank you for your email. I am out of the office until Monday 30 November with no
access to email. For urgent matters please contact the CAIU duty desk.
""")

# An officer's own words about a failed delivery: the subject invites the detectors to run,
# and nothing in it may make it a bounce.
OFFICER_RESEND = crlf("""\
From: "Patel, Ravi (DS 9012)" <ravi.patel@westmidlands.police.uk>
To: Forum bookings <bookings@example.ac.uk>
Subject: Booking - resending, my last email was returned undelivered
Date: Wed, 25 Nov 2026 10:02:00 +0000
Message-ID: <c9.ravi@westmidlands.police.uk>
MIME-Version: 1.0
Content-Type: text/plain; charset="utf-8"

Hello,

My previous email could not be delivered (the system said delivery failed), so I am
sending it again. Please could I book a place at the forum in Preston?

Thanks
Ravi

DS 9012 Ravi Patel | Public Protection Unit | West Midlands Police
""")

READ_RECEIPT = crlf(f"""\
From: "Lee, Ann (DC 2211)" <ann.lee@met.police.uk>
To: Forum bookings <bookings@example.ac.uk>
Subject: Read: Your place at the CSE forum
Date: Wed, 25 Nov 2026 09:45:00 +0000
Message-ID: <AM0PR02MB1234.read@met.police.uk>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=disposition-notification; boundary="MDN"

--MDN
Content-Type: text/plain; charset="us-ascii"

Your message was read on Wednesday, 25 November 2026 09:45:00 (UTC).

--MDN
Content-Type: message/disposition-notification

Reporting-UA: AM0PR02MB1234.eurprd02.prod.outlook.com; Microsoft Outlook
Final-Recipient: rfc822;ann.lee@met.police.uk
Original-Message-ID: {OUR_ID}
Disposition: manual-action/MDN-sent-manually; displayed

--MDN--
""")

OFFICER_BOOKING = (Path(__file__).parent / "mail" / "01-officer-wmp.eml").read_bytes()
