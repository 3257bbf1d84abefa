"""Deployment as docs/deploy.md writes it: the shipped systemd unit passes `systemd-analyze
verify`, the doc's commands run in order in a scratch prefix, and mailbot run as root never
leaves files in a data folder that belongs to the service's user.

These tests play the administrator, so they run as root (as CI does): they give folders to
another user and run commands as that user. `nobody` plays the service's user `mailbot`.
"""

from __future__ import annotations

import grp
import os
import pwd
import re
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailbot.cli.ownership import Folder, refusal
from tests.harness import CONFIG, Workspace
from tests.processes import run_mailbot as run

REPO = Path(__file__).resolve().parent.parent
UNIT = REPO / "deploy" / "mailbot.service"
DEPLOY_DOC = REPO / "docs" / "deploy.md"
# The `mailbot` console script pip installed beside the interpreter running the tests: the
# checkout's own install stands in for the doc's /opt/mailbot venv.
INSTALLED_MAILBOT = Path(sys.executable).parent / "mailbot"

SERVICE_USER = pwd.getpwnam("nobody")
SERVICE_GROUP = grp.getgrgid(SERVICE_USER.pw_gid).gr_name
# Running a command as the service's user, as `runuser -u mailbot --` does, but keeping one
# capability, CAP_DAC_READ_SEARCH: the Python running the tests may live where only root can
# read it (pyenv under /root), and the checkout's mailbot runs on it. The capability lets
# nobody read and search, never write: what it creates, and where it may write, are nobody's
# alone, which is what these tests are about.
AS_SERVICE_USER = [
    "setpriv",
    f"--reuid={SERVICE_USER.pw_uid}",
    f"--regid={SERVICE_USER.pw_gid}",
    "--init-groups",
    "--inh-caps=+dac_read_search",
    "--ambient-caps=+dac_read_search",
    "--",
]

# The folders the doc installs into, each moved into the scratch prefix.
MAPPED = re.compile(
    r"/(?:etc/systemd/system|var/lib/mailbot|usr/local/bin|opt/mailbot|etc/mailbot)\b"
)
# Programs that act on the machine itself, which the doc may run only as SKIPPED_BY_DESIGN.
MACHINE_WIDE = frozenset({"useradd", "groupadd", "systemctl", "journalctl", "apt-get", "pip"})
# Absolute paths a doc command may name without their being moved: they are only read.
READ_ONLY_PATHS = frozenset({"/dev/null", "/bin/sh", "/usr/sbin/nologin"})

# The only doc commands not run, each with why; every one must still be in the doc.
_NEEDS_SYSTEMD = "needs systemd as PID 1: the installed unit is checked by systemd-analyze instead"
_INSTALLS = (
    "needs the network and minutes: the prefix's opt/mailbot/bin/mailbot is the checkout's "
    "installed mailbot instead (see scratch_root)"
)
SKIPPED_BY_DESIGN = {
    "useradd --system --user-group --home-dir /var/lib/mailbot --no-create-home "
    "--shell /usr/sbin/nologin mailbot": "would add an account here: nobody plays mailbot",
    "python3 -m venv /opt/mailbot": "of use only with the pip install after it",
    "/opt/mailbot/bin/pip install .": _INSTALLS,
    "/opt/mailbot/bin/pip install --upgrade .": _INSTALLS,
    "systemctl daemon-reload": _NEEDS_SYSTEMD,
    "systemctl enable --now mailbot": _NEEDS_SYSTEMD,
    "systemctl stop mailbot": _NEEDS_SYSTEMD,
    "systemctl start mailbot": _NEEDS_SYSTEMD,
    "journalctl -u mailbot -f": "follows the journal for ever",
}


@pytest.fixture(autouse=True)
def _as_root(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("integration"):
        assert os.geteuid() == 0, (
            "these tests play the administrator: run them as root (CI does), since they give "
            "folders to another user and run commands as that user"
        )


# -- the systemd unit ------------------------------------------------------------------------


def verify(unit_text: str, folder: Path) -> str:
    """What `systemd-analyze verify` says about a unit: nothing at all when it is sound.

    It exits 0 even for a key it does not know or a value it cannot parse (it ignores the
    line and says so), so its output is the verdict, not only its exit status.
    """
    copy = folder / "mailbot.service"
    copy.write_text(unit_text)
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(copy)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return f"exit {result.returncode}: {result.stdout}{result.stderr}".strip()


def installable(unit_text: str) -> str:
    """The unit with its ExecStart naming the installed mailbot: `verify` requires the
    program to exist, and nothing is at /opt/mailbot on the machine running the tests."""
    assert "\nExecStart=/opt/mailbot/bin/mailbot " in unit_text
    return unit_text.replace("/opt/mailbot/bin/mailbot", str(INSTALLED_MAILBOT))


@pytest.mark.integration
def test_the_shipped_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    assert verify(installable(UNIT.read_text()), tmp_path) == "exit 0:"


@pytest.mark.integration
@pytest.mark.parametrize(
    ("key", "broken"),
    [
        ("ProtectSystem=", "ProtectSytem=strict"),  # a misspelt key is ignored
        ("Restart=", "Restart=sometimes"),  # so is a value it cannot parse
        ("ExecStart=", "ExecStart=/nonexistent/mailbot --json-logs run"),
    ],
)
def test_verify_finds_a_broken_unit(tmp_path: Path, key: str, broken: str) -> None:
    # The check above can fail: the same unit with one line broken is reported.
    text = installable(UNIT.read_text())
    lines = [broken if line.startswith(key) else line for line in text.splitlines()]
    assert lines != text.splitlines()
    assert verify("\n".join(lines) + "\n", tmp_path) != "exit 0:"


@pytest.mark.integration
def test_the_unit_is_hardened(tmp_path: Path) -> None:
    unit = tmp_path / "mailbot.service"
    unit.write_text(installable(UNIT.read_text()))
    # systemd's own measure, 0 (locked down) to 10 (none); --threshold counts tenths.
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", "--threshold=20", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout[-400:] + result.stderr
    text = UNIT.read_text()
    for setting in (
        "User=mailbot",
        "Group=mailbot",
        "ProtectSystem=strict",
        "StateDirectory=mailbot",
        "EnvironmentFile=/etc/mailbot/secrets.env",
        "NoNewPrivileges=yes",
        "PrivateTmp=yes",
        "ProtectHome=yes",
        "KillSignal=SIGTERM",
    ):
        assert f"\n{setting}\n" in text, setting
    # Nothing but the data folder (StateDirectory=) is writable.
    assert "\nReadWritePaths=" not in text


# -- docs/deploy.md, run as written ----------------------------------------------------------


def shell_blocks(markdown: str) -> list[str]:
    """The doc's ```sh blocks, in order."""
    return re.findall(r"^```sh\n(.*?)^```", markdown, flags=re.MULTILINE | re.DOTALL)


def command_of(line: str) -> str:
    """A line without its trailing comment."""
    return re.sub(r"\s+#.*$", "", line).strip()


def moved(text: str, prefix: Path) -> str:
    """`text` with the doc's folders moved into `prefix`."""
    return MAPPED.sub(lambda folder: f"{prefix}{folder.group()}", text)


def scratch_script(block: str, prefix: Path) -> str:
    """One doc block as the test runs it: skipped commands left out (as `:`), folders moved
    into `prefix`, and `nobody` as the service's user and group (see AS_SERVICE_USER)."""
    lines = [":" if command_of(line) in SKIPPED_BY_DESIGN else line for line in block.splitlines()]
    for line in lines:
        program = Path(line.split(maxsplit=1)[0]).name if line.strip() else ""
        assert program not in MACHINE_WIDE, f"{line!r} would act on this machine: skip it by design"
    script = moved("\n".join(lines) + "\n", prefix)
    script = script.replace("runuser -u mailbot --", shlex.join(AS_SERVICE_USER))
    script = re.sub(r"(-[ou]) mailbot\b", rf"\1 {SERVICE_USER.pw_name}", script)
    script = re.sub(r"(-g) mailbot\b", rf"\1 {SERVICE_GROUP}", script)
    for path in re.findall(r"(?<![\w.~-])/[\w./-]+", script):
        assert path.startswith(str(prefix)) or path in READ_ONLY_PATHS, (
            f"docs/deploy.md names {path}, which this test does not move into its scratch "
            "prefix: add its folder to MAPPED (or, if it is only read, to READ_ONLY_PATHS)"
        )
    return script


@pytest.fixture
def open_tmp() -> Iterator[Path]:
    """A scratch folder that others may enter, as they may enter / (pytest's own tmp_path is
    root's alone): what the service's user is given in it must be all it has."""
    folder = Path(tempfile.mkdtemp(prefix="mailbot-deploy-"))
    try:
        folder.chmod(0o755)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def scratch_root(prefix: Path) -> Path:
    """`prefix` as the machine the doc starts on: the folders Debian has already, and the
    checkout's mailbot where the doc's venv would put it."""
    for folder in ("usr/local/bin", "etc/systemd/system"):
        (prefix / folder).mkdir(parents=True)
    venv_bin = prefix / "opt" / "mailbot" / "bin"
    venv_bin.mkdir(parents=True)
    (venv_bin / "mailbot").symlink_to(INSTALLED_MAILBOT)
    return prefix


def checkout(prefix: Path) -> Path:
    """The folder the doc's commands run in: a checkout of mailbot, as far as they use one."""
    folder = prefix / "src"
    (folder / "deploy").mkdir(parents=True)
    shutil.copy(UNIT, folder / "deploy" / "mailbot.service")
    shutil.copy(REPO / "config.toml", folder / "config.toml")
    return folder


def edit_config(prefix: Path) -> bool:
    """The doc's edit step, once the config is in place (whether it is, after a block): the
    administrator's file, here a trial one reading and writing Maildirs in the data folder
    (no mail server), with SQLite there, as the doc says. Its owner and mode stay the doc's."""
    config = prefix / "etc" / "mailbot" / "config.toml"
    if not config.exists():
        return False
    data = prefix / "var" / "lib" / "mailbot"
    text = CONFIG.format(capacity=60, database_url=f"sqlite:///{data}/mailbot.db")
    text = text.replace('maildir = "inbox"', f'maildir = "{data}/inbox"')
    text = text.replace('maildir = "outbox"', f'maildir = "{data}/outbox"')
    config.write_text(text)
    return True


def run_block(script: str, source: Path, prefix: Path) -> subprocess.CompletedProcess[str]:
    # The doc's `mailbot` is the one it installs on root's PATH; no MAILBOT_* comes from the
    # environment the tests happen to run in.
    env = {key: value for key, value in os.environ.items() if not key.startswith("MAILBOT_")}
    env["PATH"] = f"{prefix}/usr/local/bin:{env.get('PATH', '/usr/bin:/bin')}"
    env["COLUMNS"] = "200"
    return subprocess.run(
        ["sh", "-e", "-x", "-c", script],
        cwd=source,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.integration
def test_deploy_doc_commands_work_in_order_as_written(open_tmp: Path) -> None:
    prefix = scratch_root(open_tmp)
    doc = DEPLOY_DOC.read_text()
    blocks = shell_blocks(doc)
    commands = {command_of(line) for block in blocks for line in block.splitlines()}
    assert set(SKIPPED_BY_DESIGN) <= commands, "a skipped command is no longer in the doc"

    source = checkout(prefix)
    edited = False
    for block in blocks:
        result = run_block(scratch_script(block, prefix), source, prefix)
        assert result.returncode == 0, f"{block}\n-> exit {result.returncode}\n{result.stderr}"
        edited = edited or edit_config(prefix)
    assert edited, "the doc never installed /etc/mailbot/config.toml"

    data = prefix / "var" / "lib" / "mailbot"
    assert (data / "mailbot.db").is_file(), "mailbot check never opened the database"
    # Whatever the doc ran, the service's user owns everything in its data folder ...
    for path in [data, *data.rglob("*")]:
        assert path.stat().st_uid == SERVICE_USER.pw_uid, f"{path} is not the service's"
    # ... it can read its configuration (without the capability AS_SERVICE_USER keeps) ...
    config = prefix / "etc" / "mailbot" / "config.toml"
    plain = [arg for arg in AS_SERVICE_USER if "caps=" not in arg]
    assert subprocess.run([*plain, "cat", str(config)], capture_output=True).returncode == 0
    # ... its secrets are root's alone ...
    secrets = prefix / "etc" / "mailbot" / "secrets.env"
    assert secrets.stat().st_uid == 0 and stat.S_IMODE(secrets.stat().st_mode) == 0o600
    # ... and the unit it installed passes systemd's check where it would run, with its
    # folders moved into the prefix, which does hold the program it names.
    installed = (prefix / "etc" / "systemd" / "system" / "mailbot.service").read_text()
    assert installed == UNIT.read_text()
    assert verify(moved(installed, prefix), prefix) == "exit 0:"


# -- root in the service's data folder -------------------------------------------------------


def test_only_root_is_refused_and_only_in_a_folder_another_user_owns() -> None:
    mine = Folder(Path("/srv/mine"), 0, "root")
    theirs = Folder(Path("/var/lib/mailbot"), 998, "mailbot")
    command = ["mailbot", "check", "--config", "/etc/mailbot/config.toml"]
    assert refusal(0, [mine], command) is None
    assert refusal(998, [mine, theirs], command) is None
    assert refusal(1000, [theirs], command) is None  # not root: the system stops what it must
    assert refusal(0, [mine, theirs], command) == (
        "/var/lib/mailbot belongs to mailbot, who could not write the files root would make "
        "there: run this as mailbot: "
        "runuser -u mailbot -- mailbot check --config /etc/mailbot/config.toml"
    )


def give_to_service_user(folder: Path) -> None:
    for path in [folder, *folder.rglob("*")]:
        os.chown(path, SERVICE_USER.pw_uid, SERVICE_USER.pw_gid)


@pytest.mark.integration
@pytest.mark.parametrize("command", ["check", "status", "bookings", "poll"])
@pytest.mark.parametrize("database", ["data/mailbot.db", "data/new/mailbot.db"])
def test_root_refuses_to_write_in_a_database_folder_another_user_owns(
    tmp_path: Path, command: str, database: str
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    give_to_service_user(data)
    ws = Workspace(tmp_path / "ws", database_url=f"sqlite:///{tmp_path / database}")

    result = run(command, "--config", str(ws.config))

    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == ""
    (message,) = result.stderr.splitlines()
    assert f"mailbot: {data} belongs to nobody" in message
    assert f"runuser -u nobody -- mailbot {command} --config {ws.config}" in message
    assert list(data.iterdir()) == [], "root left files the service cannot write"


@pytest.mark.integration
@pytest.mark.parametrize("maildir", ["inbox", "outbox"])
def test_root_refuses_to_write_in_a_maildir_another_user_owns(tmp_path: Path, maildir: str) -> None:
    ws = Workspace(tmp_path)  # its database folder stays root's
    (tmp_path / "outbox").mkdir()
    give_to_service_user(tmp_path / maildir)

    result = run("poll", "--config", str(ws.config))

    assert result.returncode == 2, result.stdout + result.stderr
    assert f"mailbot: {tmp_path / maildir} belongs to nobody" in result.stderr
    assert not (tmp_path / "mailbot.db").exists()


@pytest.mark.integration
def test_root_in_its_own_folder_runs_as_before(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    result = run("check", "--config", str(ws.config))
    assert result.returncode == 0, result.stdout + result.stderr
    made = [p for p in tmp_path.iterdir() if p.name.startswith("mailbot.db")]
    assert {p.name for p in made} >= {"mailbot.db", "mailbot.db.lock"}
    assert all(p.stat().st_uid == 0 for p in made)


@pytest.mark.integration
def test_the_folders_owner_runs_mailbot_there(open_tmp: Path) -> None:
    # What the refusal says to do works: the owner's own run leaves only the owner's files.
    ws = Workspace(open_tmp / "ws")
    give_to_service_user(open_tmp / "ws")
    result = subprocess.run(
        [*AS_SERVICE_USER, str(INSTALLED_MAILBOT), "check", "--config", str(ws.config)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    made = list((open_tmp / "ws").rglob("*"))
    assert {"mailbot.db", "mailbot.db.lock", "outbox"} <= {p.name for p in made}
    assert all(p.stat().st_uid == SERVICE_USER.pw_uid for p in made)
