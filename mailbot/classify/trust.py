"""Decide whether a sender's address is authenticated, from Authentication-Results headers."""

from __future__ import annotations

import re

from mailbot.domain import Authenticity, InboundMail

_RESULT = re.compile(r"\b(dmarc|dkim|spf)\s*=\s*([a-z]+)([^;]*)", re.IGNORECASE)
_PROPERTY = re.compile(r"\b(header\.from|header\.d|header\.i|smtp\.mailfrom)\s*=\s*([^\s;]+)", re.I)


def _strip_comments(value: str) -> str:
    # RFC 8601 allows (comments) anywhere; they could hide or fake a result
    depth = 0
    kept: list[str] = []
    for char in value:
        if char == "(":
            depth += 1
        elif char == ")" and depth:
            depth -= 1
        elif not depth:
            kept.append(char)
    return "".join(kept)


MICROSOFT_365 = "microsoft-365"


def _authserv_id(value: str) -> str:
    """The host that wrote the header. Microsoft 365 writes none (its header starts with a
    result, "spf=pass ..."): such a header is named "microsoft-365", so an administrator
    whose mail arrives through Microsoft 365 can trust it by that name."""
    first = value.split(";", 1)[0].strip()
    if not first:
        return ""
    token = first.split()[0].lower()
    return MICROSOFT_365 if "=" in token else token


def authenticity(mail: InboundMail, trusted_authserv_ids: tuple[str, ...]) -> Authenticity:
    """Only the topmost Authentication-Results header counts, and only from a trusted host.

    The sender's domain must pass DMARC, or DKIM signed by that same domain.
    """
    if mail.sender is None or mail.sender_problem:
        return Authenticity(False, mail.sender_problem or "no usable From address")
    results = mail.header_values("authentication-results")
    if not results:
        return Authenticity(False, "no Authentication-Results header")
    topmost = _strip_comments(results[0])
    server = _authserv_id(topmost)
    trusted = {t.lower() for t in trusted_authserv_ids}
    if server not in trusted:
        return Authenticity(False, f"Authentication-Results from untrusted host {server or '?'}")
    domain = mail.sender.domain
    verdicts: dict[str, list[tuple[str, dict[str, str]]]] = {}
    results_part = topmost if server == MICROSOFT_365 else topmost.split(";", 1)[-1]
    for method, verdict, rest in _RESULT.findall(results_part):
        props = {key.lower(): val.strip().lower() for key, val in _PROPERTY.findall(rest)}
        verdicts.setdefault(method.lower(), []).append((verdict.lower(), props))
    for verdict, props in verdicts.get("dmarc", []):
        if verdict == "pass" and props.get("header.from", domain) == domain:
            return Authenticity(True, f"DMARC pass ({server})")
    for verdict, props in verdicts.get("dkim", []):
        signer = props.get("header.d") or props.get("header.i", "").rpartition("@")[2]
        if verdict == "pass" and signer == domain:
            return Authenticity(True, f"DKIM pass for {domain} ({server})")
    dmarc = verdicts.get("dmarc", [("none", {})])[0][0]
    return Authenticity(False, f"DMARC {dmarc} ({server})")
