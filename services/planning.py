"""One planner tick: everything scheduled is written to the outbox, idempotently."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from liaison.services.checkin_plan import PlanReport, plan_checkins
from liaison.services.deadline_plan import DeadlineReport, plan_deadlines
from liaison.services.submissions import drop_idle_drafts
from liaison.storage.database import Database


@dataclass(frozen=True)
class TickReport:
    checkins: PlanReport
    deadlines: DeadlineReport
    drafts_dropped: int


async def plan_all(db: Database, now: datetime, data_dir: Path) -> TickReport:
    checkins = await plan_checkins(db, now)
    deadlines = await plan_deadlines(db, now)
    dropped = 0
    if deadlines.drafts_dropped:
        dropped = await drop_idle_drafts(db, data_dir, deadlines.drafts_dropped, now)
    return TickReport(checkins, deadlines, dropped)
