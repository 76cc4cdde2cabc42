"""The selection in figures, for the results report and the workbook.

"Shortlisted" counts everyone who reached the final round: shortlisted now, or decided
since (a decision is made among the shortlisted).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from liaison.services.programmes.settings import settings_of
from liaison.storage.database import Database
from liaison.storage.enums import PersonStatus, Role
from liaison.storage.models import Person, Programme, TestResult

REACHED_THE_SHORTLIST = (
    PersonStatus.SHORTLISTED,
    PersonStatus.SELECTED,
    PersonStatus.NOT_SELECTED,
    PersonStatus.ACTIVE,
    PersonStatus.RETURNED,
)
CHOSEN = (PersonStatus.SELECTED, PersonStatus.ACTIVE, PersonStatus.RETURNED)


@dataclass(frozen=True)
class SelectionFigures:
    candidates: int
    tested: int
    shortlisted: int
    selected: int
    not_selected: int
    withdrawn: int
    places: int | None


async def selection_figures(db: Database, programme_id: str) -> SelectionFigures:
    async with db.read() as session:
        programme = await session.get_one(Programme, programme_id)
        people = (
            await session.execute(
                select(Person.id, Person.status).where(
                    Person.programme_id == programme_id, Person.role == Role.CADRE
                )
            )
        ).all()
        tested = set(
            await session.scalars(
                select(TestResult.person_id).where(
                    TestResult.person_id.in_([pid for pid, _status in people])
                )
            )
        )
    statuses = [status for _pid, status in people]
    return SelectionFigures(
        candidates=len(statuses),
        tested=len(tested),
        shortlisted=sum(s in REACHED_THE_SHORTLIST for s in statuses),
        selected=sum(s in CHOSEN for s in statuses),
        not_selected=statuses.count(PersonStatus.NOT_SELECTED),
        withdrawn=statuses.count(PersonStatus.WITHDRAWN),
        places=settings_of(programme).selection.places,
    )
