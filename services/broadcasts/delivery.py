"""A broadcast on its way: counts from its outbox rows, progress for the author, the final
report, acknowledgements, and the list /broadcasts shows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from liaison.services.audit import record
from liaison.services.authorization import require_organizer
from liaison.services.broadcasts.errors import NotARecipient
from liaison.services.outbox.payloads import BroadcastPayload
from liaison.services.outbox.queue import Planned, enqueue
from liaison.services.people import Actor
from liaison.storage.database import Database
from liaison.storage.enums import BroadcastState, MediaKind, OutboxKind, OutboxState
from liaison.storage.models import Broadcast, BroadcastRecipient, OutboxMessage, Person

LISTED = 5


@dataclass
class Delivery:
    """Where a confirmed broadcast stands, from its recipients and their outbox rows."""

    broadcast_id: int
    author_id: int | None
    text: str
    file_id: str | None
    file_kind: MediaKind | None
    file_name: str | None
    ask_ack: bool
    state: BroadcastState
    status_message_id: int | None
    confirmed_at: datetime | None
    total: int = 0
    sent: int = 0
    failed: int = 0
    unreachable: list[str] = field(default_factory=list)
    acknowledged: list[str] = field(default_factory=list)
    waiting_ack: list[str] = field(default_factory=list)

    @property
    def finished(self) -> int:
        return self.sent + self.failed + len(self.unreachable)

    @property
    def done(self) -> bool:
        return self.finished >= self.total


async def delivery(db: Database, broadcast_id: int, *, counts: bool = True) -> Delivery | None:
    """The broadcast with its counts (or, for each recipient's message, without them)."""
    async with db.read() as session:
        broadcast = await session.get(Broadcast, broadcast_id)
        if broadcast is None:
            return None
        found = Delivery(
            broadcast.id,
            broadcast.author_id,
            broadcast.text,
            broadcast.file_id,
            broadcast.file_kind,
            broadcast.file_name,
            broadcast.ask_ack,
            broadcast.state,
            broadcast.status_message_id,
            broadcast.confirmed_at,
        )
        if not counts:
            return found
        rows = (
            await session.execute(
                select(BroadcastRecipient, Person)
                .join(Person, Person.id == BroadcastRecipient.person_id)
                .where(BroadcastRecipient.broadcast_id == broadcast_id)
                .order_by(Person.id)
            )
        ).all()
        states = {
            key: state
            for key, state in (
                await session.execute(
                    select(OutboxMessage.unique_key, OutboxMessage.state).where(
                        OutboxMessage.unique_key.like(f"broadcast:{broadcast_id}:%"),
                        OutboxMessage.kind == OutboxKind.BROADCAST,
                    )
                )
            ).all()
        }
        for recipient, person in rows:
            found.total += 1
            state = states.get(f"broadcast:{broadcast_id}:{person.id}")
            if state is None or state is OutboxState.UNREACHABLE:
                found.unreachable.append(person.name)  # never reachable, or blocked the bot
            elif state is OutboxState.SENT:
                found.sent += 1
            elif state in (OutboxState.FAILED, OutboxState.EXPIRED, OutboxState.SKIPPED):
                found.failed += 1
            if recipient.acknowledged_at is not None:
                found.acknowledged.append(person.name)
            elif state is OutboxState.SENT:
                found.waiting_ack.append(person.name)
        return found


async def plan_progress(db: Database, now: datetime) -> int:
    """For each broadcast going out: a progress edit when its count moved, and at the end
    the report. Keys carry the count, so a tick run twice plans each edit once."""
    async with db.read() as session:
        sending = list(
            await session.scalars(
                select(Broadcast.id).where(Broadcast.state == BroadcastState.SENDING)
            )
        )
    planned = 0
    for broadcast_id in sending:
        found = await delivery(db, broadcast_id)
        if found is None or found.author_id is None:
            continue
        async with db.transaction() as session:
            if found.status_message_id is not None and found.finished:
                planned += await enqueue(
                    session,
                    Planned(
                        f"broadcast:{broadcast_id}:progress:{found.finished}",
                        found.author_id,
                        OutboxKind.BROADCAST_PROGRESS,
                        BroadcastPayload(broadcast_id=broadcast_id),
                        now,
                    ),
                )
            if found.done:
                broadcast = await session.get_one(Broadcast, broadcast_id, with_for_update=True)
                broadcast.state, broadcast.finished_at = BroadcastState.DONE, now
                planned += await enqueue(
                    session,
                    Planned(
                        f"broadcast:{broadcast_id}:report",
                        found.author_id,
                        OutboxKind.BROADCAST_REPORT,
                        BroadcastPayload(broadcast_id=broadcast_id),
                        now,
                    ),
                )
                await record(
                    session,
                    "broadcast.finished",
                    actor_person_id=found.author_id,
                    details={
                        "broadcast_id": broadcast_id,
                        "sent": found.sent,
                        "unreachable": len(found.unreachable),
                        "failed": found.failed,
                    },
                    at=now,
                )
    return planned


async def acknowledge(db: Database, actor: Actor, broadcast_id: int, now: datetime) -> bool:
    """ "Got it": recorded once per recipient; True the first time."""
    async with db.transaction() as session:
        recipient = await session.scalar(
            select(BroadcastRecipient)
            .where(
                BroadcastRecipient.broadcast_id == broadcast_id,
                BroadcastRecipient.person_id == actor.person_id,
            )
            .with_for_update()
        )
        broadcast = await session.get(Broadcast, broadcast_id)
        if recipient is None or broadcast is None or not broadcast.ask_ack:
            raise NotARecipient()
        if recipient.acknowledged_at is not None:
            return False
        recipient.acknowledged_at = now
        await record(
            session,
            "broadcast.acknowledged",
            programme_id=actor.programme_id,
            actor_person_id=actor.person_id,
            details={"broadcast_id": broadcast_id},
            at=now,
        )
        return True


async def recent(db: Database, actor: Actor) -> list[Delivery]:
    """The programme's latest confirmed broadcasts, newest first, for /broadcasts."""
    require_organizer(actor)
    async with db.read() as session:
        ids = list(
            await session.scalars(
                select(Broadcast.id)
                .where(
                    Broadcast.programme_id == actor.programme_id,
                    Broadcast.state.in_([BroadcastState.SENDING, BroadcastState.DONE]),
                )
                .order_by(Broadcast.confirmed_at.desc(), Broadcast.id.desc())
                .limit(LISTED)
            )
        )
    found = [await delivery(db, broadcast_id) for broadcast_id in ids]
    return [item for item in found if item is not None]
