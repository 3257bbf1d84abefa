"""The stdlib email policy mailbot reads inbound mail with, made cheap to use.

The stdlib's HeaderRegistry creates a new class for every header it parses. That was a
tenth of the cost of reading a message, so the classes are made once per header name
here; the headers themselves behave exactly as the stdlib's. (Replies are written by
mailbot/mime.py, without the stdlib's message objects.)
"""

from __future__ import annotations

from email import policy as email_policy
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.policy import EmailPolicy
from typing import Any

__all__ = ["READ_POLICY", "CachedHeaderRegistry"]


class CachedHeaderRegistry(HeaderRegistry):
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


# policy.default, with the cached registry.
READ_POLICY: EmailPolicy[EmailMessage[Any, Any]] = email_policy.default.clone(
    header_factory=CachedHeaderRegistry()
)
