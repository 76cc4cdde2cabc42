"""Writing a broadcast: audience, text and an optional file, a preview, then Confirm.

The draft is a row (state draft), so a restart between two steps loses nothing. Confirm
writes one recipient row and one outbox row per reachable person in one transaction; the
outbox sends them below check-in prompts in priority.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from liaison.services.audit import record
from liaison.services.authorization import require_organizer
from liaison.services.broadcasts.errors import (
    EmptyAudience,
    EmptyBroadcast,
    NoSuchBroadcast,
    UnknownNames,
)
from liaison.services.cohort import cohort_people, local_day, phases_of, zone_of
from liaison.services.outbox.payloads import BroadcastPayload
from liaison.services.outbox.queue import Planned, enqueue
from liaison.services.people import Actor
from liaison.storage.database import Database
from liaison.storage.enums import AudienceKind, BroadcastState, MediaKind, OutboxKind, Role
from liaison.storage.models import Broadcast, BroadcastRecipient, Person, Phase, Programme


@dataclass(frozen=True)
class Audience:
    kind: AudienceKind
    value: Any = None  # a phase id, a zone name, or a list of person ids

    def stored(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "value": self.value}

    @classmethod
    def of(cls, stored: dict[str, Any]) -> Audience | None:
        if not stored:
            return None
        return cls(AudienceKind(stored["kind"]), stored.get("value"))


@dataclass(frozen=True)
class Draft:
    """A broadcast as its author sees it before sending."""

    id: int
    audience: Audience | None
    audience_label_zh: str | None  # the phase's title, or a zone, or names
    audience_label_en: str | None
    recipients: int
    unreachable: int
    text: str
    file_kind: MediaKind | None
    file_name: str | None
    ask_ack: bool


async def _recipients(
    session: AsyncSession, programme_id: str, author_id: int, audience: Audience, now: datetime
) -> list[Person]:
    programme = await session.get_one(Programme, programme_id)
    if audience.kind is AudienceKind.STAFF:
        rows = await session.scalars(
            select(Person)
            .where(
                Person.programme_id == programme_id,
                Person.role.in_([Role.ORGANIZER, Role.OBSERVER]),
                Person.id != author_id,
            )
            .order_by(Person.id)
        )
        return list(rows)
    if audience.kind is AudienceKind.PEOPLE:
        ids = [int(i) for i in audience.value or []]
        rows = await session.scalars(
            select(Person)
            .where(Person.programme_id == programme_id, Person.id.in_(ids))
            .order_by(Person.id)
        )
        return list(rows)
    cadres = await cohort_people(session, programme_id)
    if audience.kind is AudienceKind.ZONE:
        return [p for p in cadres if zone_of(p, programme) == audience.value]
    if audience.kind is AudienceKind.PHASE:
        phase = await session.get(Phase, int(audience.value or 0))
        if phase is None or phase.programme_id != programme_id:
            return []
        return [
            p
            for p in cadres
            if phase.starts_on <= local_day(now, zone_of(p, programme)) <= phase.ends_on
        ]
    return cadres


def reachable(person: Person) -> bool:
    return person.telegram_chat_id is not None and person.unreachable_at is None


async def _draft(session: AsyncSession, actor: Actor, broadcast_id: int) -> Broadcast:
    require_organizer(actor)
    broadcast = await session.get(Broadcast, broadcast_id, with_for_update=True)
    if (
        broadcast is None
        or broadcast.author_id != actor.person_id
        or broadcast.state is not BroadcastState.DRAFT
    ):
        raise NoSuchBroadcast()
    return broadcast


async def _leave_draft(
    session: AsyncSession, broadcast: Broadcast, target: BroadcastState, **values: object
) -> None:
    """A draft is sent or cancelled once: one conditional UPDATE from DRAFT; a second tap
    that raced this one finds no draft."""
    result = await session.execute(
        update(Broadcast)
        .where(Broadcast.id == broadcast.id, Broadcast.state == BroadcastState.DRAFT)
        .values(state=target, **values)
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        raise NoSuchBroadcast()
    set_committed_value(broadcast, "state", target)
    for name, value in values.items():
        set_committed_value(broadcast, name, value)


async def _view(session: AsyncSession, broadcast: Broadcast, now: datetime) -> Draft:
    audience = Audience.of(broadcast.audience)
    people: list[Person] = []
    label_zh = label_en = None
    if audience is not None:
        people = await _recipients(
            session, broadcast.programme_id, broadcast.author_id or 0, audience, now
        )
        if audience.kind is AudienceKind.PHASE:
            phase = await session.get(Phase, int(audience.value or 0))
            label_zh, label_en = (phase.title_zh, phase.title_en) if phase else (None, None)
        elif audience.kind is AudienceKind.ZONE:
            label_zh = label_en = str(audience.value)
        elif audience.kind is AudienceKind.PEOPLE:
            label_zh = label_en = "、".join(p.name for p in people)
    return Draft(
        broadcast.id,
        audience,
        label_zh,
        label_en,
        len(people),
        sum(not reachable(p) for p in people),
        broadcast.text,
        broadcast.file_kind,
        broadcast.file_name,
        broadcast.ask_ack,
    )


async def _await(session: AsyncSession, actor: Actor, value: dict[str, object] | None) -> None:
    author = await session.get_one(Person, actor.person_id)
    author.awaiting = value


async def start(db: Database, actor: Actor, now: datetime) -> Draft:
    """A new draft (an earlier unsent one is dropped); the audience comes first."""
    require_organizer(actor)
    async with db.transaction() as session:
        await session.execute(
            update(Broadcast)
            .where(
                Broadcast.author_id == actor.person_id,
                Broadcast.state == BroadcastState.DRAFT,
            )
            .values(state=BroadcastState.CANCELLED)
        )
        broadcast = Broadcast(
            programme_id=actor.programme_id,
            author_id=actor.person_id,
            state=BroadcastState.DRAFT,
            audience={},
            text="",
            ask_ack=False,
            created_at=now,
        )
        session.add(broadcast)
        await session.flush()
        await _await(session, actor, {"broadcast": broadcast.id})
        return await _view(session, broadcast, now)


async def choose_audience(
    db: Database, actor: Actor, broadcast_id: int, audience: Audience, now: datetime
) -> Draft:
    async with db.transaction() as session:
        broadcast = await _draft(session, actor, broadcast_id)
        broadcast.audience = audience.stored()
        await _await(session, actor, {"broadcast": broadcast.id})
        return await _view(session, broadcast, now)


async def name_people(
    db: Database, actor: Actor, broadcast_id: int, text: str, now: datetime
) -> Draft:
    """Named people, separated by commas, 、 or new lines; each must fit exactly one."""
    async with db.transaction() as session:
        broadcast = await _draft(session, actor, broadcast_id)
        people = list(
            await session.scalars(select(Person).where(Person.programme_id == actor.programme_id))
        )
        wanted = [n.strip() for n in text.replace("、", ",").replace("\n", ",").split(",")]
        ids, unknown = [], []
        for name in filter(None, wanted):
            exact = [p for p in people if p.name == name]
            loose = exact or [p for p in people if p.name.lower().startswith(name.lower())]
            if len(loose) == 1:
                ids.append(loose[0].id)
            else:
                unknown.append(name)
        if unknown:
            raise UnknownNames(unknown)
        broadcast.audience = Audience(AudienceKind.PEOPLE, sorted(set(ids))).stored()
        return await _view(session, broadcast, now)


async def set_text(
    db: Database, actor: Actor, broadcast_id: int, text: str, now: datetime
) -> Draft:
    async with db.transaction() as session:
        broadcast = await _draft(session, actor, broadcast_id)
        broadcast.text = text.strip()
        return await _view(session, broadcast, now)


async def set_file(
    db: Database,
    actor: Actor,
    broadcast_id: int,
    file_id: str,
    kind: MediaKind,
    name: str | None,
    caption: str | None,
    now: datetime,
) -> Draft:
    """Attaches a file (sent again by file_id); its caption, if any, becomes the text."""
    async with db.transaction() as session:
        broadcast = await _draft(session, actor, broadcast_id)
        broadcast.file_id, broadcast.file_kind, broadcast.file_name = file_id, kind, name
        if caption:
            broadcast.text = caption.strip()
        return await _view(session, broadcast, now)


async def toggle_ack(db: Database, actor: Actor, broadcast_id: int, now: datetime) -> Draft:
    async with db.transaction() as session:
        broadcast = await _draft(session, actor, broadcast_id)
        broadcast.ask_ack = not broadcast.ask_ack
        return await _view(session, broadcast, now)


async def draft_view(db: Database, actor: Actor, broadcast_id: int, now: datetime) -> Draft:
    async with db.transaction() as session:
        return await _view(session, await _draft(session, actor, broadcast_id), now)


async def cancel(db: Database, actor: Actor, broadcast_id: int) -> None:
    async with db.transaction() as session:
        broadcast = await _draft(session, actor, broadcast_id)
        await _leave_draft(session, broadcast, BroadcastState.CANCELLED)
        await _await(session, actor, None)


async def confirm(
    db: Database,
    actor: Actor,
    broadcast_id: int,
    now: datetime,
    status_chat_id: int | None,
    status_message_id: int | None,
) -> Draft:
    """Sends: a recipient row each, an outbox row each reachable one; a second tap finds no
    draft and changes nothing."""
    async with db.transaction() as session:
        broadcast = await _draft(session, actor, broadcast_id)
        audience = Audience.of(broadcast.audience)
        if not broadcast.text and not broadcast.file_id:
            raise EmptyBroadcast()
        people = (
            await _recipients(session, actor.programme_id, actor.person_id, audience, now)
            if audience
            else []
        )
        if not people:
            raise EmptyAudience()
        view = await _view(session, broadcast, now)
        for person in people:
            session.add(BroadcastRecipient(broadcast_id=broadcast.id, person_id=person.id))
            if reachable(person):
                await enqueue(
                    session,
                    Planned(
                        f"broadcast:{broadcast.id}:{person.id}",
                        person.id,
                        OutboxKind.BROADCAST,
                        BroadcastPayload(broadcast_id=broadcast.id),
                        now,
                    ),
                )
        await _leave_draft(
            session,
            broadcast,
            BroadcastState.SENDING,
            confirmed_at=now,
            status_chat_id=status_chat_id,
            status_message_id=status_message_id,
        )
        await _await(session, actor, None)
        await record(
            session,
            "broadcast.confirmed",
            programme_id=actor.programme_id,
            actor_person_id=actor.person_id,
            details={
                "broadcast_id": broadcast.id,
                "audience": broadcast.audience,
                "recipients": len(people),
                "characters": len(broadcast.text),
                "file": broadcast.file_kind.value if broadcast.file_kind else None,
                "ask_ack": broadcast.ask_ack,
            },
            at=now,
        )
        return view


async def audience_options(db: Database, actor: Actor) -> tuple[list[Phase], list[str]]:
    """The phases and the cadres' zones an audience can be chosen from."""
    require_organizer(actor)
    async with db.read() as session:
        programme = await session.get_one(Programme, actor.programme_id)
        zones = sorted({zone_of(p, programme) for p in await cohort_people(session, programme.id)})
        return await phases_of(session, actor.programme_id), zones
