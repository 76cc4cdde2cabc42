"""Planning check-ins: runs planned ahead of each cadre's local slot, their prompt and
reminder due at their instant, escalations, misses.

Everything here is idempotent: runs are unique per survey, person and local day, and
every message goes through the outbox under a unique key. A tick run twice, or two
ticks racing, plan the same rows once.

A tick costs a fixed number of statements whatever the number of cadres (the statement
test counts them): whole-cohort reads, runs inserted in bulk (one INSERT … ON CONFLICT DO
NOTHING RETURNING, paged only past the drivers' bind-parameter limit), outbox and audit
rows by one executemany each, follow-ups that select only the runs due for closing or
escalation, and the staff read once per programme.

Runs are planned up to ``PLAN_AHEAD`` before their slot, so the prompt waits in the
outbox due at the slot itself and the sender releases it on time. Whatever changed
between planning and the slot is judged again by ``unwanted`` when the prompt or
reminder is rendered and when the tick closes or escalates the run. A run not yet
prompted (still ``due``) that is no longer wanted is deleted, with a
``checkin.dropped`` audit row: never prompted, never missed, never escalated, and its
day free to be planned again if the slot only moved (a zone change). A run already
prompted that is no longer wanted is not chased (no reminder, no escalation) and
closes as before. docs/outbox.md, "The check-in run", has the diagram.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol

from sqlalchemy import ColumnElement, and_, delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from liaison.services.audience import AudienceRule, rule_for
from liaison.services.checkins.states import OPEN, sources
from liaison.services.outbox.payloads import run_payload
from liaison.services.outbox.queue import Planned, enqueue_many
from liaison.services.timezones import zone
from liaison.storage.database import Database
from liaison.storage.enums import OutboxKind, PersonStatus, Role, RunState
from liaison.storage.models import (
    Absence,
    AuditEvent,
    Person,
    Phase,
    Programme,
    Survey,
    SurveyRun,
)
from liaison.storage.queries import reachable_staff, upsert_insert

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# How far back a tick looks for slots: after downtime, older slots are recorded as missed.
LOOKBACK_DAYS = 3
# How far ahead runs and their prompts are planned. An hour: the tick (every 30 s) has
# a hundred chances to plan a slot before it comes, so the prompt is in the outbox due
# at the slot; yet little changes in that hour, and what does (an absence, a withdrawal,
# a zone change) is caught at send time and the run dropped. A day ahead would drop
# more runs and plan tomorrow's slot for a person who may change zone tonight.
PLAN_AHEAD = timedelta(hours=1)
# Rows per INSERT … RETURNING statement: SQLAlchemy lowers it to what the drivers'
# bind-parameter limit (about 32,700) allows for a run's 11 values, 2,970.
RUN_PAGE = 10_000
# Run ids per UPDATE or DELETE … WHERE id IN (…): under the drivers' bind-parameter
# limit (32,767 on asyncpg), so a tick of more due runs than that takes one more each.
IDS_PER_STATEMENT = 30_000
# Runs handled at a time, in planning and in the follow-ups: what a tick holds at once
# (rows, dicts, outbox payloads) is bounded by it, not by the cohort. Up to it, a tick's
# statements are as many as for one cadre; beyond it, each further chunk adds its own
# few (as the bind-parameter limit already does per ~3,000 rows).
CHUNK = 2_500
# States a run can be escalated from (escalated runs are not escalated again).
ESCALABLE = tuple(state for state in sources(RunState.ESCALATED) if state in OPEN)


@dataclass
class PlanReport:
    runs_created: int = 0
    runs_missed_at_creation: int = 0
    reminders: int = 0
    escalations: int = 0
    closed_as_missed: int = 0
    dropped: int = 0
    keys: list[str] = field(default_factory=list)


def slot_instant(day: date, at: time, zone_name: str) -> datetime:
    """The UTC instant of a local wall-clock slot.

    A slot in the spring-forward gap moves forward by the gap's length; a slot in the
    repeated autumn hour takes its first occurrence. Either way, one instant per day.
    """
    # zoneinfo reads a time in the gap with the offset before it (02:30 → 03:30 EDT) and
    # an ambiguous time with fold=0 (the first 01:30): exactly the rule above.
    return datetime.combine(day, at, tzinfo=zone(zone_name)).astimezone(UTC)


def survey_slot(survey: Survey, day: date, zone_name: str) -> datetime | None:
    """The survey's slot on this local day in this zone, or None on a day it has none."""
    if WEEKDAYS[day.weekday()] not in survey.schedule["weekdays"]:
        return None
    return slot_instant(day, time.fromisoformat(survey.schedule["at"]), zone_name)


@dataclass(frozen=True)
class Programmes:
    """Each programme with its audience rule, read once per tick."""

    rows: dict[str, Programme]
    rules: dict[str, AudienceRule]


async def load_programmes(session: AsyncSession, ids: Iterable[str]) -> Programmes:
    """Two statements for any number of programmes: the programmes, then their phases."""
    wanted = sorted(set(ids))
    if not wanted:
        return Programmes({}, {})
    rows = {
        p.id: p for p in await session.scalars(select(Programme).where(Programme.id.in_(wanted)))
    }
    phases: dict[str, list[Phase]] = {key: [] for key in rows}
    for phase in await session.scalars(select(Phase).where(Phase.programme_id.in_(wanted))):
        phases[phase.programme_id].append(phase)
    return Programmes(rows, {key: rule_for(rows[key], phases[key]) for key in rows})


class RunFacts(Protocol):
    """What ``unwanted`` reads of a run: a SurveyRun, or a row with these columns."""

    @property
    def slot_date(self) -> date: ...
    @property
    def slot_at(self) -> datetime: ...
    @property
    def state(self) -> RunState: ...


class PersonFacts(Protocol):
    """What ``unwanted`` reads of the run's person: a Person, or a row with these columns."""

    @property
    def telegram_chat_id(self) -> int | None: ...
    @property
    def unreachable_at(self) -> datetime | None: ...
    @property
    def status(self) -> PersonStatus: ...
    @property
    def timezone(self) -> str | None: ...


def unwanted(
    run: RunFacts,
    survey: Survey,
    person: PersonFacts,
    host_timezone: str,
    rule: AudienceRule,
    away: Sequence[Absence],
) -> str | None:
    """Why a planned run is no longer wanted now, or None while it still is.

    Judged again at send time and when the tick would close or escalate the run, so
    nothing that changed since planning makes a stale prompt go out or a run count as
    missed: the survey switched off or edited, the person unreachable, withdrawn or no
    longer in the survey's audience (status, phase dates), away that day, or in another
    zone (a run not yet prompted whose slot is no longer the person's local slot).
    """
    if not survey.active:
        return "survey_inactive"
    if person.telegram_chat_id is None or person.unreachable_at is not None:
        return "unreachable"
    if not rule.gets_survey(person.status, survey, run.slot_date):
        return "not_for_them"
    if any(a.starts_on <= run.slot_date <= a.ends_on for a in away):
        return "absent"
    if run.state is RunState.DUE:
        expected = survey_slot(survey, run.slot_date, person.timezone or host_timezone)
        if expected != run.slot_at:
            return "slot_moved"
    return None


def _audit(
    action: str, programme_id: str, person_id: int, now: datetime, **details: Any
) -> dict[str, Any]:
    return {
        "action": action,
        "programme_id": programme_id,
        "actor_person_id": person_id,
        "telegram_user_id": None,
        "details": details,
        "at": now,
    }


async def _record_many(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Audit rows in one executemany."""
    if rows:
        await session.execute(
            insert(AuditEvent).execution_options(insertmanyvalues_page_size=RUN_PAGE), rows
        )


async def plan_checkins(db: Database, now: datetime) -> PlanReport:
    """One planner tick: new runs with their prompt and reminder, then the follow-ups
    (runs dropped, closed as missed, escalated)."""
    report = PlanReport()
    async with db.transaction() as session:
        await _plan_runs(session, now, report)
        await _follow_up(session, now, report)
    return report


async def _plan_runs(session: AsyncSession, now: datetime, report: PlanReport) -> None:
    surveys = list(await session.scalars(select(Survey).where(Survey.active.is_(True))))
    if not surveys:
        return
    programme_ids = {s.programme_id for s in surveys}
    programmes = await load_programmes(session, programme_ids)
    # Plain rows, not ORM objects: the whole cohort is read on every tick.
    cadres: dict[str, list[Any]] = {key: [] for key in programme_ids}
    for person in await session.execute(
        select(
            Person.id, Person.programme_id, Person.timezone, Person.status, Person.enrolled_at
        ).where(
            Person.programme_id.in_(programme_ids),
            Person.role == Role.CADRE,
            Person.telegram_chat_id.is_not(None),
            Person.unreachable_at.is_(None),
        )
    ):
        cadres[person.programme_id].append(person)
    horizon = now.date() - timedelta(days=LOOKBACK_DAYS + 1)
    # Whole-cohort reads, once per tick: what is planned, who is away.
    planned = set(
        (
            await session.execute(
                select(SurveyRun.survey_id, SurveyRun.person_id, SurveyRun.slot_date).where(
                    SurveyRun.survey_id.in_([s.id for s in surveys]),
                    SurveyRun.slot_date >= horizon,
                )
            )
        ).all()
    )
    absences: dict[int, list[Absence]] = {}
    for absence in await session.scalars(
        select(Absence).where(
            Absence.ends_on >= horizon,
            Absence.person_id.in_(
                select(Person.id).where(
                    Person.programme_id.in_(programme_ids), Person.role == Role.CADRE
                )
            ),
        )
    ):
        absences.setdefault(absence.person_id, []).append(absence)
    values: list[dict[str, Any]] = []
    surveys_by_id = {s.id: s for s in surveys}
    for survey in surveys:
        rule = programmes.rules[survey.programme_id]
        if not any(phase.key in survey.phase_keys for phase in rule.phases):
            continue
        host = programmes.rows[survey.programme_id].host_timezone
        window = timedelta(minutes=survey.window_minutes)
        escalate_after = timedelta(minutes=survey.escalate_after_minutes)
        # Per zone, not per cadre: the local days in reach and their slots.
        slots: dict[str, list[tuple[date, datetime]]] = {}
        gets: dict[tuple[PersonStatus, date], bool] = {}
        for person in cadres[survey.programme_id]:
            zone_name = person.timezone or host
            if zone_name not in slots:
                slots[zone_name] = _slots_in_reach(survey, zone_name, now)
            away = absences.get(person.id, ())
            for day, slot in slots[zone_name]:
                if (survey.id, person.id, day) in planned:
                    continue
                if person.enrolled_at is not None and slot < person.enrolled_at:
                    # Before this person joined the bot: nothing to ask or miss.
                    continue
                if (person.status, day) not in gets:
                    gets[person.status, day] = rule.gets_survey(person.status, survey, day)
                if not gets[person.status, day]:
                    # Outside the survey's phases, or not for this person's status.
                    continue
                if any(a.starts_on <= day <= a.ends_on for a in away):
                    continue
                closes = slot + window
                values.append(
                    {
                        "survey_id": survey.id,
                        "person_id": person.id,
                        "slot_date": day,
                        "slot_at": slot,
                        "closes_at": closes,
                        "escalate_at": slot + escalate_after,
                        "timezone": zone_name,
                        "state": RunState.MISSED if closes <= now else RunState.DUE,
                        "current_question": 0,
                        "editing": False,
                        "created_at": now,
                    }
                )
                if len(values) >= CHUNK:
                    await _create_runs(session, values, surveys_by_id, now, report)
                    values = []
    await _create_runs(session, values, surveys_by_id, now, report)


async def _create_runs(
    session: AsyncSession,
    values: list[dict[str, Any]],
    surveys_by_id: dict[int, Survey],
    now: datetime,
    report: PlanReport,
) -> None:
    """Inserts one chunk of planned runs with their prompts, reminders and audit rows."""
    if not values:
        return
    created = await _insert_runs(session, values)
    audits: list[dict[str, Any]] = []
    messages: list[Planned] = []
    for run_id, survey_id, person_id, slot_at, closes_at, state in created:
        survey = surveys_by_id[survey_id]
        report.runs_created += 1
        if state is RunState.MISSED:
            # Too late to ask: recorded as missed, never prompted (the stale rule).
            report.runs_missed_at_creation += 1
            audits.append(
                _audit(
                    "checkin.missed",
                    survey.programme_id,
                    person_id,
                    now,
                    run_id=run_id,
                    reason="planned_after_window",
                )
            )
            continue
        payload = run_payload(run_id)
        key = f"checkin:{run_id}:prompt"
        messages.append(
            Planned(key, person_id, OutboxKind.CHECKIN_PROMPT, payload, slot_at, closes_at)
        )
        report.keys.append(key)
        remind_at = slot_at + timedelta(minutes=survey.remind_after_minutes)
        if remind_at < closes_at:
            # Planned with the prompt, due at its own instant; its renderer drops it when
            # the run was answered, closed or dropped by then.
            key = f"checkin:{run_id}:remind"
            messages.append(
                Planned(key, person_id, OutboxKind.CHECKIN_REMINDER, payload, remind_at, closes_at)
            )
            report.reminders += 1
            report.keys.append(key)
    del created
    await enqueue_many(session, messages)
    await _record_many(session, audits)


def _slots_in_reach(survey: Survey, zone_name: str, now: datetime) -> list[tuple[date, datetime]]:
    """The survey's local days and slots in this zone from the lookback up to the
    planning horizon; tomorrow too, as a slot just after local midnight can be in it."""
    today = now.astimezone(zone(zone_name)).date()
    found = []
    for back in range(LOOKBACK_DAYS, -2, -1):
        day = today - timedelta(days=back)
        slot = survey_slot(survey, day, zone_name)
        if slot is not None and slot <= now + PLAN_AHEAD:
            found.append((day, slot))
    return found


async def _insert_runs(
    session: AsyncSession, values: list[dict[str, Any]]
) -> list[tuple[int, int, int, datetime, datetime, RunState]]:
    """Inserts runs by INSERT … ON CONFLICT DO NOTHING RETURNING over all of them: only
    the runs this tick created come back, so two ticks racing never both plan the same
    run. SQLAlchemy's insertmanyvalues sends the executemany as multi-row statements of
    up to RUN_PAGE rows (fewer when the bind-parameter limit asks: 2,970 runs)."""
    connection = await session.connection()
    result = await connection.execute(
        upsert_insert(session.bind.dialect.name, SurveyRun)
        .on_conflict_do_nothing(index_elements=["survey_id", "person_id", "slot_date"])
        .returning(
            SurveyRun.id,
            SurveyRun.survey_id,
            SurveyRun.person_id,
            SurveyRun.slot_at,
            SurveyRun.closes_at,
            SurveyRun.state,
        )
        .execution_options(insertmanyvalues_page_size=RUN_PAGE),
        values,
    )
    return [
        (row.id, row.survey_id, row.person_id, row.slot_at, row.closes_at, row.state)
        for row in result
    ]


def _due_for_follow_up(now: datetime) -> ColumnElement[bool]:
    """Open runs whose window has closed, and runs due for escalation: nothing else."""
    return or_(
        and_(SurveyRun.state.in_(OPEN), SurveyRun.closes_at <= now),
        and_(
            SurveyRun.state.in_(ESCALABLE),
            SurveyRun.escalated_at.is_(None),
            SurveyRun.escalate_at <= now,
            SurveyRun.closes_at > now,
        ),
    )


async def _follow_up(session: AsyncSession, now: datetime, report: PlanReport) -> None:
    """The runs due for a follow-up, CHUNK at a time by id: an escalation tick over the
    whole cohort holds one chunk's rows, ids and messages at once, not the cohort's."""
    staff: dict[str, list[Person]] = {}
    after = 0
    while True:
        after = await _follow_up_chunk(session, now, report, after, staff)
        if not after:
            return


async def _follow_up_chunk(
    session: AsyncSession,
    now: datetime,
    report: PlanReport,
    after: int,
    staff: dict[str, list[Person]],
) -> int:
    """Follows up the next CHUNK due runs with ids above ``after``; returns the last id
    when the chunk was full (there may be more), else 0."""
    due = and_(_due_for_follow_up(now), SurveyRun.id > after)
    # Plain rows (the run's and its person's columns), not ORM objects.
    rows: list[Any] = list(
        (
            await session.execute(
                select(
                    SurveyRun.id,
                    SurveyRun.survey_id,
                    SurveyRun.person_id,
                    SurveyRun.slot_date,
                    SurveyRun.slot_at,
                    SurveyRun.closes_at,
                    SurveyRun.state,
                    Person.status,
                    Person.timezone,
                    Person.telegram_chat_id,
                    Person.unreachable_at,
                )
                .join(Person, Person.id == SurveyRun.person_id)
                .where(due)
                .order_by(SurveyRun.id)
                .limit(CHUNK)
                .with_for_update(of=SurveyRun, skip_locked=True)
            )
        ).all()
    )
    if not rows:
        return 0
    last = rows[-1].id if len(rows) == CHUNK else 0
    # The absences of this chunk's people only.
    due = and_(due, SurveyRun.id <= rows[-1].id)
    surveys = {
        survey.id: survey
        for survey in await session.scalars(
            select(Survey).where(Survey.id.in_({row.survey_id for row in rows}))
        )
    }
    programmes = await load_programmes(session, {s.programme_id for s in surveys.values()})
    absences: dict[int, list[Absence]] = {}
    for absence in await session.scalars(
        select(Absence).where(Absence.person_id.in_(select(SurveyRun.person_id).where(due)))
    ):
        absences.setdefault(absence.person_id, []).append(absence)
    drop: dict[int, str] = {}
    unchased: list[int] = []
    close: list[int] = []
    escalate: list[int] = []
    for row in rows:
        survey = surveys[row.survey_id]
        # The row carries the run's columns and its person's: it is both here.
        reason = unwanted(
            row,
            survey,
            row,
            programmes.rows[survey.programme_id].host_timezone,
            programmes.rules[survey.programme_id],
            absences.get(row.person_id, []),
        )
        if reason is not None and row.state is RunState.DUE:
            drop[row.id] = reason
        elif row.closes_at <= now:
            close.append(row.id)
        elif reason is not None:
            # Prompted, then no longer for them (withdrawn, say): no chasing.
            unchased.append(row.id)
        else:
            escalate.append(row.id)
    by_id = {row.id: (row, surveys[row.survey_id]) for row in rows}
    audits: list[dict[str, Any]] = []
    for run_id in await _drop(session, list(drop)):
        run, survey = by_id[run_id]
        report.dropped += 1
        audits.append(
            _audit(
                "checkin.dropped",
                survey.programme_id,
                run.person_id,
                now,
                run_id=run_id,
                reason=drop[run_id],
            )
        )
    for start in range(0, len(unchased), IDS_PER_STATEMENT):
        await session.execute(
            update(SurveyRun)
            .where(SurveyRun.id.in_(unchased[start : start + IDS_PER_STATEMENT]))
            .values(escalate_at=None)
            .execution_options(synchronize_session=False)
        )
    for run_id in await _move(session, close, RunState.MISSED, OPEN):
        run, survey = by_id[run_id]
        report.closed_as_missed += 1
        audits.append(
            _audit("checkin.missed", survey.programme_id, run.person_id, now, run_id=run_id)
        )
    escalated = await _move(session, escalate, RunState.ESCALATED, ESCALABLE, escalated_at=now)
    messages: list[Planned] = []
    for run_id in escalated:
        run, survey = by_id[run_id]
        programme_id = survey.programme_id
        if programme_id not in staff:
            # Once per programme per tick, not once per escalation.
            staff[programme_id] = await reachable_staff(session, programme_id)
        payload = run_payload(run_id)
        for organizer in staff[programme_id]:
            key = f"checkin:{run_id}:escalate:{organizer.id}"
            messages.append(Planned(key, organizer.id, OutboxKind.CHECKIN_ESCALATION, payload, now))
            report.keys.append(key)
        report.escalations += 1
        audits.append(_audit("checkin.escalated", programme_id, run.person_id, now, run_id=run_id))
    await enqueue_many(session, messages)
    await _record_many(session, audits)
    return last


async def _move(
    session: AsyncSession,
    ids: list[int],
    target: RunState,
    allowed: Sequence[RunState],
    **values: Any,
) -> list[int]:
    """One conditional UPDATE for many runs (the compare-and-set of states.py, in bulk);
    returns the ids that moved, in order."""
    allowed = tuple(state for state in allowed if state in sources(target))
    moved: list[int] = []
    for start in range(0, len(ids), IDS_PER_STATEMENT):
        result = await session.execute(
            update(SurveyRun)
            .where(
                SurveyRun.id.in_(ids[start : start + IDS_PER_STATEMENT]),
                SurveyRun.state.in_(allowed),
            )
            .values(state=target, **values)
            .returning(SurveyRun.id)
            .execution_options(synchronize_session=False)
        )
        moved.extend(result.scalars())
    return sorted(moved)


async def _drop(session: AsyncSession, ids: list[int]) -> list[int]:
    """Deletes runs still ``due`` (never prompted, so without answers) in one statement;
    returns the ids deleted. A run the cadre started meanwhile is no longer due and stays."""
    dropped: list[int] = []
    for start in range(0, len(ids), IDS_PER_STATEMENT):
        result = await session.execute(
            delete(SurveyRun)
            .where(
                SurveyRun.id.in_(ids[start : start + IDS_PER_STATEMENT]),
                SurveyRun.state == RunState.DUE,
            )
            .returning(SurveyRun.id)
            .execution_options(synchronize_session=False)
        )
        dropped.extend(result.scalars())
    return sorted(dropped)


async def run_wanted(db: Database, run_id: int, now: datetime, *, reminder: bool = False) -> bool:
    """At send time: whether a run's prompt (or reminder) is still wanted. A run not yet
    prompted that is not is dropped here, with its audit row, so the tick never counts
    it missed nor escalates it. A reminder also records that the run was reminded."""
    async with db.transaction() as session:
        found = (
            await session.execute(
                select(SurveyRun, Survey, Person)
                .join(Survey, Survey.id == SurveyRun.survey_id)
                .join(Person, Person.id == SurveyRun.person_id)
                .where(SurveyRun.id == run_id)
            )
        ).one_or_none()
        if found is None:
            return False
        run, survey, person = found
        if run.state not in OPEN or run.closes_at <= now:
            return False
        if reminder and run.state not in (RunState.SENT, RunState.IN_PROGRESS):
            # Only a delivered prompt is worth a reminder; an escalated run has the
            # organizers' call instead.
            return False
        programmes = await load_programmes(session, [survey.programme_id])
        away = list(
            await session.scalars(
                select(Absence).where(
                    Absence.person_id == person.id,
                    Absence.starts_on <= run.slot_date,
                    Absence.ends_on >= run.slot_date,
                )
            )
        )
        reason = unwanted(
            run,
            survey,
            person,
            programmes.rows[survey.programme_id].host_timezone,
            programmes.rules[survey.programme_id],
            away,
        )
        if reason is None:
            if reminder:
                await session.execute(
                    update(SurveyRun)
                    .where(SurveyRun.id == run_id, SurveyRun.reminded_at.is_(None))
                    .values(reminded_at=now)
                    .execution_options(synchronize_session=False)
                )
            return True
        if run.state is RunState.DUE and await _drop(session, [run_id]):
            await _record_many(
                session,
                [
                    _audit(
                        "checkin.dropped",
                        survey.programme_id,
                        person.id,
                        now,
                        run_id=run_id,
                        reason=reason,
                    )
                ],
            )
        return False
