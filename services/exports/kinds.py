"""Which exports exist, and who asked for one (the audit trail of every export)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from liaison.services.audit import record
from liaison.services.authorization import require_organizer
from liaison.services.exports.errors import UnknownProgramme
from liaison.services.people import Actor
from liaison.storage.database import Database
from liaison.storage.models import Programme


class ExportKind(StrEnum):
    """Stable codes: they travel in buttons and outbox payloads."""

    WORKBOOK = "workbook"
    FILES = "files"
    CALENDAR = "calendar"
    REPORT = "report"  # the results report (DOCX)


async def authorize_export(db: Database, actor: Actor, kind: ExportKind) -> None:
    """Only an organizer exports the cohort's records (a calendar of one's own is /calendar)."""
    require_organizer(actor)
    async with db.read() as session:
        if await session.get(Programme, actor.programme_id) is None:
            raise UnknownProgramme(actor.programme_id)


async def record_export(
    db: Database,
    programme_id: str,
    kind: ExportKind,
    now: datetime,
    *,
    actor: Actor | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Writes the audit event of one export: who (None: the server's command line), what."""
    async with db.transaction() as session:
        await record(
            session,
            f"export.{kind.value}",
            programme_id=programme_id,
            actor_person_id=actor.person_id if actor else None,
            details={"via": "bot" if actor else "cli", **(details or {})},
            at=now,
        )
