"""One planner tick: everything scheduled is written to the outbox, idempotently."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from liaison.services.broadcasts.delivery import plan_progress
from liaison.services.checkins.planning import PlanReport, plan_checkins
from liaison.services.digest import plan_digests
from liaison.services.submissions.drafts import drop_idle_drafts
from liaison.services.submissions.reminders import DeadlineReport, plan_deadlines
from liaison.storage.database import Database


@dataclass(frozen=True)
class TickReport:
    checkins: PlanReport
    deadlines: DeadlineReport
    digests: int
    drafts_dropped: int


async def plan_all(db: Database, now: datetime, data_dir: Path) -> TickReport:
    checkins = await plan_checkins(db, now)
    deadlines = await plan_deadlines(db, now)
    digests = await plan_digests(db, now)
    await plan_progress(db, now)
    dropped = 0
    if deadlines.drafts_dropped:
        dropped = await drop_idle_drafts(db, data_dir, deadlines.drafts_dropped, now)
    return TickReport(checkins, deadlines, digests, dropped)
