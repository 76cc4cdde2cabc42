"""An organizer asks for an export by e-mail: checked, audited, queued in one transaction."""

from __future__ import annotations

from datetime import datetime, timedelta

from liaison.services.audit import record
from liaison.services.authorization import require_organizer
from liaison.services.exports.kinds import ExportKind
from liaison.services.mail.errors import MailDisabled, NoEmailAddress
from liaison.services.outbox.payloads import EmailExportPayload
from liaison.services.outbox.queue import Planned, enqueue
from liaison.services.people import Actor
from liaison.storage.database import Database
from liaison.storage.enums import OutboxKind
from liaison.storage.models import Person

# An export e-mail the server could not take within a day is dropped; ask again.
EXPORT_EMAIL_VALID_FOR = timedelta(days=1)


async def email_address(db: Database, person_id: int) -> str | None:
    async with db.read() as session:
        person = await session.get(Person, person_id)
        return person.email if person is not None else None


async def request_export_email(
    db: Database, actor: Actor, kind: ExportKind, now: datetime, *, mail_enabled: bool
) -> str:
    """Queues the export for the actor's own address; returns that address."""
    require_organizer(actor)
    if not mail_enabled:
        raise MailDisabled()
    async with db.transaction() as session:
        person = await session.get_one(Person, actor.person_id)
        if not person.email:
            raise NoEmailAddress()
        await enqueue(
            session,
            Planned(
                f"email-export:{actor.person_id}:{kind.value}:{now:%Y%m%d%H%M%S%f}",
                actor.person_id,
                OutboxKind.EMAIL_EXPORT,
                EmailExportPayload(
                    programme_id=actor.programme_id, export=kind.value, locale=actor.locale
                ),
                now,
                now + EXPORT_EMAIL_VALID_FOR,
            ),
        )
        await record(
            session,
            "export.email_requested",
            programme_id=actor.programme_id,
            actor_person_id=actor.person_id,
            details={"export": kind.value, "to": person.email},
            at=now,
        )
        return person.email
