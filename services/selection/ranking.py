"""The ranking of candidates: by one test, or by the default order of docs/selection.md.

The default puts levelled tests first (the BFT, taken last, in declared order), then the
best score among the scored tests, each read as a share of its range: the two batches of
the English test rank together, whichever batch a candidate sat.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from liaison.services.audience import COHORT, POOL
from liaison.services.authorization import require_staff
from liaison.services.people import Actor
from liaison.services.programmes.settings import SelectionSettings, TestSettings, settings_of
from liaison.services.selection.results import ResultView, results_by_person
from liaison.services.selection.values import find_test
from liaison.storage.database import Database
from liaison.storage.enums import PersonStatus, Role
from liaison.storage.models import Person, Programme

MISSING = -1.0


@dataclass(frozen=True)
class Candidate:
    person_id: int
    name: str
    unit: str | None
    position: str | None
    status: PersonStatus
    results: list[ResultView]

    def result(self, test_key: str) -> ResultView | None:
        return next((r for r in self.results if r.test_key == test_key), None)


@dataclass(frozen=True)
class Ranking:
    """Candidates best first; ``test`` is the one it is sorted by, None for the default."""

    test: TestSettings | None
    tests: list[TestSettings]
    places: int | None
    candidates: list[Candidate]

    @property
    def selected(self) -> int:
        """Chosen, whether still 'selected' or since in the programme or back from it."""
        return sum(c.status in COHORT or c.status is PersonStatus.RETURNED for c in self.candidates)

    @property
    def not_selected(self) -> int:
        return sum(c.status is PersonStatus.NOT_SELECTED for c in self.candidates)

    @property
    def undecided(self) -> int:
        return sum(c.status in POOL for c in self.candidates)


def _share(test: TestSettings, value: float) -> float:
    assert test.low is not None and test.high is not None
    return (value - test.low) / (test.high - test.low)


def rank_key(candidate: Candidate, selection: SelectionSettings) -> tuple[float, ...]:
    """Higher is better: each levelled test's position, then the best share of a range."""
    levelled = []
    scores = []
    for test in selection.tests:
        result = candidate.result(test.key)
        if test.is_levelled:
            levelled.append(result.rank_value if result else MISSING)
        elif result is not None:
            scores.append(_share(test, result.rank_value))
    return (*levelled, max(scores, default=MISSING))


def _by_test(candidate: Candidate, test: TestSettings) -> tuple[float, ...]:
    result = candidate.result(test.key)
    return (result.rank_value if result else MISSING,)


async def ranked(session: AsyncSession, programme_id: str, test_key: str | None = None) -> Ranking:
    """Every cadre of the programme (each with their status), best first."""
    programme = await session.get_one(Programme, programme_id)
    selection = settings_of(programme).selection
    test = find_test(selection, test_key) if test_key else None
    people = list(
        await session.scalars(
            select(Person).where(Person.programme_id == programme_id, Person.role == Role.CADRE)
        )
    )
    results = await results_by_person(session, programme_id, [p.id for p in people])
    candidates = [
        Candidate(p.id, p.name, p.unit, p.position, p.status, results[p.id]) for p in people
    ]
    # Stable sorts: by name, then the default order, then the test asked for; so ties
    # under one test keep the default order, and equal ranks read alphabetically.
    candidates.sort(key=lambda c: c.name)
    candidates.sort(key=lambda c: rank_key(c, selection), reverse=True)
    if test is not None:
        candidates.sort(key=lambda c: _by_test(c, test), reverse=True)
    return Ranking(test, list(selection.tests), selection.places, candidates)


async def candidates_ranked(db: Database, actor: Actor, test_key: str | None = None) -> Ranking:
    """/candidates [TEST]: organizers and observers read it; cadres may not."""
    require_staff(actor)
    async with db.read() as session:
        return await ranked(session, actor.programme_id, test_key)
