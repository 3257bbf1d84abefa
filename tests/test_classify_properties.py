"""Property tests: no input, however broken, makes parsing, classifying or bounce reading raise."""

from __future__ import annotations

from pathlib import Path

from hypothesis import example, given, settings
from hypothesis import strategies as st

from mailbot.domain import RawMessage
from mailbot.inbound.classify import OwnIdentity, classify
from mailbot.inbound.classify import bounce as bounce_module
from mailbot.inbound.parse import parse
from tests.bounces import DELAYED_DSN, EXCHANGE_NDR, POSTFIX_DSN, QMAIL_BOUNCE

OWN = OwnIdentity(
    addresses=frozenset({"bookings@example.ac.uk"}), message_id_domain="example.ac.uk"
)
TRUSTED = ("mx.example.ac.uk",)
MAIL_DIR = Path(__file__).parent / "mail"
# The bounces take the damage too: their MIME structure is where the bounce reader and
# flufl.bounce's detectors do the most work.
SEEDS = (
    *(p.read_bytes() for p in sorted(MAIL_DIR.glob("*.eml"))),
    POSTFIX_DSN,
    EXCHANGE_NDR,
    QMAIL_BOUNCE,
    DELAYED_DSN,
)
# Fragments that change how a parser reads what follows, not just what it reads.
STRUCTURAL = (
    b"\r\n",
    b"\r\n\r\n",
    b"\n",
    b"\r",
    b"\x00",
    b"\xff\xfe",
    b"--",
    b":",
    b"<>",
    b"=?",
    b"?=",
    b"=?utf-8?b?",
    b"=?x-unknown?q?=FF?=",
    b"\r\n\t",
    b"; boundary=",
    b'; boundary=""',
    b"; charset=x-no-such-charset",
    b"; report-type*=''%ff",
    b"Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n",
    b"Content-Type: message/delivery-status\r\n",
    b"Content-Type: message/rfc822\r\n",
    b"Content-Transfer-Encoding: base64\r\n",
    b"Content-Transfer-Encoding: quoted-printable\r\n",
    b"From: MAILER-DAEMON@x\r\n",
    b"From: =?utf-8?q?a=0D=0AB?= <a@b>\r\n",
    b"Action: failed\r\nFinal-Recipient: rfc822;\r\n",
    b"<mailbot.",
    b"@example.ac.uk>",
)

fragment = st.one_of(st.binary(min_size=1, max_size=48), st.sampled_from(STRUCTURAL))


@st.composite
def mutated_mail(draw: st.DrawFn) -> bytes:
    """A real message with a few byte runs inserted, deleted or replaced."""
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        at = draw(st.integers(min_value=0, max_value=len(data)))
        kind = draw(st.sampled_from(("insert", "delete", "replace")))
        length = draw(st.integers(min_value=1, max_value=200))
        if kind == "insert":
            data[at:at] = draw(fragment)
        elif kind == "delete":
            del data[at : at + length]
        else:
            data[at : at + length] = draw(fragment)
    return bytes(data)


def never_raises(data: bytes) -> None:
    mail = parse(RawMessage("property:1", data))
    classify(mail, OWN, TRUSTED)
    # The private function, because the public one swallows every exception by design.
    bounce_module._report(data, OWN.message_id_domain)
    bounce_module.bounce_report(data, OWN.message_id_domain)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=4096))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    never_raises(data)


@settings(max_examples=200, deadline=None)
@given(mutated_mail())
# Found by this test at a larger max_examples: a group with junk after it in From makes the
# stdlib's AddressHeader raise AttributeError ("'Group' object has no attribute 'local_part'").
@example(b"From: a:b;c\r\n\r\nPlease book me a place.\r\n")
def test_mutated_real_mail_never_raises(data: bytes) -> None:
    never_raises(data)
