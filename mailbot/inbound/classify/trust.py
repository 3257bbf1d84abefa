"""Decide whether a sender's address is authenticated, from Authentication-Results headers."""

from __future__ import annotations

from mailbot.domain import Authenticity, InboundMail
from mailbot.inbound.classify.authres import MethodResult, parse_authres

# Microsoft 365 writes no authserv-id (its header starts with a result, "spf=pass ..."): such a
# header is named "microsoft-365", so an administrator whose mail arrives through Microsoft 365
# can trust it by that name.
MICROSOFT_365 = "microsoft-365"


def _one(result: MethodResult, name: str) -> str | None:
    """The property's value, lower-cased; none, or two that differ, name no domain at all."""
    values = {value.lower() for value in result.values(name)}
    return values.pop() if len(values) == 1 else None


def _dkim_signer(result: MethodResult) -> str | None:
    if result.values("header.d"):
        return _one(result, "header.d")
    _, at, domain = (_one(result, "header.i") or "").rpartition("@")
    return domain if at else None


def authenticity(mail: InboundMail, trusted_authserv_ids: tuple[str, ...]) -> Authenticity:
    """Only the topmost Authentication-Results header counts, and only from a trusted host.

    The sender's domain must pass DMARC, or DKIM signed by that same domain. A result that
    names no domain (no header.from, header.d or header.i) is not taken to be about the sender's.
    """
    if mail.sender is None or mail.sender_problem:
        return Authenticity(False, mail.sender_problem or "no usable From address")
    headers = mail.header_values("authentication-results")
    if not headers:
        return Authenticity(False, "no Authentication-Results header")
    topmost = parse_authres(headers[0])
    if topmost is None:
        return Authenticity(False, "unreadable Authentication-Results header")
    server = MICROSOFT_365 if topmost.authserv_id is None else topmost.authserv_id.lower()
    if server not in {t.lower() for t in trusted_authserv_ids}:
        return Authenticity(False, f"Authentication-Results from untrusted host {server or '?'}")
    domain = mail.sender.domain
    for result in topmost.results:
        if (
            result.method == "dmarc"
            and result.result == "pass"
            and _one(result, "header.from") == domain
        ):
            return Authenticity(True, f"DMARC pass ({server})")
    for result in topmost.results:
        if result.method == "dkim" and result.result == "pass" and _dkim_signer(result) == domain:
            return Authenticity(True, f"DKIM pass for {domain} ({server})")
    dmarc = next((r.result for r in topmost.results if r.method == "dmarc"), "none")
    return Authenticity(False, f"DMARC {dmarc} ({server})")
