"""Planning e-mail: the daily digest for every organizer and observer with an address."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from liaison.services.outbox.payloads import DigestPayload
from liaison.services.outbox.queue import Planned, enqueue
from liaison.services.programmes.settings import settings_of
from liaison.services.timezones import zone
from liaison.storage.database import Database
from liaison.storage.enums import OutboxKind, Role
from liaison.storage.models import Person, Programme

# A digest e-mail still worth reading a day late (the mail server was down overnight);
# after this it is dropped as expired and the next day's digest takes its place.
EMAIL_DIGEST_VALID_FOR = timedelta(hours=36)


async def plan_email_digests(db: Database, now: datetime) -> int:
    """Plans today's digest e-mail once its time has come; a unique key per reader and day.

    Unlike Telegram, e-mail reaches people who never enrolled with the bot: the address
    on the roster is enough.
    """
    planned = 0
    async with db.transaction() as session:
        for programme in list(await session.scalars(select(Programme))):
            settings = settings_of(programme).digest
            zone_name = settings.timezone or programme.home_timezone
            today = now.astimezone(zone(zone_name)).date()
            instant = datetime.combine(today, settings.at, tzinfo=zone(zone_name))
            if now < instant or now > instant + EMAIL_DIGEST_VALID_FOR:
                continue
            readers = await session.scalars(
                select(Person)
                .where(
                    Person.programme_id == programme.id,
                    Person.role.in_((Role.ORGANIZER, Role.OBSERVER)),
                    Person.email.is_not(None),
                )
                .order_by(Person.id)
            )
            for reader in readers:
                planned += await enqueue(
                    session,
                    Planned(
                        f"email-digest:{programme.id}:{today.isoformat()}:{reader.id}",
                        reader.id,
                        OutboxKind.EMAIL_DIGEST,
                        DigestPayload(programme_id=programme.id, until=instant),
                        instant,
                        instant + EMAIL_DIGEST_VALID_FOR,
                    ),
                )
    return planned
