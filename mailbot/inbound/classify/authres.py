"""Read one Authentication-Results header value (RFC 8601) into its results, never raising."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Unfolding removes a line break only where a continuation line follows (RFC 5322 2.2.3).
_FOLD = re.compile(r"\r?\n(?=[ \t])")
# RFC 2045 token, for the authserv-id; non-ASCII is let through (RFC 8616).
_TOKEN = re.compile(r'[^\x00-\x20\x7f()<>@,;:\\"/\[\]?=]+')
_KEYWORD = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9])?")
_DIGITS = re.compile(r"[0-9]+")
# A property value that is not quoted. Wider than RFC 8601's domain or dot-atom, because real
# software writes "header.b=Ab+/c9Z=" and "smtp.mailfrom=<>"; never wider than one top-level
# word, so it cannot run into a comment, a quoted string or the next resinfo.
_BARE = re.compile(r'[^\x00-\x20\x7f();"\\]+')


@dataclass(frozen=True)
class MethodResult:
    """One resinfo: "dkim=pass header.d=example.org". Names are lower-cased, values as written."""

    method: str
    result: str
    properties: tuple[tuple[str, str], ...] = ()
    version: str | None = None
    reason: str | None = None

    def values(self, name: str) -> tuple[str, ...]:
        return tuple(value for key, value in self.properties if key == name)


@dataclass(frozen=True)
class AuthResults:
    """A whole header. authserv_id is None when none was written (Microsoft 365 writes none);
    complete is False when a resinfo was skipped, or reading stopped, on a syntax error."""

    authserv_id: str | None
    results: tuple[MethodResult, ...]
    version: str | None = None
    complete: bool = True


class _SyntaxError(Exception):
    pass


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def peek(self) -> str:
        return self.text[self.pos : self.pos + 1]

    def take(self, char: str) -> bool:
        if self.peek() != char:
            return False
        self.pos += 1
        return True

    def expect(self, char: str) -> None:
        if not self.take(char):
            raise _SyntaxError

    def maybe(self, pattern: re.Pattern[str]) -> str | None:
        found = pattern.match(self.text, self.pos)
        if found is None:
            return None
        self.pos = found.end()
        return found.group()

    def match(self, pattern: re.Pattern[str]) -> str:
        found = self.maybe(pattern)
        if found is None:
            raise _SyntaxError
        return found

    def cfws(self) -> None:
        while True:
            if self.peek() == "(":
                self.comment()
            elif self.peek() in (" ", "\t", "\r", "\n"):
                self.pos += 1
            else:
                return

    def comment(self) -> None:
        # Counted, not recursive: a sender cannot nest deep enough to exhaust the stack.
        depth, pos, text = 0, self.pos, self.text
        while pos < len(text):
            char = text[pos]
            pos += 2 if char == "\\" else 1
            depth += {"(": 1, ")": -1}.get(char, 0)
            if depth == 0:
                self.pos = pos
                return
        raise _SyntaxError

    def quoted(self) -> str:
        pos, text, kept = self.pos + 1, self.text, list[str]()
        while pos < len(text):
            char = text[pos]
            if char == '"':
                self.pos = pos + 1
                return "".join(kept)
            if char == "\\":
                pos += 1
                char = text[pos : pos + 1]
            kept.append(char)
            pos += 1
        raise _SyntaxError

    def pvalue(self) -> str:
        """A property value; an addr-spec with a quoted local-part keeps its quotes."""
        if self.peek() != '"':
            return self.match(_BARE)
        start = self.pos
        unquoted = self.quoted()
        if not self.take("@"):
            return unquoted
        self.match(_BARE)
        return self.text[start : self.pos]

    def resinfo(self) -> MethodResult | None:
        """One resinfo up to and including its ";"; None for "none"."""
        self.cfws()
        method = self.match(_KEYWORD).lower()
        self.cfws()
        if method == "none" and self.peek() in (";", ""):
            self.take(";")
            return None
        version = None
        if self.take("/"):
            self.cfws()
            version = self.match(_DIGITS)
            self.cfws()
        self.expect("=")
        self.cfws()
        result = self.match(_KEYWORD).lower()
        reason, properties = None, list[tuple[str, str]]()
        while True:
            self.cfws()
            if self.take(";") or not self.peek():
                return MethodResult(method, result, tuple(properties), version, reason)
            name = self.match(_KEYWORD).lower()
            self.cfws()
            if self.take("."):  # ptype.property; Microsoft 365 also writes a bare "action=none"
                self.cfws()
                name += "." + self.match(_KEYWORD).lower()
                self.cfws()
            self.expect("=")
            self.cfws()
            if name == "reason":
                reason = self.pvalue()
            else:
                properties.append((name, self.pvalue()))

    def skip_resinfo(self) -> bool:
        """After a syntax error: past the next top-level ";", if it can be found for certain."""
        try:
            while self.peek():
                char = self.peek()
                if char == '"':
                    self.quoted()
                elif char == "(":
                    self.comment()
                elif char in ")\\":  # outside quotes and comments: a sign of broken quoting
                    return False
                else:
                    self.pos += 1
                    if char == ";":
                        return True
        except _SyntaxError:  # an unterminated quoted-string or comment
            pass
        return False


def parse_authres(value: str) -> AuthResults | None:
    """The header's results; None when not even its authserv-id can be read."""
    reader = _Reader(_FOLD.sub("", value))
    try:
        reader.cfws()
        quoted = reader.peek() == '"'
        authserv_id: str | None = reader.quoted() if quoted else reader.match(_TOKEN)
        reader.cfws()
        version = None
        if reader.peek() in ("=", "/") and not quoted:
            reader.pos, authserv_id = 0, None  # no authserv-id: that was the first method
        else:
            version = reader.maybe(_DIGITS)
            reader.cfws()
            reader.expect(";")
    except _SyntaxError:
        return None
    results: list[MethodResult] = []
    complete = True
    while True:
        try:
            reader.cfws()
            if not reader.peek():
                break
            result = reader.resinfo()
        except _SyntaxError:
            complete = False
            if reader.skip_resinfo():
                continue
            break
        if result is not None:
            results.append(result)
    return AuthResults(authserv_id, tuple(results), version, complete)
