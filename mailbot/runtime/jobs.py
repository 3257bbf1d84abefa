"""Scheduler wiring for `mailbot run`: the digest, reminders and retention as APScheduler 3
jobs in a persistent job store in mailbot's own database. Only wiring lives here."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

from apscheduler.job import Job
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from mailbot.config import Settings, load_settings
from mailbot.config_warnings import config_warnings
from mailbot.pipeline.reconfirm import reconfirm_and_release
from mailbot.pipeline.retention import RetentionSummary, apply_retention
from mailbot.pipeline.tasks import send_digest, send_reminders
from mailbot.runtime.wiring import build_mailbot
from mailbot.store.schedule import job_store

log = logging.getLogger("mailbot.jobs")

REMINDER_CHECK = timedelta(minutes=10)
# After downtime a missed run still happens once (coalesced), however late: a digest or a
# reminder a day late is better than none, and the records stop any repeat.
MISFIRE_GRACE: int | None = None
JOB_STORE_TABLE = "mailbot_scheduled_jobs"


def _claimed(settings: Settings, job: str, spacing: timedelta) -> bool:
    """Whether this instance may run `job` now: one instance per slot, by a database row."""
    from mailbot.runtime.wiring import open_store

    return open_store(settings).claim_job(job, spacing)


def run_digest(config_path: str) -> None:
    settings = load_settings(Path(config_path))
    if not _claimed(settings, "digest", timedelta(hours=1)):
        log.info("digest: another instance has it")
        return
    with build_mailbot(settings) as bot:
        result = send_digest(
            bot.scheduled(), settings.organiser.email, always=settings.schedule.digest_always
        )
    log.info("digest: %s", result.reason)


def run_reminders(config_path: str) -> None:
    settings = load_settings(Path(config_path))
    if not _claimed(settings, "reminders", REMINDER_CHECK / 2):
        return
    with build_mailbot(settings) as bot:
        plans = send_reminders(bot.scheduled(), tuple(settings.schedule.reminders))
        booking = settings.booking
        reconfirm_and_release(
            bot.store,
            bot.handling(),
            bot.clock(),
            offset=booking.reconfirm,
            hours=booking.reconfirm_hours,
        )
    if plans:
        log.info("reminders: %d sent", len(plans))


def run_retention(config_path: str) -> None:
    settings = load_settings(Path(config_path))
    if not _claimed(settings, "retention", timedelta(hours=12)):
        return
    summary = retain_now(settings)
    log.info("retention: %s", summary.line())


def retain_now(settings: Settings) -> RetentionSummary:
    """One retention run, recorded for `mailbot status`: the nightly job's, and
    `mailbot retention`'s."""
    with build_mailbot(settings) as bot:
        started = bot.clock()
        summary = apply_retention(
            bot.store,
            bot.source,
            bot.settings.events,
            days=settings.retention.days,
            remove_filed=settings.retention.remove_filed_mail,
            now=started,
        )
        bot.store.record_run("retention", started, bot.clock(), summary.line())
    return summary


def build_scheduler(settings: Settings) -> BackgroundScheduler:
    """The scheduler with its three jobs, started paused: the caller resumes it, and shuts
    it down (waiting for a job in hand) when the service stops."""
    zone = settings.zone
    scheduler = BackgroundScheduler(
        jobstores={"default": job_store(settings.database_url(), JOB_STORE_TABLE)},
        job_defaults={"coalesce": True, "misfire_grace_time": MISFIRE_GRACE, "max_instances": 1},
        timezone=zone,
    )
    config = str(settings.source)
    digest_time = time.fromisoformat(settings.schedule.digest_at)
    specs = (
        (
            "digest",
            "mailbot.runtime.jobs:run_digest",
            CronTrigger(hour=digest_time.hour, minute=digest_time.minute, timezone=zone),
        ),
        (
            "reminders",
            "mailbot.runtime.jobs:run_reminders",
            IntervalTrigger(seconds=int(REMINDER_CHECK.total_seconds()), timezone=zone),
        ),
        (
            "retention",
            "mailbot.runtime.jobs:run_retention",
            CronTrigger(hour=3, minute=15, timezone=zone),
        ),
    )
    scheduler.start(paused=True)
    for job_id, func, trigger in specs:
        existing = _stored_job(scheduler, job_id)
        # A stored job keeps its next run time, so one missed while mailbot was down still
        # runs (once) on start; it is replaced only when its schedule changed.
        if existing is None or str(existing.trigger) != str(trigger) or existing.args != (config,):
            scheduler.add_job(func, trigger, args=[config], id=job_id, replace_existing=True)
    return scheduler


def log_config_warnings(settings: Settings) -> None:
    """What `mailbot check` warns of, in the service's log: nobody may run check."""
    for warning in config_warnings(settings, datetime.now(UTC)):
        log.warning("%s: %s: %s", settings.source, warning.key, warning.problem)


def _stored_job(scheduler: BackgroundScheduler, job_id: str) -> Job | None:
    try:
        return scheduler.get_job(job_id)
    except LookupError:
        # Stored by an earlier version whose function has since moved (the flat layout's
        # "mailbot.jobs:run_digest"): it is replaced, losing only its next run time.
        return None
