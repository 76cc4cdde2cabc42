"""The organizers' use cases on both databases: claims race, the digest and the cohort read
the same rows on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from liaison.services.checkins.planning import plan_checkins
from liaison.services.cohort import cohort_overview
from liaison.services.digest import build_digest
from liaison.services.people import Actor, actor_by_id
from liaison.services.reviews import review as reviews
from liaison.services.reviews.errors import ReviewTaken
from liaison.storage.database import Database
from liaison.storage.enums import ReviewStatus, Role
from liaison.storage.models import Assignment, Person, Review, Submission
from tests.conftest import PROGRAMME_ID, seed

FRIDAY_SLOT = datetime(2026, 10, 31, 0, 0, tzinfo=UTC)


async def enrolled(db: Database) -> dict[str, Actor]:
    async with db.transaction() as session:
        people = list(await session.scalars(select(Person).order_by(Person.id)))
        for index, person in enumerate(people):
            person.telegram_user_id = person.telegram_chat_id = 9000 + index
            person.enrolled_at = FRIDAY_SLOT - timedelta(days=20)
    actors = {}
    for person in people:
        actor = await actor_by_id(db, person.id)
        assert actor is not None
        actors[person.name] = actor
    return actors


async def test_two_organizers_claiming_at_once_get_one_review(db: Database) -> None:
    await seed(db)
    actors = await enrolled(db)
    async with db.transaction() as session:
        assignment = await session.scalar(select(Assignment).where(Assignment.key == "stage-1"))
        assert assignment is not None
        submission = Submission(
            assignment_id=assignment.id,
            person_id=actors["张伟"].person_id,
            version=1,
            text="报告",
            submitted_at=FRIDAY_SLOT,
            is_late=False,
            review_status=ReviewStatus.PENDING,
        )
        session.add(submission)
        await session.flush()
        sid = submission.id
    results = await asyncio.gather(
        reviews.claim(db, actors["陈组织"], sid, FRIDAY_SLOT),
        reviews.claim(db, actors["Organizer Liu"], sid, FRIDAY_SLOT),
        return_exceptions=True,
    )
    taken = [r for r in results if isinstance(r, ReviewTaken)]
    won = [r for r in results if isinstance(r, reviews.ReviewView)]
    assert len(taken) == 1 and len(won) == 1
    async with db.read() as session:
        (review,) = list(await session.scalars(select(Review)))
    holders = {actors["陈组织"].person_id, actors["Organizer Liu"].person_id}
    assert review.reviewer_id in holders
    # An hour later an untouched claim is free again.
    later = FRIDAY_SLOT + reviews.CLAIM_TTL + timedelta(minutes=1)
    other = next(
        a for a in actors.values() if a.role is Role.ORGANIZER and a.person_id != review.reviewer_id
    )
    view = await reviews.claim(db, other, sid, later)
    assert view.submission_id == sid


@pytest.mark.parametrize("hours", [0, 21])
async def test_digest_and_cohort_read_the_planned_runs(db: Database, hours: int) -> None:
    await seed(db)
    actors = await enrolled(db)
    await plan_checkins(db, FRIDAY_SLOT)
    await plan_checkins(db, FRIDAY_SLOT + timedelta(hours=hours))
    # Sunday 08:00 in Beijing covers the cadres' Friday.
    digest = await build_digest(db, PROGRAMME_ID, datetime(2026, 11, 1, 0, 0, tzinfo=UTC))
    assert (digest.due, digest.answered, digest.cadres) == (3, 0, 3)
    assert len(digest.escalations) == (3 if hours else 0)
    standings = await cohort_overview(db, actors["赵观察"], FRIDAY_SLOT + timedelta(hours=22))
    assert [s.name for s in standings if s.escalated] == (
        ["张伟", "李娜", "Wang Fang"] if hours else []
    )
