"""Benchmark: a burst of booking requests end to end against the protocol floor, peak memory,
and the cost of an idle poll as handled mail accumulates.

Run: .venv/bin/python -m bench.burst [--requests 2000] [--handled 50000]
It starts a private Dovecot and an aiosmtpd server on loopback (as the tests do) and prints a
Markdown table for docs/performance.md. Times are wall-clock on a noisy machine: read the
ratios, which compare runs made minutes apart on the same machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiosmtplib
from imapclient import IMAPClient
from sqlalchemy import insert

from mailbot.config import load_settings
from mailbot.store.database import connect
from mailbot.store.tables import InboundRow, OutboxRow
from mailbot.wiring import build_mailbot
from tests.realmail import PASSWORD_ENV, RealMailbot, officer_request
from tests.servers.dovecot import PrivateDovecot
from tests.servers.smtp import LoopbackSmtpServer

REPO = Path(__file__).resolve().parent.parent


def floor_fetch(dovecot: PrivateDovecot, user: str) -> float:
    """imapclient alone: log in, search, fetch every message with BODY.PEEK[] in batches."""
    started = time.perf_counter()
    client = IMAPClient("127.0.0.1", port=dovecot.port, ssl=False, timeout=30)
    client.login(user, dovecot.password)
    client.select_folder("INBOX")
    uids = client.search("ALL")
    fetched = 0
    for start in range(0, len(uids), 500):
        fetched += len(client.fetch(uids[start : start + 500], ["BODY.PEEK[]"]))
    client.logout()
    assert fetched == len(uids)
    return time.perf_counter() - started


def floor_send(port: int, replies: list[bytes]) -> float:
    """aiosmtplib alone: the given replies, in order, over one connection."""

    async def send_all() -> None:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False)
        await client.connect()
        for reply in replies:
            await client.sendmail("bookings@example.ac.uk", ["a@lancashire.police.uk"], reply)
        await client.quit()

    started = time.perf_counter()
    asyncio.run(send_all())
    return time.perf_counter() - started


@dataclass(frozen=True)
class PollRun:
    elapsed: float  # wall-clock seconds
    cpu: float  # CPU seconds (user + system) of the mailbot process and its delivery process
    server_cpu: float  # CPU seconds of this process meanwhile: the SMTP server's work
    peak_mb: float  # max RSS of the larger process (ru_maxrss of children is per process)
    summary: str


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_poll(bot: RealMailbot) -> PollRun:
    """`mailbot poll` as a process: wall and CPU time, peak RSS and its summary line."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    cpu_before, own_before = _children_cpu(), time.process_time()
    started = time.perf_counter()
    result = subprocess.run(
        bot.command("poll"), capture_output=True, text=True, env=bot.env, timeout=1800
    )
    elapsed = time.perf_counter() - started
    cpu, server_cpu = _children_cpu() - cpu_before, time.process_time() - own_before
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if result.returncode != 0:
        raise SystemExit(result.stderr)
    return PollRun(elapsed, cpu, server_cpu, max(peak, before) / 1024, result.stdout.strip())


def start_up_time(bot: RealMailbot) -> float:
    """A command that does almost nothing, on a database that exists (as the poll's does):
    the first run creates and migrates it, the second is timed."""
    command = bot.command("bookings", "--format", "json")
    subprocess.run(command, capture_output=True, env=bot.env, check=True)
    started = time.perf_counter()
    subprocess.run(command, capture_output=True, env=bot.env, check=True)
    return time.perf_counter() - started


def idle_poll_cost(bot: RealMailbot, repeats: int = 50) -> float:
    """Median seconds of one poll that finds nothing, on an open connection."""
    os.environ[PASSWORD_ENV] = bot.dovecot.password
    with build_mailbot(load_settings(bot.config)) as mailbot:
        mailbot.poll()
        samples = []
        for _ in range(repeats):
            started = time.perf_counter()
            summary = mailbot.poll()
            samples.append(time.perf_counter() - started)
            assert summary.handled == 0
    return statistics.median(samples)


def add_handled(bot: RealMailbot, dovecot: PrivateDovecot, count: int) -> None:
    """`count` handled messages: in the Processed folder, the ledger and the sent outbox."""
    client = dovecot.client(bot.user)
    if not client.folder_exists("Processed"):
        client.create_folder("Processed")
    client.logout()
    folder = dovecot.root / "mail" / bot.user / ".Processed" / "new"
    sample = officer_request(0)
    for index in range(count):
        (folder / f"{1_700_000_000 + index}.bench{index}.host").write_bytes(sample)
    if os.geteuid() == 0:  # Dovecot's mail processes run as nobody here
        for path in folder.iterdir():
            shutil.chown(path, "nobody")
    engine = connect(bot.database_url)
    now = datetime.now(UTC)
    with engine.begin() as connection:
        connection.execute(
            insert(InboundRow),
            [
                {
                    "source_key": f"bench:{i}",
                    "message_id": f"<bench-{i}@lancashire.police.uk>",
                    "disposition": "answered",
                    "outcome": "confirmed",
                    "reason": "",
                    "handled_at": now,
                }
                for i in range(count)
            ],
        )
        connection.execute(
            insert(OutboxRow),
            [
                {
                    "message_id": f"<mailbot.bench{i}@example.ac.uk>",
                    "outcome": "confirmed",
                    "sender": "bookings@example.ac.uk",
                    "recipient": "a@lancashire.police.uk",
                    "data": b"x",
                    "status": "sent",
                    "attempts": 1,
                    "next_attempt_at": now,
                    "created_at": now,
                    "sent_at": now,
                }
                for i in range(count)
            ],
        )


@dataclass(frozen=True)
class Results:
    requests: int
    handled: int
    fetch: float
    send: float
    send_cpu: float  # client and server together: both run in this process
    reply_kb: float
    small_bytes: int
    send_small: float
    poll: PollRun
    startup: float
    idle_empty: float
    idle_full: float


def measure(requests: int, handled: int) -> Results:
    work = Path(tempfile.mkdtemp(prefix="mailbot-bench-"))
    dovecot = PrivateDovecot()
    dovecot.start()
    smtp = LoopbackSmtpServer()
    smtp.start()
    try:
        user = dovecot.new_user()
        bot = RealMailbot(work, dovecot, user, smtp, capacity=requests // 2)
        client = dovecot.client(user)
        for index in range(requests):
            client.append("INBOX", officer_request(index))
        client.logout()

        fetch = floor_fetch(dovecot, user)
        startup = start_up_time(bot)
        poll = run_poll(bot)
        replies = [message.content for message in smtp.messages]
        assert len(replies) == requests, len(replies)
        # The floor sends the very replies mailbot sent (its confirmations carry an HTML
        # part and a calendar file): the same bytes cost the same on the wire.
        floor_cpu_before = time.process_time()
        send = floor_send(smtp.port, replies)
        send_cpu = time.process_time() - floor_cpu_before
        small = (REPO / "tests" / "mail" / "01-officer-wmp.eml").read_bytes()
        send_small = floor_send(smtp.port, [small] * requests)

        (work / "idle").mkdir()
        empty = RealMailbot(work / "idle", dovecot, dovecot.new_user(), smtp)
        idle_empty = idle_poll_cost(empty)
        add_handled(empty, dovecot, handled)
        idle_full = idle_poll_cost(empty)
    finally:
        smtp.stop()
        dovecot.stop()
        shutil.rmtree(work, ignore_errors=True)
    return Results(
        requests=requests,
        handled=handled,
        fetch=fetch,
        send=send,
        send_cpu=send_cpu,
        reply_kb=sum(map(len, replies)) / len(replies) / 1024,
        small_bytes=len(small),
        send_small=send_small,
        poll=poll,
        startup=startup,
        idle_empty=idle_empty,
        idle_full=idle_full,
    )


def report(r: Results) -> None:
    n = r.requests
    floor = r.fetch + r.send
    pipeline = r.poll.elapsed - r.startup
    print(f"## Burst of {n} requests ({datetime.now(UTC):%Y-%m-%d}, {os.cpu_count()} cores)\n")
    print(f"`mailbot poll` said: {r.poll.summary}\n")
    print("| measure | seconds | per request | ratio to floor |")
    print("| --- | --- | --- | --- |")
    print(f"| floor: imapclient fetch | {r.fetch:.2f} | {r.fetch / n * 1000:.2f} ms | |")
    print(
        f"| floor: aiosmtplib sending mailbot's replies (mean {r.reply_kb:.1f} KB), one"
        f" connection | {r.send:.2f} | {r.send / n * 1000:.2f} ms | |"
    )
    print(f"| floor total | {floor:.2f} | {floor / n * 1000:.2f} ms | 1.0 |")
    print(
        f"| mailbot poll, whole process | {r.poll.elapsed:.2f} | "
        f"{r.poll.elapsed / n * 1000:.2f} ms | {r.poll.elapsed / floor:.1f} |"
    )
    print(
        f"| mailbot poll less start-up ({r.startup:.2f} s) | {pipeline:.2f} | "
        f"{pipeline / n * 1000:.2f} ms | {pipeline / floor:.1f} |"
    )
    print(
        f"\nFor reference, aiosmtplib sending a {r.small_bytes}-byte message {n} times: "
        f"{r.send_small:.2f} s ({r.send_small / n * 1000:.2f} ms each).\n"
    )
    print("| CPU time per request | ms |")
    print("| --- | --- |")
    print(
        f"| mailbot poll and its delivery process (user + system) | {r.poll.cpu / n * 1000:.2f} |"
    )
    print(f"| SMTP server while mailbot sent | {r.poll.server_cpu / n * 1000:.2f} |")
    print(f"| floor send, client and server | {r.send_cpu / n * 1000:.2f} |")
    print(
        f"\nPeak memory (max RSS) of the larger of `mailbot poll` and its delivery process: "
        f"{r.poll.peak_mb:.0f} MB\n"
    )
    print("| idle poll (open connection, nothing new) | median ms |")
    print("| --- | --- |")
    print(f"| 0 handled messages | {r.idle_empty * 1000:.2f} |")
    print(f"| {r.handled:,} handled messages | {r.idle_full * 1000:.2f} |")
    print(f"| ratio | {r.idle_full / r.idle_empty:.2f} |")
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--handled", type=int, default=50_000)
    args = parser.parse_args()
    report(measure(args.requests, args.handled))


if __name__ == "__main__":
    main()
