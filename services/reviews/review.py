"""Reviewing one submission: claim it, score it, give feedback, decide.

Every step re-takes the claim in the database (a row lock on the review), so two
organizers never review one submission at once; a claim untouched for CLAIM_TTL is free
again, so a review left half-done does not block the queue. A decision tells the cadre
at once through the outbox; a revision request sets a new due time for that cadre (an
extension), which reopens the assignment and its reminders.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from liaison.services.audit import record
from liaison.services.authorization import require_organizer
from liaison.services.cohort import local_day
from liaison.services.files.archive import Incoming, archive_changes
from liaison.services.outbox.payloads import ReviewPayload
from liaison.services.outbox.queue import Planned, enqueue
from liaison.services.people import Actor
from liaison.services.reviews.errors import (
    NoSuchSubmission,
    ReviewDecided,
    ReviewTaken,
    RevisionDueInPast,
    RubricIncomplete,
    ScoreOutOfRange,
)
from liaison.services.reviews.rubric import Criterion, rubric_of, weighted_score
from liaison.services.submissions.assignments import archive_dir
from liaison.services.submissions.extensions import extended_due, set_extension
from liaison.storage.database import Database
from liaison.storage.enums import (
    AssignmentKind,
    MediaKind,
    OutboxKind,
    ReviewDecision,
    ReviewStatus,
)
from liaison.storage.models import Assignment, Person, Review, StoredFile, Submission
from liaison.storage.queries import upsert_insert

CLAIM_TTL = timedelta(hours=1)


@dataclass(frozen=True)
class FileRef:
    id: int
    telegram_file_id: str
    name: str
    kind: MediaKind


@dataclass(frozen=True)
class ReviewView:
    """A submission under review, as the reviewer sees it."""

    review_id: int
    submission_id: int
    person_id: int
    person_name: str
    assignment_key: str
    assignment_kind: AssignmentKind
    title_zh: str
    title_en: str
    assignment_timezone: str
    due_at: datetime
    version: int
    submitted_at: datetime
    late: bool
    paper_title: str | None
    abstract: str | None
    text: str | None
    files: list[FileRef]
    criteria: list[Criterion]
    scores: dict[str, int]
    feedback: str | None
    has_voice_feedback: bool
    decision: ReviewDecision | None
    revision_due_at: datetime | None

    @property
    def score(self) -> float | None:
        return weighted_score(self.criteria, self.scores)

    @property
    def next_criterion(self) -> int | None:
        """The first criterion still without points, if any."""
        return next((i for i, c in enumerate(self.criteria) if c.key not in self.scores), None)


def media_kind(stored: StoredFile) -> MediaKind:
    """How Telegram must be asked to send this file again: a photo's file_id is refused as
    a document's. Photos and voice notes are named so by the intake (photo.jpg, voice)."""
    name = (stored.original_name or "").lower()
    mime = (stored.mime_type or "").lower()
    if name.startswith("photo.") and mime.startswith("image/"):
        return MediaKind.PHOTO
    if mime.startswith("audio/ogg") and (not stored.original_name or name.startswith("photo.")):
        return MediaKind.VOICE
    return MediaKind.DOCUMENT


async def _view(session: AsyncSession, review: Review) -> ReviewView:
    submission = await session.get_one(Submission, review.submission_id)
    assignment = await session.get_one(Assignment, submission.assignment_id)
    person = await session.get_one(Person, submission.person_id)
    files = [
        FileRef(f.id, f.telegram_file_id, f.original_name or "file", media_kind(f))
        for f in await session.scalars(
            select(StoredFile)
            .where(StoredFile.submission_id == submission.id)
            .order_by(StoredFile.id)
        )
    ]
    return ReviewView(
        review.id,
        submission.id,
        person.id,
        person.name,
        assignment.key,
        assignment.kind,
        assignment.title_zh,
        assignment.title_en,
        assignment.timezone,
        assignment.due_at,
        submission.version,
        submission.submitted_at,
        submission.is_late,
        submission.title,
        submission.abstract,
        submission.text,
        files,
        rubric_of(assignment.rubric),
        dict(review.scores or {}),
        review.feedback,
        review.feedback_file_id is not None,
        review.decision,
        review.revision_due_at,
    )


async def _hold(session: AsyncSession, actor: Actor, submission_id: int, now: datetime) -> Review:
    """Takes (or keeps) the claim on a submission's review for this organizer, locked."""
    require_organizer(actor)
    submission = await session.get(Submission, submission_id)
    if submission is None:
        raise NoSuchSubmission()
    assignment = await session.get_one(Assignment, submission.assignment_id)
    if assignment.programme_id != actor.programme_id:
        raise NoSuchSubmission()
    latest = await session.scalar(
        select(func.max(Submission.version)).where(
            Submission.assignment_id == submission.assignment_id,
            Submission.person_id == submission.person_id,
        )
    )
    if submission.version != latest or submission.review_status is not ReviewStatus.PENDING:
        raise ReviewDecided()
    await session.execute(
        upsert_insert(session.bind.dialect.name, Review)
        .values(submission_id=submission_id, scores={}, created_at=now)
        .on_conflict_do_nothing(index_elements=["submission_id"])
    )
    review = await session.scalar(
        select(Review).where(Review.submission_id == submission_id).with_for_update()
    )
    assert review is not None
    if review.decided_at is not None:
        raise ReviewDecided()
    held_by_other = review.reviewer_id not in (None, actor.person_id)
    if held_by_other and review.claimed_at is not None and now - review.claimed_at < CLAIM_TTL:
        holder = await session.get(Person, review.reviewer_id)
        raise ReviewTaken(holder.name if holder else "?")
    review.reviewer_id, review.claimed_at = actor.person_id, now
    return review


async def _awaiting(session: AsyncSession, actor: Actor, value: dict[str, object] | None) -> None:
    organizer = await session.get_one(Person, actor.person_id)
    organizer.awaiting = value


async def claim(db: Database, actor: Actor, submission_id: int, now: datetime) -> ReviewView:
    """Opens a submission for review; the organizer's next text or voice is its feedback."""
    async with db.transaction() as session:
        review = await _hold(session, actor, submission_id, now)
        await _awaiting(session, actor, {"review": submission_id})
        await record(
            session,
            "review.claimed",
            programme_id=actor.programme_id,
            actor_person_id=actor.person_id,
            details={"submission_id": submission_id},
            at=now,
        )
        await session.flush()
        return await _view(session, review)


async def view(db: Database, actor: Actor, submission_id: int, now: datetime) -> ReviewView:
    """The review as it stands, for the organizer holding it."""
    async with db.transaction() as session:
        return await _view(session, await _hold(session, actor, submission_id, now))


async def score(
    db: Database, actor: Actor, submission_id: int, criterion: int, points: int, now: datetime
) -> ReviewView:
    """Gives one criterion its points; anything off the rubric's scale is refused."""
    async with db.transaction() as session:
        review = await _hold(session, actor, submission_id, now)
        submission = await session.get_one(Submission, submission_id)
        criteria = rubric_of((await session.get_one(Assignment, submission.assignment_id)).rubric)
        if not 0 <= criterion < len(criteria) or not 1 <= points <= criteria[criterion].scale:
            raise ScoreOutOfRange()
        review.scores = {**(review.scores or {}), criteria[criterion].key: points}
        await session.flush()
        return await _view(session, review)


async def set_feedback(
    db: Database,
    data_dir: Path,
    actor: Actor,
    submission_id: int,
    now: datetime,
    *,
    text: str | None = None,
    voice: Incoming | None = None,
) -> ReviewView:
    """Feedback as text or a voice note (archived); a new one replaces the earlier one."""
    async with archive_changes(data_dir) as files, db.transaction() as session:
        review = await _hold(session, actor, submission_id, now)
        if voice is not None:
            submission = await session.get_one(Submission, submission_id)
            assignment = await session.get_one(Assignment, submission.assignment_id)
            stored = await files.store(
                session,
                relative_dir=archive_dir(
                    assignment.programme_id,
                    submission.person_id,
                    assignment.key,
                    f"v{submission.version}",
                )
                / "review",
                stem="feedback",
                extension="ogg",
                incoming=voice,
                person_id=actor.person_id,
                now=now,
            )
            review.feedback_file_id = stored.id
        if text is not None:
            review.feedback = text.strip()
        await session.flush()
        return await _view(session, review)


@dataclass(frozen=True)
class Decided:
    view: ReviewView
    told: bool


@dataclass(frozen=True)
class RevisionDue:
    """A new due time as typed (a local date, perhaps a time, in the assignment's zone) or
    chosen (so many days from today there, at the assignment's usual time of day)."""

    day: date | None = None
    at: time | None = None
    in_days: int | None = None

    def instant(self, assignment: Assignment, now: datetime) -> datetime:
        day = self.day or local_day(now, assignment.timezone) + timedelta(days=self.in_days or 0)
        return extended_due(assignment, day, self.at)


async def decide(
    db: Database,
    actor: Actor,
    submission_id: int,
    decision: ReviewDecision,
    now: datetime,
    revision: RevisionDue | None = None,
) -> Decided:
    """Accepts (every criterion scored) or asks for a revision by a new due time; the
    cadre hears of it at once, in their language."""
    async with db.transaction() as session:
        review = await _hold(session, actor, submission_id, now)
        submission = await session.get_one(Submission, submission_id)
        assignment = await session.get_one(Assignment, submission.assignment_id)
        revision_due = revision.instant(assignment, now) if revision else None
        criteria = rubric_of(assignment.rubric)
        total = weighted_score(criteria, dict(review.scores or {}))
        if decision is ReviewDecision.ACCEPTED:
            if criteria and total is None:
                raise RubricIncomplete()
            submission.review_status = ReviewStatus.REVIEWED
        else:
            if revision_due is None or revision_due <= now:
                raise RevisionDueInPast()
            submission.review_status = ReviewStatus.RETURNED
            review.revision_due_at = revision_due
            await set_extension(session, assignment, submission.person_id, revision_due)
        submission.score = total
        submission.feedback = review.feedback
        submission.reviewed_by_id, submission.reviewed_at = actor.person_id, now
        review.decision, review.decided_at = decision, now
        await _awaiting(session, actor, None)
        await record(
            session,
            "review.decided",
            programme_id=actor.programme_id,
            actor_person_id=actor.person_id,
            details={
                "submission_id": submission_id,
                "decision": decision.value,
                "score": total,
                "revision_due": revision_due.isoformat() if revision_due else None,
            },
            at=now,
        )
        told = await enqueue(
            session,
            Planned(
                f"review:{review.id}:outcome",
                submission.person_id,
                OutboxKind.REVIEW_OUTCOME,
                ReviewPayload(review_id=review.id),
                now,
            ),
        )
        await session.flush()
        return Decided(await _view(session, review), told)


async def release(db: Database, actor: Actor, submission_id: int, now: datetime) -> None:
    """Lets go of a review without deciding: another organizer may take it at once."""
    async with db.transaction() as session:
        review = await _hold(session, actor, submission_id, now)
        review.reviewer_id, review.claimed_at = None, None
        await _awaiting(session, actor, None)


@dataclass(frozen=True)
class Outcome:
    """What the cadre is told: the decision, the score per criterion, the feedback."""

    view: ReviewView
    voice_file_id: str | None


async def outcome(db: Database, review_id: int) -> Outcome | None:
    async with db.read() as session:
        review = await session.get(Review, review_id)
        if review is None or review.decided_at is None:
            return None
        voice = None
        if review.feedback_file_id is not None:
            stored = await session.get(StoredFile, review.feedback_file_id)
            voice = stored.telegram_file_id if stored else None
        return Outcome(await _view(session, review), voice)
