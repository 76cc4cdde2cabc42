"""Organizers' notes of the real call, kept against the check-in that prompted it."""

from __future__ import annotations

from datetime import datetime

from liaison.services.audit import record
from liaison.services.authorization import require_organizer
from liaison.services.checkins.conversation import NotYourRun
from liaison.services.people import Actor
from liaison.storage.database import Database
from liaison.storage.models import Person, SurveyRun


async def add_note(db: Database, actor: Actor, run_id: int, text: str, now: datetime) -> str:
    """Stores the notes against the run; returns the cadre's name."""
    require_organizer(actor)
    async with db.transaction() as session:
        run = await session.get(SurveyRun, run_id, with_for_update=True)
        if run is None:
            raise NotYourRun()
        cadre = await session.get_one(Person, run.person_id)
        if cadre.programme_id != actor.programme_id:
            raise NotYourRun()
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
