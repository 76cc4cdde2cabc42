"""The audience rule: its table, the default by stage, and items that name their audience."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from liaison.services.audience import Stage, audience_rule, receives
from liaison.services.checkins.planning import plan_checkins
from liaison.services.programmes.loading import load_programme
from liaison.services.submissions.reminders import plan_deadlines
from liaison.storage.database import Database
from liaison.storage.enums import Audience, OutboxKind, PersonStatus, Role
from liaison.storage.models import Assignment, OutboxMessage, Person, Session, Survey, SurveyRun

FILE = Path(__file__).parent / "data" / "audience.yaml"
POOL = {PersonStatus.CANDIDATE, PersonStatus.SHORTLISTED}
COHORT = {PersonStatus.SELECTED, PersonStatus.ACTIVE}
RETURNED = {PersonStatus.RETURNED}
EVERYONE_BUT_RETURNED = POOL | COHORT


@pytest.mark.parametrize("status", list(PersonStatus))
def test_rule_table_gives_each_status_its_audiences(status: PersonStatus) -> None:
    got = {
        (audience, stage)
        for audience in Audience
        for stage in Stage
        if receives(status, audience, stage)
    }
    pool = {(a, s) for a in (Audience.CANDIDATES, Audience.ALL) for s in Stage}
    cohort = {(a, s) for a in (Audience.CADRES, Audience.ALL) for s in Stage}
    expected = {
        PersonStatus.CANDIDATE: pool,
        PersonStatus.SHORTLISTED: pool,
        PersonStatus.SELECTED: cohort,
        PersonStatus.ACTIVE: cohort,
        PersonStatus.RETURNED: {(a, s) for a, s in cohort if s is Stage.AFTER_RETURN},
        PersonStatus.NOT_SELECTED: set(),
        PersonStatus.WITHDRAWN: set(),
    }[status]
    assert got == expected


@pytest.fixture
async def loaded(db: Database) -> Database:
    await load_programme(db, FILE)
    return db


async def test_phases_get_their_stage_and_default_audience(loaded: Database) -> None:
    async with loaded.read() as session:
        rule = await audience_rule(session, "audience-prog")
    stages = {p.key: (p.stage, p.audience) for p in rule.phases}
    assert stages == {
        "selection": (Stage.SELECTION, Audience.CANDIDATES),
        "open-days": (Stage.PROGRAMME, Audience.ALL),
        "domestic": (Stage.PROGRAMME, Audience.CADRES),
        "abroad": (Stage.PROGRAMME, Audience.CADRES),
        "back": (Stage.AFTER_RETURN, Audience.CADRES),
    }


async def test_sessions_and_assignments_go_to_their_audience_by_status(loaded: Database) -> None:
    expected_sessions = {
        "sel-test": POOL,
        "sel-briefing": EVERYONE_BUT_RETURNED,
        "open-day": EVERYONE_BUT_RETURNED,
        "dom-lecture": COHORT,
        "abroad-visit": COHORT,
        "unphased-abroad": COHORT,
        "back-sharing": COHORT | RETURNED,
    }
    expected_assignments = {
        "statement": POOL,
        "dom-research": COHORT,
        "reading": POOL,
        "abroad-report": COHORT,
        "paper": COHORT | RETURNED,
    }
    async with loaded.read() as session:
        rule = await audience_rule(session, "audience-prog")
        sessions = {s.key: s for s in await session.scalars(select(Session))}
        assignments = {a.key: a for a in await session.scalars(select(Assignment))}
    for key, statuses in expected_sessions.items():
        got = {s for s in PersonStatus if rule.gets_session(s, sessions[key])}
        assert got == statuses, key
    for key, statuses in expected_assignments.items():
        got = {s for s in PersonStatus if rule.gets_assignment(s, assignments[key])}
        assert got == statuses, key


async def test_survey_slots_go_to_their_audience_by_status_and_day(loaded: Database) -> None:
    in_selection, abroad, back = date(2026, 3, 13), date(2026, 10, 16), date(2026, 12, 11)
    expected = {
        ("course", in_selection): POOL,
        ("course", abroad): set(),
        ("abroad", abroad): COHORT,
        ("abroad", in_selection): set(),
        ("everyone", in_selection): EVERYONE_BUT_RETURNED,
        ("everyone", abroad): EVERYONE_BUT_RETURNED,
        ("everyone", back): EVERYONE_BUT_RETURNED | RETURNED,
    }
    async with loaded.read() as session:
        rule = await audience_rule(session, "audience-prog")
        surveys = {s.key: s for s in await session.scalars(select(Survey))}
    for (key, day), statuses in expected.items():
        got = {s for s in PersonStatus if rule.gets_survey(s, surveys[key], day)}
        assert got == statuses, (key, day)


async def test_candidates_get_the_selection_phase_check_ins_and_reminders(
    loaded: Database,
) -> None:
    enrolled = datetime(2026, 1, 1, tzinfo=UTC)
    async with loaded.transaction() as session:
        for index, status in enumerate(PersonStatus):
            session.add(
                Person(
                    programme_id="audience-prog",
                    name=status.value,
                    phone=f"+861380000{index:04d}",
                    role=Role.CADRE,
                    timezone="Asia/Shanghai",
                    status=status,
                    telegram_user_id=8000 + index,
                    telegram_chat_id=8000 + index,
                    enrolled_at=enrolled,
                )
            )
    # Friday 13 March 2026, 20:05 in Chengdu; the statement is due on 1 April at 18:00.
    await plan_checkins(loaded, datetime(2026, 3, 13, 12, 5, tzinfo=UTC))
    await plan_deadlines(loaded, datetime(2026, 3, 31, 11, 0, tzinfo=UTC))
    async with loaded.read() as session:
        runs = set(
            (
                await session.execute(
                    select(Person.name, Survey.key)
                    .join(SurveyRun, SurveyRun.person_id == Person.id)
                    .join(Survey, Survey.id == SurveyRun.survey_id)
                )
            ).all()
        )
        reminded = set(
            await session.scalars(
                select(Person.name)
                .join(OutboxMessage, OutboxMessage.person_id == Person.id)
                .where(OutboxMessage.kind == OutboxKind.DEADLINE_REMINDER)
            )
        )
    assert runs == {(s.value, "course") for s in POOL} | {
        (s.value, "everyone") for s in POOL | COHORT
    }
    assert reminded == {s.value for s in POOL}
