"""The stdlib email policy mailbot reads inbound mail with, made cheap to use.

The stdlib parses a header again each time it is fetched, and its HeaderRegistry creates a
new class for every header it parses: most of the cost of reading a message. Here each
header name's class is made once, each header of a message is parsed once, and short MIME
headers, which repeat from message to message, once per process. The headers themselves
are exactly the stdlib's. (Replies are written by mailbot/outbound/mime.py.)
"""

from __future__ import annotations

import functools
from email import policy as email_policy
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.policy import EmailPolicy
from typing import Any

__all__ = ["reading_policy"]

# MIME headers repeat from message to message ("text/plain; charset=utf-8", "base64"), so
# short ones are also kept across messages, a bounded number of them.
_SHARED_HEADERS = frozenset(
    {"content-type", "content-transfer-encoding", "content-disposition", "mime-version"}
)
_SHARED_MAX_LENGTH = 200


class _CachedHeaderRegistry(HeaderRegistry):
    """A HeaderRegistry that builds each header name's class once."""

    def __init__(self) -> None:
        super().__init__()
        self._classes: dict[str, type[BaseHeader]] = {}

    def map_to_type(self, name: str, cls: type[BaseHeader]) -> None:
        super().map_to_type(name, cls)
        self._classes.pop(name.lower(), None)

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        cls = self._classes.get(key)
        if cls is None:
            cls = self._classes[key] = super().__getitem__(name)
        return cls


_REGISTRY = _CachedHeaderRegistry()


class _HeaderMemo:
    """The header factory for one message: each distinct header is parsed only once.

    The stdlib's parser and accessors (get_content_type, get_param, get_body, get_content,
    walk) fetch Content-Type over and over, and each fetch ran the header parser again; that
    was most of the cost of parse(). A parsed header is an immutable str made from its name
    and value alone, so handing out the same object again changes nothing but the time.
    """

    def __init__(self, registry: HeaderRegistry) -> None:
        self._registry = registry
        self._parsed: dict[tuple[str, str], BaseHeader] = {}

    def __call__(self, name: str, value: str) -> BaseHeader:
        key = (name, value)
        header = self._parsed.get(key)
        if header is None:
            header = self._parsed[key] = self._parse(name, value)
        return header

    def __getitem__(self, name: str) -> type[BaseHeader]:
        return self._registry[name]  # EmailPolicy.header_max_count looks classes up

    def _parse(self, name: str, value: str) -> BaseHeader:
        if len(value) <= _SHARED_MAX_LENGTH and name.lower() in _SHARED_HEADERS:
            return _shared_header(self._registry, name, value)
        return self._registry(name, value)


@functools.lru_cache(maxsize=256)
def _shared_header(registry: HeaderRegistry, name: str, value: str) -> BaseHeader:
    return registry(name, value)


def reading_policy() -> EmailPolicy[EmailMessage[Any, Any]]:
    """policy.default, with a header factory of its own for one message."""
    return email_policy.default.clone(header_factory=_HeaderMemo(_REGISTRY))
