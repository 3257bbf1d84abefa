"""Rows as the frozen values the rest of mailbot passes around: nothing outside store sees a
row. Each takes any row with the table's columns as attributes (ORM, Core or plain SQL)."""

from __future__ import annotations

from typing import Any

from mailbot.domain import BookingStatus, BookingView, Disposition, LedgerEntry
from mailbot.records import AuditEntry, BookingRecord, JobRun, Question


def booking_view(row: Any) -> BookingView:
    """A booking as the rules take it."""
    return BookingView(
        ref=row.ref,
        event_slug=row.event_slug,
        email=row.email,
        status=BookingStatus(row.status),
        name=row.name,
        rank=row.rank,
        force=row.force,
        unit=row.unit,
        offer_expires_at=row.offer_expires_at,
    )


def booking_record(row: Any) -> BookingRecord:
    return BookingRecord(
        view=booking_view(row),
        created_at=row.created_at,
        updated_at=row.updated_at,
        needs=row.needs,
        undeliverable=row.undeliverable,
        reconfirmed_at=row.reconfirmed_at,
        attended=row.attended,
        waitlist_order=row.waitlist_order,
    )


def ledger_entry(row: Any) -> LedgerEntry:
    return LedgerEntry(
        source_key=row.source_key,
        message_id=row.message_id,
        sender_email=row.sender_email,
        disposition=Disposition(row.disposition),
        reason=row.reason,
        outcome=row.outcome,
        booking_ref=row.booking_ref,
        subject=row.subject,
        sent_at=row.sent_at,
        from_line=row.from_line,
    )


def audit_entry(row: Any) -> AuditEntry:
    return AuditEntry(row.at, row.booking_ref, row.actor, row.action, row.detail)


def job_run(row: Any) -> JobRun:
    return JobRun(row.name, row.last_started_at, row.last_finished_at, row.last_result)


def question(row: Any) -> Question:
    return Question(row.asked_at, row.email, row.name, row.text, row.event_slug)
