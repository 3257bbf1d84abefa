"""Real mail nobody here wrote, through the whole pipeline: nothing crashes, no bounce is answered."""

from __future__ import annotations

from pathlib import Path

from mailbot.domain import RawMessage
from mailbot.inbound.parse import parse
from tests.bounces import FLUFL_NOT_BOUNCES, flufl_corpus
from tests.corpora import CAPACITY, cpython_corpus, ledger_by_file, run_corpus
from tests.harness import Workspace


def test_flufl_bounce_corpus_is_never_answered(tmp_path: Path) -> None:
    paths = flufl_corpus()
    ws = Workspace(tmp_path, capacity=CAPACITY)
    by_key, problems = run_corpus(ws, paths)

    senders = {
        mail.sender.email: path.name
        for path in paths
        if (mail := parse(RawMessage(path.name, path.read_bytes()))).sender is not None
    }
    ledger = ledger_by_file(ws, by_key)
    # Not one reply: the two samples that are not bounces (a person's Outlook reply, an
    # autoresponder) come from outside the eligible domains and ask for no place either.
    for reply in ws.all_replies():
        culprit = senders.get(reply.to, "?")
        row = ledger.get(culprit)
        why = f"{row.disposition}: {row.reason}" if row else "no ledger row"
        problems.append(f"replied ({reply.outcome}) to {culprit} <{reply.to}>; {why}")
    for path in paths:
        row = ledger.get(path.name)
        if row is None:
            problems.append(f"{path.name}: no ledger row")
        elif row.disposition == "answered":
            problems.append(f"{path.name}: {row.disposition} ({row.reason})")
        elif path.name not in FLUFL_NOT_BOUNCES and row.disposition == "not-answered":
            problems.append(f"{path.name}: a bounce not recognised as one ({row.reason})")
    assert not problems, "\n".join(problems)


def test_cpython_email_corpus_is_handled(tmp_path: Path) -> None:
    paths = cpython_corpus()
    ws = Workspace(tmp_path, capacity=CAPACITY)
    _, problems = run_corpus(ws, paths)

    # Every sender there is outside the eligible domains, and none asks for a place.
    problems += [f"replied ({reply.outcome}) to {reply.to}" for reply in ws.all_replies()]
    assert not problems, "\n".join(problems)
