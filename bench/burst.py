"""Benchmark: a burst of booking requests end to end against the protocol floor, peak memory,
and the cost of an idle poll as handled mail accumulates.

Run: .venv/bin/python -m bench.burst [--requests 2000] [--handled 50000] [--rounds 3]
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
from mailbot.runtime.wiring import build_mailbot
from mailbot.store.database import connect
from mailbot.store.tables import InboundRow, OutboxRow
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


def idle_poll_costs(
    quiet: RealMailbot, busy: RealMailbot, repeats: int = 200
) -> tuple[float, float]:
    """Median seconds of one poll that finds nothing, on an open connection, for each of two
    mailboxes; the polls alternate, so a slow moment of the machine falls on both alike."""
    os.environ[PASSWORD_ENV] = quiet.dovecot.password
    with (
        build_mailbot(load_settings(quiet.config)) as first,
        build_mailbot(load_settings(busy.config)) as second,
    ):
        first.poll()
        second.poll()
        samples: tuple[list[float], list[float]] = ([], [])
        for _ in range(repeats):
            for mailbot, times in zip((first, second), samples, strict=True):
                started = time.perf_counter()
                summary = mailbot.poll()
                times.append(time.perf_counter() - started)
                assert summary.handled == 0
    return statistics.median(samples[0]), statistics.median(samples[1])


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
class Round:
    """One burst: the floor and mailbot over the same requests, minutes apart at most."""

    requests: int
    fetch: float
    send: float
    send_cpu: float  # client and server together: both run in this process
    reply_kb: float
    poll: PollRun
    startup: float

    @property
    def floor(self) -> float:
        return self.fetch + self.send

    @property
    def ratio(self) -> float:
        """mailbot less its start-up, against the floor."""
        return (self.poll.elapsed - self.startup) / self.floor

    @property
    def whole_ratio(self) -> float:
        return self.poll.elapsed / self.floor


@dataclass(frozen=True)
class Results:
    rounds: tuple[Round, ...]
    small_bytes: int
    send_small: float
    handled: int
    idle_empty: float
    idle_full: float

    @property
    def median_round(self) -> Round:
        return sorted(self.rounds, key=lambda each: each.ratio)[len(self.rounds) // 2]


def burst_round(
    work: Path, dovecot: PrivateDovecot, smtp: LoopbackSmtpServer, requests: int
) -> Round:
    """A new mailbox and database, the burst appended, then the floor and the poll."""
    work.mkdir()
    bot = RealMailbot(work, dovecot, dovecot.new_user(), smtp, capacity=requests // 2)
    client = dovecot.client(bot.user)
    for index in range(requests):
        client.append("INBOX", officer_request(index))
    client.logout()

    fetch = floor_fetch(dovecot, bot.user)
    startup = start_up_time(bot)
    smtp.handler.clear()
    poll = run_poll(bot)
    replies = [message.content for message in smtp.messages]
    assert len(replies) == requests, len(replies)
    # The floor sends the very replies mailbot sent (its confirmations carry an HTML
    # part and a calendar file): the same bytes cost the same on the wire.
    floor_cpu_before = time.process_time()
    send = floor_send(smtp.port, replies)
    send_cpu = time.process_time() - floor_cpu_before
    smtp.handler.clear()
    return Round(
        requests=requests,
        fetch=fetch,
        send=send,
        send_cpu=send_cpu,
        reply_kb=sum(map(len, replies)) / len(replies) / 1024,
        poll=poll,
        startup=startup,
    )


def measure(requests: int, handled: int, rounds: int) -> Results:
    work = Path(tempfile.mkdtemp(prefix="mailbot-bench-"))
    dovecot = PrivateDovecot()
    dovecot.start()
    smtp = LoopbackSmtpServer()
    smtp.start()
    try:
        bursts = tuple(
            burst_round(work / f"round-{index}", dovecot, smtp, requests) for index in range(rounds)
        )
        small = (REPO / "tests" / "mail" / "01-officer-wmp.eml").read_bytes()
        send_small = floor_send(smtp.port, [small] * requests)
        smtp.handler.clear()

        quiet = RealMailbot(_made(work / "idle-empty"), dovecot, dovecot.new_user(), smtp)
        busy = RealMailbot(_made(work / "idle-full"), dovecot, dovecot.new_user(), smtp)
        add_handled(busy, dovecot, handled)
        idle_empty, idle_full = idle_poll_costs(quiet, busy)
    finally:
        smtp.stop()
        dovecot.stop()
        shutil.rmtree(work, ignore_errors=True)
    return Results(
        rounds=bursts,
        small_bytes=len(small),
        send_small=send_small,
        handled=handled,
        idle_empty=idle_empty,
        idle_full=idle_full,
    )


def _made(path: Path) -> Path:
    path.mkdir()
    return path


def report(r: Results) -> None:
    median = r.median_round
    n = median.requests
    print(f"## Burst of {n} requests ({datetime.now(UTC):%Y-%m-%d}, {os.cpu_count()} cores)\n")
    print(f"`mailbot poll` said: {median.poll.summary}\n")
    print(f"Each of {len(r.rounds)} rounds measures the floor and mailbot on a new mailbox and")
    print("database. Ratios of every round, in the order run:\n")
    print("| round | floor ms a request | mailbot less start-up | ratio | whole process | ratio |")
    print("| --- | --- | --- | --- | --- | --- |")
    for index, each in enumerate(r.rounds, start=1):
        pipeline = each.poll.elapsed - each.startup
        print(
            f"| {index} | {each.floor / n * 1000:.2f} | {pipeline / n * 1000:.2f} ms"
            f" | {each.ratio:.2f} | {each.poll.elapsed / n * 1000:.2f} ms"
            f" | {each.whole_ratio:.2f} |"
        )
    ratios = sorted(each.ratio for each in r.rounds)
    print(
        f"\nMedian round (ratio {median.ratio:.2f}; all rounds {ratios[0]:.2f}-{ratios[-1]:.2f}):\n"
    )
    pipeline = median.poll.elapsed - median.startup
    print("| measure | seconds | per request | ratio to floor |")
    print("| --- | --- | --- | --- |")
    print(f"| floor: imapclient fetch | {median.fetch:.2f} | {median.fetch / n * 1000:.2f} ms | |")
    print(
        f"| floor: aiosmtplib sending mailbot's replies (mean {median.reply_kb:.1f} KB), one"
        f" connection | {median.send:.2f} | {median.send / n * 1000:.2f} ms | |"
    )
    print(f"| floor total | {median.floor:.2f} | {median.floor / n * 1000:.2f} ms | 1.0 |")
    print(
        f"| mailbot poll, whole process | {median.poll.elapsed:.2f} | "
        f"{median.poll.elapsed / n * 1000:.2f} ms | {median.whole_ratio:.1f} |"
    )
    print(
        f"| mailbot poll less start-up ({median.startup:.2f} s) | {pipeline:.2f} | "
        f"{pipeline / n * 1000:.2f} ms | {median.ratio:.1f} |"
    )
    print(
        f"\nFor reference, aiosmtplib sending a {r.small_bytes}-byte message {n} times: "
        f"{r.send_small:.2f} s ({r.send_small / n * 1000:.2f} ms each).\n"
    )
    print("| CPU time per request (median round) | ms |")
    print("| --- | --- |")
    print(
        "| mailbot poll and its delivery process (user + system) | "
        f"{median.poll.cpu / n * 1000:.2f} |"
    )
    print(f"| SMTP server while mailbot sent | {median.poll.server_cpu / n * 1000:.2f} |")
    print(f"| floor send, client and server | {median.send_cpu / n * 1000:.2f} |")
    peak = max(each.poll.peak_mb for each in r.rounds)
    print(
        "\nPeak memory (max RSS) of the larger of `mailbot poll` and its delivery process,"
        f" largest of the rounds: {peak:.0f} MB\n"
    )
    print("| idle poll (open connection, nothing new), alternating | median ms |")
    print("| --- | --- |")
    print(f"| 0 handled messages | {r.idle_empty * 1000:.2f} |")
    print(f"| {r.handled:,} handled messages | {r.idle_full * 1000:.2f} |")
    print(f"| ratio | {r.idle_full / r.idle_empty:.2f} |")
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--handled", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    report(measure(args.requests, args.handled, args.rounds))


if __name__ == "__main__":
    main()
