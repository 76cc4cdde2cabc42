"""The review queue: the latest version of each piece of work still awaiting review,
oldest first, optionally for one assignment, with who is reviewing which right now."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from liaison.services.authorization import require_organizer
from liaison.services.people import Actor
from liaison.services.reviews.review import CLAIM_TTL
from liaison.services.submissions.extensions import assignment_by_key
from liaison.storage.database import Database
from liaison.storage.enums import ReviewStatus
from liaison.storage.models import Assignment, Person, Review, Submission


@dataclass(frozen=True)
class QueueItem:
    submission_id: int
    person_name: str
    assignment_id: int
    title_zh: str
    title_en: str
    version: int
    submitted_at: datetime
    late: bool
    holder: str | None  # another organizer reviewing it now


@dataclass(frozen=True)
class AssignmentCount:
    id: int
    key: str
    title_zh: str
    title_en: str
    count: int


@dataclass
class ReviewQueue:
    items: list[QueueItem] = field(default_factory=list)
    assignments: list[AssignmentCount] = field(default_factory=list)
    only: AssignmentCount | None = None


async def review_queue(
    db: Database,
    actor: Actor,
    now: datetime,
    *,
    assignment_key: str | None = None,
    assignment_id: int | None = None,
) -> ReviewQueue:
    require_organizer(actor)
    async with db.read() as session:
        only_id = assignment_id
        if assignment_key is not None:
            only_id = (await assignment_by_key(session, actor.programme_id, assignment_key)).id
        rows = (
            await session.execute(
                select(Submission, Assignment, Person)
                .join(Assignment, Assignment.id == Submission.assignment_id)
                .join(Person, Person.id == Submission.person_id)
                .where(Assignment.programme_id == actor.programme_id)
                .order_by(Submission.submitted_at, Submission.id)
            )
        ).all()
        latest: dict[tuple[int, int], int] = {}
        for submission, _, _ in rows:
            key = (submission.assignment_id, submission.person_id)
            latest[key] = max(latest.get(key, 0), submission.version)
        reviews = {
            r.submission_id: r
            for r in await session.scalars(
                select(Review).where(Review.submission_id.in_([s.id for s, _, _ in rows]))
            )
        }
        names = {
            p.id: p.name
            for p in await session.scalars(
                select(Person).where(Person.programme_id == actor.programme_id)
            )
        }
        queue = ReviewQueue()
        counts: dict[int, AssignmentCount] = {}
        for submission, assignment, person in rows:
            if submission.review_status is not ReviewStatus.PENDING:
                continue
            if latest[(submission.assignment_id, submission.person_id)] != submission.version:
                continue
            found = counts.get(assignment.id)
            counts[assignment.id] = AssignmentCount(
                assignment.id,
                assignment.key,
                assignment.title_zh,
                assignment.title_en,
                (found.count if found else 0) + 1,
            )
            if only_id is not None and assignment.id != only_id:
                continue
            review = reviews.get(submission.id)
            holder = None
            if (
                review is not None
                and review.reviewer_id not in (None, actor.person_id)
                and review.claimed_at is not None
                and now - review.claimed_at < CLAIM_TTL
            ):
                holder = names.get(review.reviewer_id or 0, "?")
            queue.items.append(
                QueueItem(
                    submission.id,
                    person.name,
                    assignment.id,
                    assignment.title_zh,
                    assignment.title_en,
                    submission.version,
                    submission.submitted_at,
                    submission.is_late,
                    holder,
                )
            )
        queue.assignments = list(counts.values())
        if only_id is not None:
            chosen = await session.get(Assignment, only_id)
            if chosen is not None and chosen.programme_id == actor.programme_id:
                queue.only = counts.get(only_id) or AssignmentCount(
                    chosen.id, chosen.key, chosen.title_zh, chosen.title_en, 0
                )
        return queue
