"""The JobQueue is only the clock: each job ticks, the database says what is due."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

from telegram.ext import JobQueue

from liaison.sender.outbox_sender import OutboxSender
from liaison.services.broadcasts.delivery import plan_progress
from liaison.services.clock import Clock
from liaison.services.files.archive import sweep_orphans
from liaison.services.planning import plan_all
from liaison.services.updates import prune_updates
from liaison.storage.database import Database
from liaison.ui.context import BotContext

log = logging.getLogger(__name__)


async def plan_tick(context: BotContext) -> None:
    """Plans due check-in runs, reminders and escalations into the outbox."""
    report = await plan_all(context.db, context.clock.now(), context.data_dir)
    checkins, deadlines = report.checkins, report.deadlines
    if checkins.runs_created or checkins.reminders or checkins.escalations:
        log.info("planned check-ins %s", checkins)
    if deadlines.reminders or report.digests or deadlines.drafts_reminded:
        log.info("planned deadlines %s", deadlines)


def send_tick(sender: OutboxSender) -> Any:
    async def tick(context: BotContext) -> None:
        """Sends what is due in the outbox."""
        report = await sender.run_once()
        if report.sent or report.retried or report.failed or report.expired:
            log.info("sent %s", report)
        if report.sent or report.unreachable or report.failed:
            # A broadcast's progress follows its sends within one tick, not one plan tick.
            await plan_progress(sender.db, sender.clock.now())

    return tick


def prune_tick(db: Database, clock: Clock, data_dir: Path) -> Any:
    async def tick(context: BotContext) -> None:
        """Forgets old update ids; removes archive files a crash left without a record."""
        removed = await prune_updates(db, clock.now())
        if removed:
            log.info("forgot %s old update ids", removed)
        await sweep_orphans(db, data_dir, clock.now())

    return tick


def schedule_jobs(
    job_queue: JobQueue[Any],
    sender: OutboxSender,
    db: Database,
    clock: Clock,
    data_dir: Path,
    tick: timedelta,
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
    job_queue.run_repeating(
        prune_tick(db, clock, data_dir),
        interval=timedelta(hours=6),
        first=timedelta(minutes=1),
        name="prune",
    )
