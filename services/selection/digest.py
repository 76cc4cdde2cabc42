"""The selection's part of the daily digest, built only while the selection phase runs.

The digest (services/digest.py) calls ``build_selection_digest`` with its own session
and shows the result with ui/selection_digest.py: one hook on each side.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from liaison.services.audience import POOL, audience_rule
from liaison.services.programmes.settings import settings_of
from liaison.services.timezones import zone
from liaison.storage.enums import PersonStatus, Role, SessionKind
from liaison.storage.models import Person, Programme, Session, TestResult

AHEAD = timedelta(days=7)


@dataclass(frozen=True)
class UpcomingTest:
    title_zh: str
    title_en: str
    starts_at: datetime
    timezone: str
    place: str | None


@dataclass(frozen=True)
class ResultsEntered:
    title_zh: str
    title_en: str
    new: int
    total: int


@dataclass(frozen=True)
class SelectionDigest:
    tests_ahead: list[UpcomingTest]
    results: list[ResultsEntered]
    undecided: int
    selected: int
    not_selected: int
    places: int | None


async def _counts(session: AsyncSession, *where: ColumnElement[bool]) -> dict[str, int]:
    """Results per test key under these conditions."""
    rows = await session.execute(
        select(TestResult.test_key, func.count()).where(*where).group_by(TestResult.test_key)
    )
    return {key: int(count) for key, count in rows}


async def build_selection_digest(
    session: AsyncSession, programme_id: str, since: datetime, until: datetime
) -> SelectionDigest | None:
    """Tests in the coming week, results entered since the last digest, who is left;
    None outside the selection phase."""
    programme = await session.get_one(Programme, programme_id)
    phase = (await audience_rule(session, programme_id)).selection_phase
    if phase is None or not phase.holds(until.astimezone(zone(programme.home_timezone)).date()):
        return None
    selection = settings_of(programme).selection
    linked = {test.session for test in selection.tests if test.session}
    sessions = await session.scalars(
        select(Session)
        .where(
            Session.programme_id == programme_id,
            Session.starts_at >= until,
            Session.starts_at < until + AHEAD,
        )
        .order_by(Session.starts_at)
    )
    tests_ahead = [
        UpcomingTest(s.title_zh, s.title_en, s.starts_at, s.timezone, s.place)
        for s in sessions
        if s.key in linked or (s.kind is SessionKind.EXAM and s.phase_id == phase.id)
    ]
    people = (
        await session.execute(
            select(Person.id, Person.status).where(
                Person.programme_id == programme_id, Person.role == Role.CADRE
            )
        )
    ).all()
    ids = [pid for pid, _status in people]
    counts = await _counts(session, TestResult.person_id.in_(ids))
    new = await _counts(
        session,
        TestResult.person_id.in_(ids),
        TestResult.entered_at >= since,
        TestResult.entered_at < until,
    )
    results = [
        ResultsEntered(test.title_zh, test.title_en, new.get(test.key, 0), counts.get(test.key, 0))
        for test in selection.tests
    ]
    statuses = [status for _pid, status in people]
    return SelectionDigest(
        tests_ahead,
        results,
        sum(status in POOL for status in statuses),
        statuses.count(PersonStatus.SELECTED),
        statuses.count(PersonStatus.NOT_SELECTED),
        selection.places,
    )
