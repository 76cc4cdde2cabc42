"""Planning check-ins: runs at each cadre's local slot, reminders, escalations, misses.

Everything here is idempotent: runs are unique per survey, person and local day, and
every message goes through the outbox under a unique key. A tick run twice, or two
ticks racing, plan the same rows once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from liaison.services.audience import AudienceRule, audience_rule
from liaison.services.audit import record
from liaison.services.checkins.states import OPEN, move_run
from liaison.services.outbox.payloads import RunPayload
from liaison.services.outbox.queue import Planned, enqueue
from liaison.services.timezones import zone
from liaison.storage.database import Database
from liaison.storage.enums import OutboxKind, Role, RunState
from liaison.storage.models import Absence, Person, Programme, Survey, SurveyRun
from liaison.storage.queries import reachable_staff, upsert_insert

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# How far back a tick looks for slots: after downtime, older slots are recorded as missed.
LOOKBACK_DAYS = 3


@dataclass
class PlanReport:
    runs_created: int = 0
    runs_missed_at_creation: int = 0
    reminders: int = 0
    escalations: int = 0
    closed_as_missed: int = 0
    keys: list[str] = field(default_factory=list)


def slot_instant(day: date, at: time, zone_name: str) -> datetime:
    """The UTC instant of a local wall-clock slot.

    A slot in the spring-forward gap moves forward by the gap's length; a slot in the
    repeated autumn hour takes its first occurrence. Either way, one instant per day.
    """
    # zoneinfo reads a time in the gap with the offset before it (02:30 → 03:30 EDT) and
    # an ambiguous time with fold=0 (the first 01:30): exactly the rule above.
    return datetime.combine(day, at, tzinfo=zone(zone_name)).astimezone(UTC)


async def _insert_run(session: AsyncSession, values: dict[str, object]) -> int | None:
    result = await session.execute(
        upsert_insert(session.bind.dialect.name, SurveyRun)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["survey_id", "person_id", "slot_date"])
        .returning(SurveyRun.id)
    )
    return result.scalar_one_or_none()


async def plan_checkins(db: Database, now: datetime) -> PlanReport:
    """One planner tick: new runs and prompts, reminders, escalations, closing missed runs."""
    report = PlanReport()
    async with db.transaction() as session:
        surveys = list(await session.scalars(select(Survey).where(Survey.active.is_(True))))
        for survey in surveys:
            await _plan_survey(session, survey, now, report)
        await _follow_up(session, now, report)
    return report


async def _plan_survey(
    session: AsyncSession, survey: Survey, now: datetime, report: PlanReport
) -> None:
    programme = await session.get_one(Programme, survey.programme_id)
    rule = await audience_rule(session, survey.programme_id)
    if not any(phase.key in survey.phase_keys for phase in rule.phases):
        return
    weekdays = {WEEKDAYS.index(day) for day in survey.schedule["weekdays"]}
    at = time.fromisoformat(survey.schedule["at"])
    window = timedelta(minutes=survey.window_minutes)
    cadre_rows = await session.scalars(
        select(Person).where(
            Person.programme_id == survey.programme_id,
            Person.role == Role.CADRE,
            Person.telegram_chat_id.is_not(None),
            Person.unreachable_at.is_(None),
        )
    )
    cadres = list(cadre_rows)
    horizon = now.date() - timedelta(days=LOOKBACK_DAYS + 1)
    # Two reads for the whole cohort instead of two per person: what is planned, who is away.
    planned = set(
        (
            await session.execute(
                select(SurveyRun.person_id, SurveyRun.slot_date).where(
                    SurveyRun.survey_id == survey.id, SurveyRun.slot_date >= horizon
                )
            )
        ).all()
    )
    absences: dict[int, list[Absence]] = {}
    for absence in await session.scalars(
        select(Absence).where(
            Absence.person_id.in_([p.id for p in cadres]), Absence.ends_on >= horizon
        )
    ):
        absences.setdefault(absence.person_id, []).append(absence)
    for person in cadres:
        zone_name = person.timezone or programme.host_timezone
        today = now.astimezone(zone(zone_name)).date()
        away = absences.get(person.id, [])
        for back in range(LOOKBACK_DAYS, -1, -1):
            day = today - timedelta(days=back)
            if day.weekday() not in weekdays:
                continue
            if not rule.gets_survey(person.status, survey, day):
                # Outside the survey's phases, or not for this person's status.
                continue
            if (person.id, day) in planned:
                continue
            if any(a.starts_on <= day <= a.ends_on for a in away):
                continue
            slot = slot_instant(day, at, zone_name)
            if slot > now or (person.enrolled_at is not None and slot < person.enrolled_at):
                # Not due yet, or before this person joined the bot: nothing to ask or miss.
                continue
            closes = slot + window
            missed = closes <= now
            run_id = await _insert_run(
                session,
                {
                    "survey_id": survey.id,
                    "person_id": person.id,
                    "slot_date": day,
                    "slot_at": slot,
                    "closes_at": closes,
                    "timezone": zone_name,
                    "state": RunState.MISSED if missed else RunState.DUE,
                    "current_question": 0,
                    "editing": False,
                    "created_at": now,
                },
            )
            if run_id is None:
                continue
            report.runs_created += 1
            if missed:
                # Too late to ask: recorded as missed, never prompted (the stale rule).
                report.runs_missed_at_creation += 1
                await record(
                    session,
                    "checkin.missed",
                    programme_id=survey.programme_id,
                    actor_person_id=person.id,
                    details={"run_id": run_id, "reason": "planned_after_window"},
                    at=now,
                )
                continue
            key = f"checkin:{run_id}:prompt"
            await enqueue(
                session,
                Planned(
                    key,
                    person.id,
                    OutboxKind.CHECKIN_PROMPT,
                    RunPayload(run_id=run_id),
                    slot,
                    closes,
                ),
            )
            report.keys.append(key)


async def _follow_up(session: AsyncSession, now: datetime, report: PlanReport) -> None:
    rows = (
        await session.execute(
            select(SurveyRun, Survey, Person.status)
            .join(Survey, Survey.id == SurveyRun.survey_id)
            .join(Person, Person.id == SurveyRun.person_id)
            .where(SurveyRun.state.in_(OPEN))
            .with_for_update(of=SurveyRun, skip_locked=True)
        )
    ).all()
    rules: dict[str, AudienceRule] = {}
    for run, survey, status in rows:
        if run.closes_at <= now:
            if not await move_run(session, run, RunState.MISSED):
                continue
            report.closed_as_missed += 1
            await record(
                session,
                "checkin.missed",
                programme_id=survey.programme_id,
                actor_person_id=run.person_id,
                details={"run_id": run.id},
                at=now,
            )
            continue
        if survey.programme_id not in rules:
            rules[survey.programme_id] = await audience_rule(session, survey.programme_id)
        if not rules[survey.programme_id].gets_survey(status, survey, run.slot_date):
            # Their status changed since the run was planned (withdrawn, say): no chasing.
            continue
        remind_at = run.slot_at + timedelta(minutes=survey.remind_after_minutes)
        if (
            run.reminded_at is None
            and run.state in (RunState.SENT, RunState.IN_PROGRESS)
            and now >= remind_at
        ):
            run.reminded_at = now
            key = f"checkin:{run.id}:remind"
            await enqueue(
                session,
                Planned(
                    key,
                    run.person_id,
                    OutboxKind.CHECKIN_REMINDER,
                    RunPayload(run_id=run.id),
                    now,
                    run.closes_at,
                ),
            )
            report.reminders += 1
            report.keys.append(key)
        escalate_at = run.slot_at + timedelta(minutes=survey.escalate_after_minutes)
        if run.escalated_at is None and now >= escalate_at:
            if not await move_run(session, run, RunState.ESCALATED, escalated_at=now):
                continue
            for organizer in await reachable_staff(session, survey.programme_id):
                key = f"checkin:{run.id}:escalate:{organizer.id}"
                await enqueue(
                    session,
                    Planned(
                        key,
                        organizer.id,
                        OutboxKind.CHECKIN_ESCALATION,
                        RunPayload(run_id=run.id),
                        now,
                    ),
                )
                report.keys.append(key)
            report.escalations += 1
            await record(
                session,
                "checkin.escalated",
                programme_id=survey.programme_id,
                actor_person_id=run.person_id,
                details={"run_id": run.id},
                at=now,
            )
