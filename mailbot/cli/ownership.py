"""Whether root is about to write in a data folder that belongs to another user, and what to
tell it instead.

The service runs as its own user (`mailbot`, see deploy/mailbot.service). A command run as
root in that user's data folder would leave the SQLite file, its WAL and lock files, or mail
in a Maildir owned by root, which the service then cannot write ("attempt to write a readonly
database"). Changing their owner afterwards would race SQLite, which makes and removes its
WAL files as it goes, so mailbot refuses up front and names the command to run instead.
"""

from __future__ import annotations

import os
import pwd
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mailbot.config import Settings

ROOT = 0


@dataclass(frozen=True)
class Folder:
    """A folder mailbot would write in, and who owns it."""

    path: Path
    uid: int
    owner: str


def refusal(euid: int, folders: Sequence[Folder], command: Sequence[str]) -> str | None:
    """The one-line reason not to go on, or None: only root is refused, and only in a folder
    another user owns."""
    if euid != ROOT:
        return None
    for folder in folders:
        if folder.uid != ROOT:
            again = shlex.join(["runuser", "-u", folder.owner, "--", *command])
            return (
                f"{folder.path} belongs to {folder.owner}, who could not write the files root "
                f"would make there: run this as {folder.owner}: {again}"
            )
    return None


def data_paths(settings: Settings) -> list[Path]:
    """Where mailbot writes: the SQLite file's folder and the Maildir folders, if used."""
    paths = []
    scheme, _, rest = settings.database_url().partition(":///")
    database = rest.partition("?")[0]
    if scheme.startswith("sqlite") and database and database != ":memory:":
        paths.append(settings.resolve_path(database).parent)
    for maildir in (settings.mailbox.maildir, settings.smtp.maildir):
        if maildir is not None:
            paths.append(settings.resolve_path(maildir))
    return paths


def as_it_is_now(path: Path) -> Folder:
    """`path`, or the nearest folder above it that exists (mailbot would create the rest
    there), with its owner."""
    existing = next(p for p in [path, *path.parents] if p.exists())
    uid = existing.stat().st_uid
    try:
        owner = pwd.getpwuid(uid).pw_name
    except KeyError:  # a uid with no account: runuser takes neither, but the message still helps
        owner = str(uid)
    return Folder(existing, uid, owner)


def refuse_root_in_others_folders(
    settings: Settings, argv: Sequence[str] | None = None
) -> str | None:
    """Why this command must not run as root here (see `refusal`), or None.

    `argv` (this process's by default) is the command line as given, repeated in the
    message; run as `python -m mailbot`, it is said as `mailbot`.
    """
    if os.geteuid() != ROOT:
        return None  # no need to look at the folders
    argv = sys.argv if argv is None else argv
    program = "mailbot" if Path(argv[0]).name == "__main__.py" else argv[0]
    folders = [as_it_is_now(path) for path in data_paths(settings)]
    return refusal(os.geteuid(), folders, [program, *argv[1:]])
