"""Authentication-Results read as RFC 8601 writes them: the parser, forged headers that
quote a sender's text, and headers written by real authentication software."""

from __future__ import annotations

import base64
import functools
import random
from collections.abc import Callable

import authheaders
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailbot.domain import InboundMail, RawMessage
from mailbot.inbound.classify.authres import AuthResults, MethodResult, parse_authres
from mailbot.inbound.classify.trust import authenticity
from mailbot.inbound.parse import parse

MX = "mx.example.ac.uk"
TRUSTED = (MX, "microsoft-365", "mx.google.com")
DMARC_FAIL = MethodResult("dmarc", "fail", (("header.from", "met.police.uk"),))


def res(method: str, result: str, *properties: tuple[str, str], **extra: str) -> MethodResult:
    return MethodResult(method, result, properties, **extra)


def found(
    *results: MethodResult,
    authserv_id: str | None = MX,
    version: str | None = None,
    complete: bool = True,
) -> AuthResults:
    return AuthResults(authserv_id, results, version, complete)


M365 = (
    "spf=pass (sender IP is 192.0.2.10) smtp.mailfrom=met.police.uk; "
    "dkim=pass (signature was verified) header.d=met.police.uk;dmarc=pass action=none "
    "header.from=met.police.uk;compauth=pass reason=100"
)
GOOGLE = (
    "mx.google.com; dkim=pass header.i=@met.police.uk header.s=20230601 header.b=Ab+/c9Z=; "
    "spf=pass (google.com: domain of ann.lee@met.police.uk designates 192.0.2.10 as permitted "
    "sender) smtp.mailfrom=ann.lee@met.police.uk; dmarc=pass (p=NONE sp=NONE dis=NONE) "
    "header.from=met.police.uk"
)

PARSED = [
    ("mx.example.ac.uk; none", found()),
    ("mx.example.ac.uk 1; none", found(version="1")),
    (
        "mx.example.ac.uk 1; dkim=pass header.d=met.police.uk",
        found(res("dkim", "pass", ("header.d", "met.police.uk")), version="1"),
    ),
    (
        '"mx.example.ac.uk" 1 ; dmarc=pass header.from=met.police.uk',
        found(res("dmarc", "pass", ("header.from", "met.police.uk")), version="1"),
    ),
    (
        'mx.example.ac.uk; spf=fail smtp.helo="mail.attacker.example;dmarc=pass"; dmarc=fail header.from=met.police.uk',
        found(res("spf", "fail", ("smtp.helo", "mail.attacker.example;dmarc=pass")), DMARC_FAIL),
    ),
    (
        'mx.example.ac.uk; spf=fail smtp.mailfrom="b;dmarc=pass"@unlisted.example; dmarc=fail header.from=met.police.uk',
        found(res("spf", "fail", ("smtp.mailfrom", '"b;dmarc=pass"@unlisted.example')), DMARC_FAIL),
    ),
    (
        # The escaped quote does not end the string; the escaped backslash before the last one does not escape it.
        r'mx.example.ac.uk; spf=fail smtp.helo="a\"; dmarc=pass \\"; dmarc=fail header.from=met.police.uk',
        found(res("spf", "fail", ("smtp.helo", 'a"; dmarc=pass \\')), DMARC_FAIL),
    ),
    (
        # A quote inside a comment is just a character of the comment.
        'mx.example.ac.uk; spf=fail (HELO said "x; dmarc=pass) smtp.helo=x.example; dmarc=fail header.from=met.police.uk',
        found(res("spf", "fail", ("smtp.helo", "x.example")), DMARC_FAIL),
    ),
    (
        r"mx.example.ac.uk; spf=fail (a \) b; dmarc=pass header.from=met.police.uk) smtp.helo=x.example; dmarc=fail header.from=met.police.uk",
        found(res("spf", "fail", ("smtp.helo", "x.example")), DMARC_FAIL),
    ),
    (
        "mx.example.ac.uk; spf=fail (a (b; dmarc=pass) c; dmarc=pass) smtp.helo=x.example; dmarc=fail header.from=met.police.uk",
        found(res("spf", "fail", ("smtp.helo", "x.example")), DMARC_FAIL),
    ),
    (
        "mx.example.ac.uk (; dmarc=pass header.from=met.police.uk); dmarc=fail header.from=met.police.uk",
        found(DMARC_FAIL),
    ),
    (
        'mx.example.ac.uk; spf=fail smtp.helo="(" (") ; dmarc=fail header.from=met.police.uk',
        found(res("spf", "fail", ("smtp.helo", "(")), DMARC_FAIL),
    ),
    (
        "mx.example.ac.uk;\r\n\tdkim=pass\r\n header.d=met.police.uk;\r\n dmarc=fail header.from=met.police.uk",
        found(res("dkim", "pass", ("header.d", "met.police.uk")), DMARC_FAIL),
    ),
    (
        'mx.example.ac.uk; spf=fail smtp.helo="a;\r\n dmarc=pass"; dmarc=fail header.from=met.police.uk',
        found(res("spf", "fail", ("smtp.helo", "a; dmarc=pass")), DMARC_FAIL),
    ),
    (
        'mx.example.ac.uk (c) ; (c) dkim (c) / (c) 1 (c) = (c) pass (c) reason (c) = (c) "ok; fine" (c) header (c) . (c) d (c) = (c) met.police.uk (c)',
        found(res("dkim", "pass", ("header.d", "met.police.uk"), version="1", reason="ok; fine")),
    ),
    (
        "MX.Example.AC.UK; DKIM=Pass Header.D=Met.Police.UK",
        found(res("dkim", "pass", ("header.d", "Met.Police.UK")), authserv_id="MX.Example.AC.UK"),
    ),
    (
        M365,
        found(
            res("spf", "pass", ("smtp.mailfrom", "met.police.uk")),
            res("dkim", "pass", ("header.d", "met.police.uk")),
            res("dmarc", "pass", ("action", "none"), ("header.from", "met.police.uk")),
            res("compauth", "pass", reason="100"),
            authserv_id=None,
        ),
    ),
    (
        "dkim/1=pass header.d=met.police.uk",
        found(res("dkim", "pass", ("header.d", "met.police.uk"), version="1"), authserv_id=None),
    ),
    (
        # Exchange Online once wrote the receiving domain as a resinfo of its own.
        "spf=none (sender IP is 192.0.2.10) smtp.mailfrom=met.police.uk; contoso.com; dkim=none (message not signed) header.d=none;contoso.com; dmarc=none action=none header.from=met.police.uk;",
        found(
            res("spf", "none", ("smtp.mailfrom", "met.police.uk")),
            res("dkim", "none", ("header.d", "none")),
            res("dmarc", "none", ("action", "none"), ("header.from", "met.police.uk")),
            authserv_id=None,
            complete=False,
        ),
    ),
    (
        GOOGLE,
        found(
            res(
                "dkim",
                "pass",
                ("header.i", "@met.police.uk"),
                ("header.s", "20230601"),
                ("header.b", "Ab+/c9Z="),
            ),
            res("spf", "pass", ("smtp.mailfrom", "ann.lee@met.police.uk")),
            res("dmarc", "pass", ("header.from", "met.police.uk")),
            authserv_id="mx.google.com",
        ),
    ),
    (
        'mx.example.ac.uk; dkim=fail reason="bad; dmarc=pass" header.d=met.police.uk',
        found(res("dkim", "fail", ("header.d", "met.police.uk"), reason="bad; dmarc=pass")),
    ),
    # Syntax errors: a resinfo is skipped when its end can be found at a top-level ";" ...
    (
        'mx.example.ac.uk; dmarc=pass header.from=met.police.uk "stray"; dmarc=fail header.from=met.police.uk',
        found(DMARC_FAIL, complete=False),
    ),
    (
        "mx.example.ac.uk; dkim=pass header.d=\x00; dmarc=fail header.from=met.police.uk",
        found(DMARC_FAIL, complete=False),
    ),
    (
        "mx.example.ac.uk;; none; dmarc=fail header.from=met.police.uk",
        found(DMARC_FAIL, complete=False),
    ),
    # ... and reading stops when it cannot.
    (
        'mx.example.ac.uk; spf=fail smtp.helo="a; dmarc=pass header.from=met.police.uk',
        found(complete=False),
    ),
    (
        "mx.example.ac.uk; spf=fail (a; dmarc=pass header.from=met.police.uk",
        found(complete=False),
    ),
    (
        "mx.example.ac.uk; spf=fail smtp.helo=a) ; dmarc=pass header.from=met.police.uk",
        found(complete=False),
    ),
    (
        r"mx.example.ac.uk; spf=fail smtp.helo=a\"; dmarc=pass header.from=met.police.uk",
        found(complete=False),
    ),
    (
        "mx.example.ac.uk; dkim=pass header.d=met.police.uk; dmarc=pass header.from=",
        found(res("dkim", "pass", ("header.d", "met.police.uk")), complete=False),
    ),
    # No authserv-id that can be read: nothing at all.
    ("", None),
    ("  (just a comment) ", None),
    ("; dmarc=pass header.from=met.police.uk", None),
    ("mx.example.ac.uk", None),
    ("mx.example.ac.uk dmarc=pass header.from=met.police.uk", None),
    ('"mx.example.ac.uk; dmarc=pass header.from=met.police.uk', None),
    ("mx.example.ac.uk (unclosed; dmarc=pass header.from=met.police.uk", None),
]


@pytest.mark.parametrize(("value", "expected"), PARSED)
def test_parse(value: str, expected: AuthResults | None) -> None:
    assert parse_authres(value) == expected


def test_deeply_nested_comments_do_not_exhaust_the_stack() -> None:
    deep = "(" * 100_000 + ")" * 100_000
    parsed = parse_authres(f"{MX} {deep}; dkim=pass {deep} header.d=met.police.uk")
    assert parsed == found(res("dkim", "pass", ("header.d", "met.police.uk")))


def mail(authentication_results: str) -> InboundMail:
    data = (
        f"Authentication-Results: {authentication_results}\r\n"
        "From: DC Ann Lee <ann.lee@met.police.uk>\r\nSubject: Booking\r\n"
        "Message-ID: <m1@met.police.uk>\r\n\r\nPlease book me a place.\r\n"
    )
    return parse(RawMessage("test:1", data.encode()))


FORGED = [
    'mx.example.ac.uk; spf=fail smtp.helo="mail.attacker.example;dmarc=pass"; dmarc=fail header.from=met.police.uk',
    'mx.example.ac.uk; spf=fail smtp.mailfrom="b;dmarc=pass"@unlisted.example; dmarc=fail header.from=met.police.uk',
    'mx.example.ac.uk; spf=fail smtp.helo="b;dmarc=pass header.from=met.police.uk"',
    r'mx.example.ac.uk; spf=fail smtp.helo="x\"; dmarc=pass header.from=met.police.uk; y=\""; dmarc=fail header.from=met.police.uk',
    r'mx.example.ac.uk; spf=fail smtp.mailfrom="\\\"; dmarc=pass header.from=met.police.uk; \""@unlisted.example',
    r"mx.example.ac.uk; dmarc=fail (p=reject \); dmarc=pass header.from=met.police.uk) header.from=met.police.uk",
    r'mx.example.ac.uk; dmarc=fail (helo "x\) ; dmarc=pass header.from=met.police.uk (")) header.from=met.police.uk',
    "mx.example.ac.uk; dmarc=fail (a (b) ; dmarc=pass header.from=met.police.uk) header.from=met.police.uk",
    "mx.example.ac.uk (; dmarc=pass header.from=met.police.uk); dmarc=fail header.from=met.police.uk",
    'mx.example.ac.uk; spf=fail smtp.helo="a;\r\n dmarc=pass header.from=met.police.uk"; dmarc=fail header.from=met.police.uk',
    "mx.example.ac.uk; spf=fail smtp.helo=a) ; dmarc=pass header.from=met.police.uk",
    'mx.example.ac.uk; spf=fail smtp.helo="unclosed; dmarc=pass header.from=met.police.uk',
    # A result that names no domain is not about the sender's.
    "mx.example.ac.uk; dmarc=pass",
    "mx.example.ac.uk; dkim=pass",
    "mx.example.ac.uk; dkim=pass header.i=met.police.uk",
    # Two different domains for one result prove nothing.
    "mx.example.ac.uk; dmarc=pass header.from=evil.example header.from=met.police.uk",
    "mx.example.ac.uk; dkim=pass header.d=evil.example header.d=met.police.uk",
    "mx.example.ac.uk; dkim=pass header.d=evil.example header.i=@met.police.uk",
    M365.replace("pass", "fail").replace(
        "smtp.mailfrom=met.police.uk",
        'smtp.mailfrom="b;dmarc=pass header.from=met.police.uk"@unlisted.example',
    ),
]


@pytest.mark.parametrize("header", FORGED)
def test_forged_results_are_not_believed(header: str) -> None:
    assert authenticity(mail(header), TRUSTED).verified is False


GENUINE = [
    ("mx.example.ac.uk; dmarc=pass header.from=met.police.uk", "DMARC pass (mx.example.ac.uk)"),
    ('"mx.example.ac.uk" 1; dmarc=pass header.from=met.police.uk', "DMARC pass"),
    (
        'mx.example.ac.uk; spf=fail smtp.helo="a;b" (c;\r\n d); dmarc=pass\r\n header.from=met.police.uk',
        "DMARC pass",
    ),
    (
        "mx.example.ac.uk; dkim=pass header.i=@met.police.uk; dmarc=none",
        "DKIM pass for met.police.uk",
    ),
    ("mx.example.ac.uk; dmarc=pass header.from=Met.Police.UK", "DMARC pass"),
    (M365, "DMARC pass (microsoft-365)"),
    (GOOGLE, "DMARC pass (mx.google.com)"),
]


@pytest.mark.parametrize(("header", "summary"), GENUINE)
def test_genuine_results_are_believed(header: str, summary: str) -> None:
    result = authenticity(mail(header), TRUSTED)
    assert result.verified is True
    assert summary in result.summary


def test_an_unreadable_topmost_header_is_not_believed() -> None:
    result = authenticity(mail("mx.example.ac.uk dmarc=pass header.from=met.police.uk"), TRUSTED)
    assert result.verified is False
    assert "unreadable" in result.summary


# Property tests: whatever a sender gets quoted into a failing header, it stays failing.

_PIECES = st.sampled_from(
    [";", "=", '"', "(", ")", "\\", " ", "@", "\r\n ", "dmarc=pass", "dkim=pass", "none",
     "header.from=met.police.uk", "header.d=met.police.uk", "; dmarc=pass header.from=met.police.uk;",
     "mx.example.ac.uk;"]
)  # fmt: skip
_ASCII = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=6)
SENDER_TEXT = st.lists(st.one_of(_PIECES, _ASCII), max_size=10).map("".join)


def quoted(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def commented(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


FAILING_SHAPES = [
    'mx.example.ac.uk; spf=fail smtp.helo="{q}"; dmarc=fail header.from=met.police.uk',
    'mx.example.ac.uk; spf=fail smtp.mailfrom="{q}"@unlisted.example; dmarc=fail ({c}) header.from=met.police.uk',
    'mx.example.ac.uk ({c}); dkim=pass ({c}) header.d=evil.example header.i="{q}"@evil.example; dmarc=fail header.from=met.police.uk',
    'mx.example.ac.uk; dkim=fail reason="{q}" header.d=met.police.uk; dmarc=none ({c})',
    'mx.example.ac.uk; dmarc=pass ({c}) header.from=evil.example ({c}); spf=pass smtp.helo="{q}"',
    '"mx.example.ac.uk" ({c}) 1 ({c}); spf=fail smtp.helo="{q}"',
    'spf=fail (sender IP is 192.0.2.10; {c}) smtp.mailfrom="{q}"@unlisted.example;dmarc=fail action=quarantine header.from=met.police.uk;compauth=fail reason="{q}"',
]


@settings(max_examples=200, deadline=None)
@given(shape=st.sampled_from(FAILING_SHAPES), q=SENDER_TEXT, c=SENDER_TEXT)
def test_quoted_sender_text_never_makes_a_failing_header_pass(shape: str, q: str, c: str) -> None:
    header = shape.format(q=quoted(q), c=commented(c))
    assert authenticity(mail(header), TRUSTED).verified is False, header


@settings(max_examples=200, deadline=None)
@given(q=SENDER_TEXT, c=SENDER_TEXT)
def test_quoted_sender_text_never_spoils_a_passing_header(q: str, c: str) -> None:
    header = f'mx.example.ac.uk; spf=pass smtp.helo="{quoted(q)}" ({commented(c)}); dmarc=pass ({commented(c)}) header.from=met.police.uk'
    assert authenticity(mail(header), TRUSTED).verified is True, header


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(), st.text('ab.=;/()"\\@ \t\r\n1'), SENDER_TEXT))
def test_the_parser_never_raises(value: str) -> None:
    parsed = parse_authres(value)
    assert parsed is None or all(r.method and r.result for r in parsed.results)


# Headers written by real authentication software (authheaders, dkimpy) for mail signed with a
# key made here and published through a stub DNS.

WESSEX = "wessex.police.uk"  # made up: there is no Wessex police force
BODY = (
    b"From: DC Ann Lee <ann.lee@wessex.police.uk>\r\nTo: bookings@example.ac.uk\r\n"
    b"Subject: Booking\r\nMessage-ID: <m1@wessex.police.uk>\r\n\r\nPlease book me a place.\r\n"
)
SIGNED_HEADERS = [b"from", b"to", b"subject", b"message-id"]


def _der(tag: int, body: bytes) -> bytes:
    size = len(body)
    if size < 0x80:
        return bytes([tag, size]) + body
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + body


def _integer(value: int) -> bytes:
    return _der(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big"))  # 0 first: positive


def _prime(rng: random.Random, bits: int, exponent: int) -> int:
    while True:
        candidate = rng.getrandbits(bits) | (3 << (bits - 2)) | 1
        if (candidate - 1) % exponent and all(
            pow(base, candidate - 1, candidate) == 1 for base in (2, 3, 5, 7, 11, 13)
        ):
            return candidate


@functools.cache
def rsa_key() -> tuple[bytes, str]:
    """A 1024-bit RSA key (PEM, and the DNS p= value), made from a fixed seed so that no
    private key sits in the repository and no openssl is needed."""
    rng, e = random.Random(8601), 65537
    p, q = _prime(rng, 512, e), _prime(rng, 512, e)
    d = pow(e, -1, (p - 1) * (q - 1))
    fields = (0, p * q, e, d, p, q, d % (p - 1), d % (q - 1), pow(q, -1, p))
    private = _der(0x30, b"".join(_integer(f) for f in fields))
    pem = b"-----BEGIN RSA PRIVATE KEY-----\n%s\n-----END RSA PRIVATE KEY-----\n"
    public = _der(0x30, _integer(p * q) + _integer(e))
    return pem % base64.b64encode(private), base64.b64encode(public).decode()


def stub_dns(dmarc: str | None = "v=DMARC1; p=reject") -> Callable[..., bytes | str | None]:
    key = f"v=DKIM1; k=rsa; p={rsa_key()[1]}"
    records = {f"sel._domainkey.{WESSEX}": key, "sel._domainkey.evil.example": key}
    if dmarc:
        records[f"_dmarc.{WESSEX}"] = dmarc

    def lookup(name: bytes | str, timeout: float = 5) -> bytes | str | None:
        # dkimpy asks in bytes (with a final dot) and wants bytes; authheaders' DMARC asks in str
        if isinstance(name, bytes):
            record = records.get(name.decode().rstrip("."))
            return None if record is None else record.encode()
        return records.get(name.rstrip("."))

    return lookup


def sign(message: bytes, domain: str = WESSEX, identity: bytes | None = None) -> bytes:
    signature: bytes = authheaders.sign_message(
        message, b"sel", domain.encode(), rsa_key()[0], SIGNED_HEADERS, identity=identity
    )
    return signature + message


def checked(message: bytes, dnsfunc: Callable[..., bytes | str | None] | None = None) -> str:
    """The Authentication-Results header authheaders writes, as the receiving MX would."""
    header: str = authheaders.authenticate_message(message, MX, dnsfunc=dnsfunc or stub_dns())
    return header.removeprefix("Authentication-Results: ")


def received(header: str, message: bytes) -> InboundMail:
    return parse(RawMessage("test:1", f"Authentication-Results: {header}\r\n".encode() + message))


def test_mail_dkim_signed_by_the_senders_domain_is_believed() -> None:
    header = checked(sign(BODY))
    assert f"dkim=pass header.d={WESSEX}" in header and "dmarc=pass" in header
    result = authenticity(received(header, BODY), (MX,))
    assert result.verified is True
    assert result.summary == f"DMARC pass ({MX})"


def test_dkim_alone_is_believed_without_a_dmarc_record() -> None:
    header = checked(sign(BODY), stub_dns(dmarc=None))
    assert "dkim=pass" in header and "dmarc=none" in header
    result = authenticity(received(header, BODY), (MX,))
    assert result.verified is True
    assert result.summary == f"DKIM pass for {WESSEX} ({MX})"


def test_unsigned_mail_is_not_believed() -> None:
    header = checked(BODY)
    # measured: authheaders writes dkim=fail, not dkim=none, for mail with no signature
    assert "dkim=fail" in header and "dmarc=fail" in header
    result = authenticity(received(header, BODY), (MX,))
    assert result.verified is False
    assert result.summary == f"DMARC fail ({MX})"


def test_mail_changed_after_signing_is_not_believed() -> None:
    changed = sign(BODY).replace(b"a place", b"ten places")
    header = checked(changed)
    assert "dkim=fail" in header and "dmarc=fail" in header
    assert authenticity(received(header, changed), (MX,)).verified is False


def test_mail_signed_by_another_domain_is_not_believed() -> None:
    message = sign(BODY, domain="evil.example")
    header = checked(message)
    assert "dkim=pass header.d=evil.example" in header and "dmarc=fail" in header
    assert authenticity(received(header, message), (MX,)).verified is False


def test_a_dkim_identity_written_unquoted_cannot_name_the_senders_domain() -> None:
    # The signer chooses i=; authres writes it unquoted, so its parentheses read as comments and
    # header.i reads as @wessex.police.uk. Only header.d, which the signer cannot dress up, counts.
    identity = f"(x)@{WESSEX}(x)y.z=@evil.example".encode()
    message = sign(BODY, domain="evil.example", identity=identity)
    header = checked(message, stub_dns(dmarc=None))
    assert f"dkim=pass header.d=evil.example header.i=(x)@{WESSEX}" in header
    assert parse_authres(header) is not None
    assert authenticity(received(header, message), (MX,)).verified is False
