"""The JobQueue is only the clock: each job ticks, the database says what is due."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from telegram.ext import JobQueue

from liaison.bot.inbox import RETRY_INTERVAL
from liaison.bot.logging_setup import redact
from liaison.sender.outbox_sender import OutboxSender
from liaison.services import inbox, metrics
from liaison.services.broadcasts.delivery import plan_progress
from liaison.services.clock import Clock
from liaison.services.files.archive import sweep_orphans
from liaison.services.health import record_heartbeat
from liaison.services.planning import plan_all
from liaison.storage import locks
from liaison.storage.database import Database
from liaison.ui.context import BotContext

if TYPE_CHECKING:  # aiosmtplib loads only when an SMTP server is configured
    from liaison.sender.email_sender import EmailSender

log = logging.getLogger(__name__)


async def beating(
    db: Database, clock: Clock, name: str, work: Callable[[], Awaitable[None]]
) -> None:
    """Runs one tick and leaves its heartbeat (time taken, error) for `liaison status`."""
    started = time.monotonic()
    error: str | None = None
    try:
        await work()
    except Exception as exc:
        error = redact(f"{type(exc).__name__}: {exc}")
        raise
    finally:
        metrics.tick_took(name, time.monotonic() - started)
        try:
            await record_heartbeat(db, name, clock.now(), time.monotonic() - started, error)
        except Exception as exc:  # the database may be what failed; the tick's error wins
            log.warning("could not record the %s heartbeat: %s", name, type(exc).__name__)


async def plan_tick(context: BotContext) -> None:
    """Plans due check-in runs, reminders and escalations into the outbox."""

    async def work() -> None:
        # Several instances on PostgreSQL: one plans at a time, the others skip this tick.
        async with locks.exclusive(context.db, locks.PLANNER) as mine:
            if not mine:
                log.info("planning skipped: another instance is planning")
                return
            report = await plan_all(context.db, context.clock.now(), context.data_dir)
        checkins, deadlines = report.checkins, report.deadlines
        if checkins.runs_created or checkins.reminders or checkins.escalations:
            log.info("planned check-ins %s", checkins)
        if deadlines.reminders or report.digests or deadlines.drafts_reminded:
            log.info("planned deadlines %s", deadlines)

    await beating(context.db, context.clock, "plan", work)


def send_tick(sender: OutboxSender) -> Any:
    async def tick(context: BotContext) -> None:
        """Sends what is due in the outbox, unless the sender's loop does (bot/runner.py):
        then it only leaves the loop's heartbeat and moves broadcasts' progress on."""

        async def work() -> None:
            if sender.running or sender.finished:
                # The loop sends (or has stopped for shutdown: a run_once here would drain
                # every due row before the process could end).
                settled = sender.take_activity()
                if sender.error is not None:
                    raise sender.error
            else:
                report = await sender.run_once()
                if report.sent or report.retried or report.failed or report.expired:
                    log.info("sent %s", report)
                settled = report.sent + report.unreachable + report.failed
            if settled:
                # A broadcast's progress follows its sends within one tick, not one plan tick.
                await plan_progress(sender.db, sender.clock.now())

        await beating(context.db, context.clock, "send", work)

    return tick


def prune_tick(db: Database, clock: Clock, data_dir: Path) -> Any:
    async def tick(context: BotContext) -> None:
        """Forgets long-settled inbox rows; removes archive files a crash left without a record."""
        removed = await inbox.prune(db, clock.now())
        if removed:
            log.info("forgot %s settled inbox rows", removed)
        await sweep_orphans(db, data_dir, clock.now())

    return tick


def mail_tick(mailer: EmailSender) -> Any:
    async def tick(context: BotContext) -> None:
        """Plans the digest e-mails that are due and sends what the outbox holds for e-mail."""

        async def work() -> None:
            report = await mailer.tick()
            if report.sent or report.delayed or report.refused or report.failed:
                log.info("e-mail %s", report)

        await beating(context.db, context.clock, "mail", work)

    return tick


def inbox_tick(kick: Callable[[], None]) -> Any:
    async def tick(context: BotContext) -> None:
        """Wakes the inbox worker, so rows waiting out a retry delay are tried again."""
        kick()

    return tick


def schedule_jobs(
    job_queue: JobQueue[Any],
    sender: OutboxSender,
    kick_inbox: Callable[[], None],
    db: Database,
    clock: Clock,
    data_dir: Path,
    tick: timedelta,
    *,
    mailer: EmailSender | None = None,
) -> None:
    """Named repeating jobs; max_instances=1 so a slow tick is never run twice at once."""
    once = {"max_instances": 1, "coalesce": True}
    job_queue.run_repeating(
        cast(Any, plan_tick),
        interval=tick,
        first=timedelta(seconds=5),
        name="plan",
        job_kwargs=once,
    )
    job_queue.run_repeating(
        send_tick(sender),
        interval=timedelta(seconds=2),
        first=timedelta(seconds=6),
        name="send",
        job_kwargs=once,
    )
    if mailer is not None:
        job_queue.run_repeating(
            mail_tick(mailer),
            interval=tick,
            first=timedelta(seconds=8),
            name="mail",
            job_kwargs=once,
        )
    job_queue.run_repeating(
        inbox_tick(kick_inbox),
        interval=RETRY_INTERVAL,
        first=RETRY_INTERVAL,
        name="inbox",
        job_kwargs=once,
    )
    job_queue.run_repeating(
        prune_tick(db, clock, data_dir),
        interval=timedelta(hours=6),
        first=timedelta(minutes=1),
        name="prune",
    )
