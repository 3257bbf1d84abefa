"""Running a corpus of real mail through the whole pipeline in a Workspace, and finding the
ledger row that records each file."""

from __future__ import annotations

import sysconfig
from pathlib import Path

import pytest

from mailbot.domain import LedgerEntry, RawMessage
from mailbot.inbound.parse import parse
from mailbot.store.database import connect
from mailbot.store.store import Store
from tests.harness import Workspace

CPYTHON_EMAIL_DATA = Path(sysconfig.get_path("stdlib")) / "test" / "test_email" / "data"
# Large enough that no corpus message is ever turned away for want of a place.
CAPACITY = 1000


def cpython_corpus() -> list[Path]:
    """Every file in CPython's email test data, images and sounds included."""
    files = sorted(p for p in CPYTHON_EMAIL_DATA.glob("*") if p.is_file())
    if not any(p.name.startswith("msg_") for p in files):
        pytest.fail(
            f"no CPython email test data in {CPYTHON_EMAIL_DATA}: "
            "run scripts/fetch-corpora, which says how to get it"
        )
    return files


def deliver_each(ws: Workspace, paths: list[Path]) -> dict[str, Path]:
    """Deliver the files in order; the Maildir key each one got, mapped to its file."""
    by_key: dict[str, Path] = {}
    for path in paths:
        before = set(ws.inbox.keys())
        ws.deliver(path.read_bytes())
        (key,) = set(ws.inbox.keys()) - before
        by_key[key] = path
    return by_key


def ledger_by_file(ws: Workspace, by_key: dict[str, Path]) -> dict[str, LedgerEntry]:
    """The ledger row that records each file. A message whose Message-ID was already handled
    gets no row of its own: the earlier message's row speaks for it."""
    rows = Store(connect(ws.settings.database_url())).ledger()
    by_source = {row.source_key.partition(":")[2]: row for row in rows}
    by_message_id = {row.message_id: row for row in rows if row.message_id}
    found: dict[str, LedgerEntry] = {}
    for key, path in by_key.items():
        row = by_source.get(key)
        if row is None:
            message_id = parse(RawMessage(key, path.read_bytes())).message_id
            row = by_message_id.get(message_id) if message_id else None
        if row is not None:
            found[path.name] = row
    return found


def run_corpus(ws: Workspace, paths: list[Path]) -> tuple[dict[str, Path], list[str]]:
    """One poll over the whole corpus; the key map and what went wrong in handling it."""
    by_key = deliver_each(ws, paths)
    summary = ws.poll()
    problems = []
    if summary.results["failed"]:
        problems.append(f"{summary.results['failed']} messages crashed the pipeline (see log)")
    left = sorted(by_key[key].name for key in ws.inbox.iterkeys())
    if left:
        problems.append(f"still in the inbox: {left}")
    moved = ws.folder_count("Processed") + ws.folder_count("Quarantine")
    if moved != len(paths):
        problems.append(f"{moved} of {len(paths)} messages reached Processed or Quarantine")
    return by_key, problems
