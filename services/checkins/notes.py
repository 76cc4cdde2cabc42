"""Organizers' notes of the real call, kept against the check-in that prompted it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from liaison.services.audit import record
from liaison.services.authorization import require_organizer
from liaison.services.checkins.conversation import NotYourRun
from liaison.services.people import Actor
from liaison.storage.database import Database
from liaison.storage.models import Person, SurveyRun


async def _programme_run(
    session: AsyncSession, actor: Actor, run_id: int, *, lock: bool = False
) -> tuple[SurveyRun, Person]:
    """A run of a cadre of the organizer's own programme; any other is NotYourRun."""
    require_organizer(actor)
    run = await session.get(SurveyRun, run_id, with_for_update=lock)
    if run is None:
        raise NotYourRun()
    cadre = await session.get_one(Person, run.person_id)
    if cadre.programme_id != actor.programme_id:
        raise NotYourRun()
    return run, cadre


async def expect_note(db: Database, actor: Actor, run_id: int) -> str:
    """/note_RUN: the organizer's next text becomes the notes; returns the cadre's name.

    A run that does not exist, or is not in the organizer's programme, is refused at once
    so the organizer is never left waiting for a prompt that cannot be kept.
    """
    async with db.transaction() as session:
        _, cadre = await _programme_run(session, actor, run_id)
        organizer = await session.get_one(Person, actor.person_id)
        organizer.awaiting = {"note_run": run_id}
        return cadre.name


async def add_note(db: Database, actor: Actor, run_id: int, text: str, now: datetime) -> str:
    """Stores the notes against the run; returns the cadre's name."""
    async with db.transaction() as session:
        run, cadre = await _programme_run(session, actor, run_id, lock=True)
        entry = f"[{now:%Y-%m-%d %H:%M} UTC] {actor.name}: {text}"
        run.notes = f"{run.notes}\n{entry}" if run.notes else entry
        organizer = await session.get_one(Person, actor.person_id)
        organizer.awaiting = None
        await record(
            session,
            "checkin.note",
            programme_id=cadre.programme_id,
            actor_person_id=actor.person_id,
            details={"run_id": run_id, "length": len(text)},
            at=now,
        )
        return cadre.name
