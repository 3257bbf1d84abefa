"""Run a private, throw-away Cyrus IMAP server (Debian 12's cyrus-imapd 3.6) on loopback.

Debian's cyrus-imapd conflicts with dovecot-imapd, so it is not installed: scripts/test unpacks
cyrus-imapd and cyrus-common with `dpkg -x` into .cache/cyrus/root and installs only the
libraries they link against and Cyrus SASL's `saslpasswd2`. Everything the server reads or
writes lives in one temp folder: its own imapd.conf and cyrus.conf (nothing under /etc is
read), its databases, its mail spool and a sasldb holding the test users.

The hierarchy is Debian's (`altnamespace: no`, `unixhierarchysep: no`): personal folders live
under `INBOX.` with `.` between levels, and a folder at the top level (`Processed`) cannot be
created. Cyrus refuses to run as root, so as root it runs as `nobody`.
"""

from __future__ import annotations

import grp
import itertools
import os
import pwd
import shutil
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest
from imapclient import IMAPClient

from tests.servers.process import HOST, free_port, greeting_problem, kill_group

REPO = Path(__file__).resolve().parents[2]
CYRUS_ROOT = REPO / ".cache" / "cyrus" / "root"
CYRUS_BIN = CYRUS_ROOT / "usr" / "lib" / "cyrus" / "bin"
INSTALL_HINT = (
    "run `bash scripts/test` once (its install section unpacks Debian's cyrus-imapd and "
    "cyrus-common into .cache/cyrus/root with `apt-get download` and `dpkg -x`, and installs "
    "sasl2-bin, libsasl2-modules, libeatmydata1 and the libraries they need)"
)

# Cyrus will not run as root, so as root every Cyrus process runs as this account.
_ROOT_CYRUS_USER = "nobody"
# The SASL realm and the name in the greeting; saslpasswd2 must file users under the same one.
_SERVERNAME = "localhost"

_IMAPD_CONF = """\
# Written by tests/servers/cyrus.py; /etc/imapd.conf is not read.
configdirectory: {config_dir}
partition-default: {spool_dir}
defaultpartition: default
sievedir: {sieve_dir}
servername: {servername}
syslog_prefix: mailbot-test-cyrus-{port}
cyrus_user: {user}
cyrus_group: {group}
# Debian's hierarchy (Cyrus 3's own defaults are the other way round): personal folders under
# "INBOX." with "." between levels.
altnamespace: no
unixhierarchysep: no
hashimapspool: true
allowplaintext: yes
sasl_pwcheck_method: auxprop
sasl_auxprop_plugin: sasldb
sasl_sasldb_path: {sasldb}
sasl_mech_list: PLAIN LOGIN
sasl_auto_transition: no
# Create a user's INBOX at their first login.
autocreate_quota: 0
"""

# idled tells each imapd at once when a mailbox it has open changes; without it (Debian's
# default) IDLE polls every imapidlepoll (60 s), which no test can wait for.
_CYRUS_CONF = """\
# Written by tests/servers/cyrus.py; /etc/cyrus.conf is not read.
START {{
  recover cmd="{bin}/ctl_cyrusdb -C {imapd_conf} -r"
}}
SERVICES {{
  imap cmd="{bin}/imapd -C {imapd_conf}" listen="{host}:{port}" prefork=1 maxchild=200
}}
DAEMON {{
  idled cmd="{bin}/idled -C {imapd_conf}"
}}
EVENTS {{
  checkpoint cmd="{bin}/ctl_cyrusdb -C {imapd_conf} -c" period=30
}}
"""


def _check_installed() -> tuple[Path, Path]:
    """The folder of Cyrus's own libraries and libeatmydata; fails, saying how to install them,
    if anything is missing."""
    for binary in ("master", "imapd", "idled", "ctl_cyrusdb"):
        if not os.access(CYRUS_BIN / binary, os.X_OK):
            raise RuntimeError(f"{CYRUS_BIN / binary} is missing: {INSTALL_HINT}")
    if shutil.which("saslpasswd2") is None:
        raise RuntimeError(f"saslpasswd2 is missing: {INSTALL_HINT}")
    libraries = sorted(CYRUS_ROOT.glob("usr/lib/*-linux-gnu"))
    if not libraries:
        raise RuntimeError(f"Cyrus's libraries are missing under {CYRUS_ROOT}: {INSTALL_HINT}")
    if " " in str(CYRUS_ROOT):
        raise RuntimeError(
            f"cyrus.conf cannot name commands under a path with spaces: {CYRUS_ROOT}"
        )
    eatmydata = sorted(Path("/usr/lib").glob("*/libeatmydata.so.1"))
    if not eatmydata:
        raise RuntimeError(f"libeatmydata.so.1 is missing: {INSTALL_HINT}")
    return libraries[0], eatmydata[0]


def _check_reachable(path: Path, uid: int) -> None:
    """Fail early, with a clear reason, if the account Cyrus runs as cannot reach `path`."""
    if uid == os.geteuid():
        return
    for folder in [path, *path.parents]:
        if not folder.stat().st_mode & stat.S_IXOTH:
            raise RuntimeError(
                f"{folder} is not traversable by other users (needs o+x), so Cyrus, running "
                f"as uid {uid}, cannot reach {path}"
            )


class PrivateCyrus:
    """A Cyrus IMAP instance with its own config, directories and port, owned by one test run.

    Every user made by `new_user()` logs in with `password` and starts with an empty INBOX, so
    tests take a fresh user instead of a fresh server.
    """

    name = "cyrus"

    def __init__(self, root: Path | None = None, password: str = "correct-horse-42") -> None:
        self._libraries, self._eatmydata = _check_installed()
        self._own_root = root is None
        self.root = Path(tempfile.mkdtemp(prefix="mailbot-cyrus-")) if root is None else root
        self.password = password
        self.host = HOST
        self.port = 0
        self.imapd_conf = self.root / "imapd.conf"
        self.cyrus_conf = self.root / "cyrus.conf"
        self.sasldb = self.root / "sasldb2"
        self.log_path = self.root / "master.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._users = itertools.count(1)
        if os.geteuid() == 0:
            account = pwd.getpwnam(_ROOT_CYRUS_USER)
            self._uid, self._gid = account.pw_uid, account.pw_gid
        else:
            self._uid, self._gid = os.getuid(), os.getgid()
        # Popen's arguments that run a command as that account (None: as we are).
        switch = self._uid != os.geteuid()
        self._switch_uid = self._uid if switch else None
        self._switch_gid = self._gid if switch else None
        self._switch_groups: list[int] | None = [] if switch else None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self._write_config()
        # Its own session makes master the leader of a process group that also holds every
        # imapd and idled, so stop() can kill them all by one pid.
        self._process = subprocess.Popen(
            [
                str(CYRUS_BIN / "master"),
                *("-C", str(self.imapd_conf)),
                *("-M", str(self.cyrus_conf)),
                *("-p", str(self.root / "master.pid")),
                *("-L", str(self.log_path)),
            ],
            stdin=subprocess.DEVNULL,
            env=self._env(),
            start_new_session=True,
            user=self._switch_uid,
            group=self._switch_gid,
            extra_groups=self._switch_groups,
        )
        self._wait_for_greeting(deadline=time.monotonic() + 10.0)

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            # master ends its children on SIGTERM; a child it missed goes with the group.
            kill_group(process, grace=0.5)
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def _wait_for_greeting(self, deadline: float) -> None:
        assert self._process is not None
        problem = greeting_problem(self._process, self.port, deadline)
        if problem is not None:
            self._give_up(f"cyrus {problem}")

    def _give_up(self, reason: str) -> NoReturn:
        # The fixture never reaches stop() when start() fails: stop here, keeping the log.
        tail = self.log_tail()
        self.stop()
        raise RuntimeError(f"{reason}:\n{tail}")

    def log_tail(self, lines: int = 30) -> str:
        """The end of master's own output. Cyrus logs everything else to syslog, where there
        is one (syslog_prefix mailbot-test-cyrus-<port>)."""
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    # -- configuration -----------------------------------------------------------------------

    def _env(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith("CYRUS_")}
        library_path = [str(self._libraries), *filter(None, [env.get("LD_LIBRARY_PATH")])]
        env["LD_LIBRARY_PATH"] = os.pathsep.join(library_path)
        # Cyrus fsyncs its databases and every message file: an APPEND took ~22 ms here with
        # fsync and ~7 ms without. Tests need no durability, so fsync is made a no-op.
        env["LD_PRELOAD"] = " ".join(filter(None, [str(self._eatmydata), env.get("LD_PRELOAD")]))
        return env

    def _write_config(self) -> None:
        self.port = free_port()
        config_dir = self.root / "config"
        spool_dir = self.root / "spool"
        sieve_dir = self.root / "sieve"
        # Cyrus writes its pid file, its log and the sasldb beside the configs, in the root.
        for folder in (self.root, config_dir, config_dir / "socket", spool_dir, sieve_dir):
            folder.mkdir(parents=True, exist_ok=True)
            os.chown(folder, self._uid, self._gid)
        if self._uid != os.geteuid():
            self.root.chmod(0o755)
            _check_reachable(self.root, self._uid)
            _check_reachable(CYRUS_BIN / "imapd", self._uid)
        self.imapd_conf.write_text(
            _IMAPD_CONF.format(
                config_dir=config_dir,
                spool_dir=spool_dir,
                sieve_dir=sieve_dir,
                servername=_SERVERNAME,
                port=self.port,
                user=pwd.getpwuid(self._uid).pw_name,
                group=grp.getgrgid(self._gid).gr_name,
                sasldb=self.sasldb,
            )
        )
        self.cyrus_conf.write_text(
            _CYRUS_CONF.format(
                bin=CYRUS_BIN, imapd_conf=self.imapd_conf, host=self.host, port=self.port
            )
        )

    # -- helpers for tests -------------------------------------------------------------------

    def new_user(self) -> str:
        """A user never used before on this server: it logs in with `password`, and its INBOX
        exists and is empty. (No dots: with "." as separator Cyrus refuses them in names.)"""
        user = f"sam_okafor{next(self._users)}"
        subprocess.run(
            ["saslpasswd2", "-p", "-c", "-f", str(self.sasldb), "-u", _SERVERNAME, user],
            input=self.password.encode(),
            capture_output=True,
            timeout=10.0,
            check=True,
            user=self._switch_uid,
            group=self._switch_gid,
            extra_groups=self._switch_groups,
        )
        # The first login creates the INBOX (autocreate_quota), so no two first logins race.
        self.client(user).logout()
        return user

    def client(self, user: str) -> IMAPClient:
        """A logged-in connection for a test to APPEND to or inspect a mailbox.

        Its socket sends at once (TCP_NODELAY): imaplib writes an APPEND's literal and the line
        end that follows it separately, and against Cyrus that line end waited for a delayed
        ACK, ~45 ms per APPEND.
        """
        client = IMAPClient(self.host, port=self.port, ssl=False, timeout=10.0)
        client.socket().setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        client.login(user, self.password)
        return client


@pytest.fixture(scope="session")
def cyrus() -> Iterator[PrivateCyrus]:
    server = PrivateCyrus()
    server.start()
    try:
        yield server
    finally:
        server.stop()
