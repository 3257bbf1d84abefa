"""Booking references: how they are made and how they are found in text, from one alphabet."""

from __future__ import annotations

import re
import secrets

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I: refs are read aloud
_CHAR = f"[{ALPHABET}]"
REF_PATTERN = re.compile(rf"\b({_CHAR}{{3}}-{_CHAR}{{3}})\b")


def random_ref() -> str:
    """A short booking reference people can read over the phone, like "K7Q-4MZ"."""
    chars = "".join(secrets.choice(ALPHABET) for _ in range(6))
    return f"{chars[:3]}-{chars[3:]}"
