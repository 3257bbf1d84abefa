"""One job: text from outside (a header, a provider's error) made into one printable line."""

from __future__ import annotations

import re

# C0 controls and DEL: CR and LF would start a header of their own, and NUL, ESC or BEL
# would reach a terminal, a log or the database (PostgreSQL refuses NUL) as they came.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CUT = "..."


def one_line(text: str, limit: int | None = None) -> str:
    """`text` as one line: each control character a space, each run of whitespace one
    space, none at either end; cut to `limit` characters, ending "...", when it is longer."""
    folded = " ".join(_CONTROL.sub(" ", text).split())
    if limit is not None and len(folded) > limit:
        return folded[: max(0, limit - len(_CUT))] + _CUT
    return folded
