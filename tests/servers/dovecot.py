"""Run a private, throw-away Dovecot IMAP server on loopback for the test session."""

from __future__ import annotations

import grp
import itertools
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from imapclient import IMAPClient

from tests.servers.process import HOST, free_port, greeting_problem, kill_group

DOVECOT = Path("/usr/sbin/dovecot")
DOVEADM = Path("/usr/bin/doveadm")

# Mail processes may not run as root, so as root they run as this unprivileged account.
_ROOT_MAIL_USER = "nobody"

_CONFIG = """\
# Written by tests/servers/dovecot.py; nothing under /etc/dovecot is read.
base_dir = {base_dir}
state_dir = {state_dir}
instance_name = {instance_name}
log_path = {log_path}
info_log_path = {log_path}
protocols = imap
listen = {host}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
mail_location = maildir:{mail_root}/%u{layout}
maildir_very_dirty_syncs = yes
mail_fsync = never
{identity}
{variant_settings}passdb {{
  driver = static
  args = password={password}
}}
userdb {{
  driver = static
  args = uid={mail_uid} gid={mail_gid} home={mail_root}/%u
}}
service imap-login {{
  inet_listener imap {{
    address = {host}
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
{login_chroot}}}
service anvil {{
  # Without this Dovecot slows every login after a few failures, even correct ones.
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
{anvil_chroot}}}
"""


# Dovecot 2.3.19's own post-login capability list (measured here with no imap_capability set),
# for the variants that set imap_capability to this list less some of it.
_DEFAULT_CAPABILITY = (
    "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SORT=DISPLAY THREAD=REFERENCES "
    "THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL CATENATE UNSELECT CHILDREN "
    "NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 CONDSTORE QRESYNC ESEARCH ESORT SEARCHRES "
    "WITHIN CONTEXT=SEARCH LIST-STATUS BINARY MOVE SNIPPET=FUZZY PREVIEW=FUZZY PREVIEW "
    "STATUS=SIZE SAVEDATE LITERAL+ NOTIFY"
)


def _capability_without(*dropped: str) -> str:
    kept = [word for word in _DEFAULT_CAPABILITY.split() if word not in dropped]
    return f"imap_capability = {' '.join(kept)}\n"


# The configurations PrivateDovecot can run, each standing in for another server's layout or
# abilities: name -> (suffix of mail_location, extra settings). imap_capability changes only
# what Dovecot advertises: it still runs UID MOVE, UID EXPUNGE and IDLE when a client sends
# them, so the code under test has to go by the advertisement.
VARIANTS: dict[str, tuple[str, str]] = {
    # Dovecot's implicit namespace: no prefix, "." between levels (Maildir++).
    "default": ("", ""),
    # Personal folders under "INBOX." as Courier and Debian's Cyrus lay them out. With this as
    # the only namespace, a name outside it is refused: CREATE Processed gets "NO Client tried
    # to access nonexistent namespace. (Mailbox name should probably be prefixed with: INBOX.)"
    "prefixed": (
        "",
        "namespace inbox {\n  inbox = yes\n  prefix = INBOX.\n  separator = .\n}\n",
    ),
    # One directory per folder level on disk, "/" between levels in IMAP ("." is then an
    # ordinary character in a folder name).
    "slash": (
        ":LAYOUT=fs",
        "namespace inbox {\n  inbox = yes\n  separator = /\n}\n",
    ),
    # A server without MOVE or UIDPLUS (so no UID MOVE, no UID EXPUNGE) but with IDLE.
    "no-move-uidplus": ("", _capability_without("MOVE", "UIDPLUS")),
    # A server without IDLE.
    "no-idle": ("", _capability_without("IDLE")),
}

_NO_USERS_KICKED = 68  # doveadm's EX_NOUSER: the user had no connection to cut


def _check_traversable(path: Path) -> None:
    """Fail early, with a clear reason, instead of letting Dovecot answer [SERVERBUG]."""
    for folder in [path, *path.parents]:
        if not folder.stat().st_mode & stat.S_IXOTH:
            raise RuntimeError(
                f"{folder} is not traversable by other users (needs o+x), so the "
                f"unprivileged mail user cannot reach {path}; set TMPDIR to a path that is"
            )


class PrivateDovecot:
    """A Dovecot instance with its own config, directories and port, owned by one test run.

    Any user name logs in with `password` and gets its own empty Maildir, so tests take a
    fresh user (`new_user()`) instead of a fresh server. `variant` picks one of `VARIANTS`.
    """

    def __init__(
        self,
        root: Path | None = None,
        password: str = "correct-horse-42",
        variant: str = "default",
    ) -> None:
        if not DOVECOT.exists():
            raise RuntimeError(
                f"{DOVECOT} is missing: install it with `apt-get install dovecot-imapd`"
            )
        if variant not in VARIANTS:
            raise ValueError(f"unknown Dovecot variant {variant!r}; known: {', '.join(VARIANTS)}")
        self.variant = variant
        self.name = "dovecot" if variant == "default" else f"dovecot-{variant}"
        self._own_root = root is None
        self.root = Path(tempfile.mkdtemp(prefix="mailbot-dovecot-")) if root is None else root
        self.password = password
        self.host = HOST
        self.port = 0
        self.config_path = self.root / "dovecot.conf"
        self.log_path = self.root / "dovecot.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._users = itertools.count(1)

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self._write_config()
        with (self.root / "stdout.log").open("wb") as out:
            # Its own session makes the master the leader of a process group that also holds
            # every imap/auth child, so stop() can kill them all by one pid.
            self._process = subprocess.Popen(
                [str(DOVECOT), "-F", "-c", str(self.config_path)],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait_for_greeting(deadline=time.monotonic() + 10.0)

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            # A child still serving a client can outlive the master by ~10 s.
            kill_group(process, grace=0.3)
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def _wait_for_greeting(self, deadline: float) -> None:
        assert self._process is not None
        problem = greeting_problem(self._process, self.port, deadline)
        if problem is not None:
            tail = self.log_tail()
            self.stop()
            raise RuntimeError(f"dovecot {problem}:\n{tail}")

    def log_tail(self, lines: int = 30) -> str:
        texts = []
        for path in (self.log_path, self.root / "stdout.log"):
            if path.exists():
                texts.extend(path.read_text(errors="replace").splitlines()[-lines:])
        return "\n".join(texts)

    # -- configuration -----------------------------------------------------------------------

    def _write_config(self) -> None:
        self.port = free_port()
        mail_root = self.root / "mail"
        base_dir = self.root / "run"
        state_dir = self.root / "state"
        for folder in (mail_root, base_dir, state_dir):
            folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            account = pwd.getpwnam(_ROOT_MAIL_USER)
            mail_uid, mail_gid = account.pw_uid, account.pw_gid
            self.root.chmod(0o755)
            _check_traversable(self.root)
            os.chown(mail_root, mail_uid, mail_gid)
            identity = ""
            login_chroot = anvil_chroot = ""
        else:
            mail_uid, mail_gid = os.getuid(), os.getgid()
            me = pwd.getpwuid(mail_uid).pw_name
            group = grp.getgrgid(mail_gid).gr_name
            identity = (
                f"default_internal_user = {me}\n"
                f"default_login_user = {me}\n"
                f"default_internal_group = {group}"
            )
            # Only root may chroot.
            login_chroot = anvil_chroot = "  chroot =\n"
        layout, variant_settings = VARIANTS[self.variant]
        self.config_path.write_text(
            _CONFIG.format(
                base_dir=base_dir,
                state_dir=state_dir,
                instance_name=f"mailbot-test-{self.port}",
                log_path=self.log_path,
                host=self.host,
                port=self.port,
                mail_root=mail_root,
                layout=layout,
                identity=identity,
                variant_settings=variant_settings,
                password=self.password,
                mail_uid=mail_uid,
                mail_gid=mail_gid,
                login_chroot=login_chroot,
                anvil_chroot=anvil_chroot,
            )
        )

    # -- helpers for tests -------------------------------------------------------------------

    def new_user(self) -> str:
        """A user name never used before on this server, so its mailbox starts empty."""
        return f"sam.okafor{next(self._users)}"

    def client(self, user: str) -> IMAPClient:
        """A logged-in connection for a test to APPEND to or inspect a mailbox."""
        client = IMAPClient(self.host, port=self.port, ssl=False, timeout=10.0)
        client.login(user, self.password)
        return client

    def doveadm(self, *args: str, allowed: tuple[int, ...] = (0,)) -> str:
        result = subprocess.run(
            [str(DOVEADM), "-c", str(self.config_path), *args],
            capture_output=True,
            text=True,
            timeout=10.0,
            check=False,
        )
        if result.returncode not in allowed:
            raise RuntimeError(f"doveadm {' '.join(args)} failed: {result.stderr.strip()}")
        return result.stdout

    def kill_connections(self, user: str) -> bool:
        """Cut every IMAP connection of `user`, as a server restart or a network drop would.

        `doveadm kick` asks each of the user's imap processes to end; it returns before they
        have, so wait until anvil no longer lists the user, or a test could race the cut.
        """
        output = self.doveadm("kick", user, allowed=(0, _NO_USERS_KICKED))
        if "no users kicked" in output:
            return False
        deadline = time.monotonic() + 5.0
        while user in self.doveadm("who", "-1").split():
            if time.monotonic() > deadline:
                raise RuntimeError(f"connections of {user} survived doveadm kick")
            time.sleep(0.01)
        return True


@pytest.fixture(scope="session")
def dovecot() -> Iterator[PrivateDovecot]:
    server = PrivateDovecot()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def imap_user(dovecot: PrivateDovecot) -> str:
    return dovecot.new_user()


def _serve(variant: str) -> Iterator[PrivateDovecot]:
    server = PrivateDovecot(variant=variant)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def dovecot_prefixed() -> Iterator[PrivateDovecot]:
    """Personal folders under `INBOX.`, `.` between levels; `CREATE Processed` is refused."""
    yield from _serve("prefixed")


@pytest.fixture(scope="session")
def dovecot_slash() -> Iterator[PrivateDovecot]:
    """`LAYOUT=fs`: `/` between levels, no prefix."""
    yield from _serve("slash")


@pytest.fixture(scope="session")
def dovecot_no_move_uidplus() -> Iterator[PrivateDovecot]:
    """MOVE and UIDPLUS not advertised (Dovecot still runs UID MOVE and UID EXPUNGE if sent)."""
    yield from _serve("no-move-uidplus")


@pytest.fixture(scope="session")
def dovecot_no_idle() -> Iterator[PrivateDovecot]:
    """IDLE not advertised (Dovecot still runs IDLE if sent)."""
    yield from _serve("no-idle")
