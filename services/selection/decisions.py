"""/select: an organizer walks the candidates, marks each, and confirms the selection.

Marks wait in the database (a walk through 23 people survives a restart) until Confirm,
which changes the statuses, tells each person through the outbox and audits who decided
what, all in one transaction. Walking again later shows the decisions made and lets an
organizer change them; only the changes are applied, told and audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from liaison.services.audience import SELECTABLE
from liaison.services.audit import record
from liaison.services.authorization import require_organizer
from liaison.services.outbox.payloads import SelectionOutcomePayload
from liaison.services.outbox.queue import Planned, enqueue
from liaison.services.people import Actor, find_person
from liaison.services.programmes.settings import TestSettings
from liaison.services.selection.errors import NotACandidate, NothingToConfirm, NotInTheWalk
from liaison.services.selection.ranking import Candidate, ranked
from liaison.storage.database import Database
from liaison.storage.enums import OutboxKind, PersonStatus
from liaison.storage.models import Person, SelectionMark
from liaison.storage.queries import upsert_insert

DECISIONS = (PersonStatus.SELECTED, PersonStatus.NOT_SELECTED)
# Already in the cohort beyond the selection: they hold places too.
PLACE_HOLDERS = (PersonStatus.ACTIVE, PersonStatus.RETURNED)


@dataclass(frozen=True)
class Walk:
    """The candidates the selection decides, best first, with this organizer's marks."""

    candidates: list[Candidate]
    marks: dict[int, PersonStatus]
    places: int | None
    tests: list[TestSettings]
    holding: int

    def decision(self, candidate: Candidate) -> PersonStatus | None:
        """The mark if there is one, else the decision on record, if any."""
        recorded = candidate.status if candidate.status in DECISIONS else None
        return self.marks.get(candidate.person_id, recorded)

    def chosen(self) -> list[Candidate]:
        return [c for c in self.candidates if self.decision(c) is PersonStatus.SELECTED]

    def index_of(self, person_id: int) -> int | None:
        return next((i for i, c in enumerate(self.candidates) if c.person_id == person_id), None)


@dataclass(frozen=True)
class Card:
    """One candidate's screen in the walk."""

    candidate: Candidate
    position: int
    total: int
    decision: PersonStatus | None
    pending: bool
    selected: int
    places: int | None
    tests: list[TestSettings]
    previous_id: int | None
    next_id: int | None


@dataclass(frozen=True)
class Summary:
    selected: list[Candidate]
    not_selected: list[Candidate]
    undecided: list[Candidate]
    changes: int
    places: int | None
    holding: int

    @property
    def over_places(self) -> bool:
        """More chosen than the programme has places: warned, not refused."""
        return self.places is not None and len(self.selected) + self.holding > self.places


@dataclass(frozen=True)
class Confirmed:
    selected: list[str]
    not_selected: list[str]
    # Changed, but not enrolled in the bot or unreachable: the organizers tell them.
    not_told: list[str]
    selected_total: int
    places: int | None


async def _walk(session: AsyncSession, actor: Actor) -> Walk:
    ranking = await ranked(session, actor.programme_id)
    marks = {
        mark.person_id: mark.decision
        for mark in await session.scalars(
            select(SelectionMark).where(SelectionMark.organizer_id == actor.person_id)
        )
    }
    candidates = [c for c in ranking.candidates if c.status in SELECTABLE]
    holding = sum(c.status in PLACE_HOLDERS for c in ranking.candidates)
    return Walk(candidates, marks, ranking.places, ranking.tests, holding)


def _card(walk: Walk, index: int) -> Card:
    candidate = walk.candidates[index]
    return Card(
        candidate,
        index + 1,
        len(walk.candidates),
        walk.decision(candidate),
        candidate.person_id in walk.marks,
        len(walk.chosen()),
        walk.places,
        walk.tests,
        walk.candidates[index - 1].person_id if index > 0 else None,
        walk.candidates[index + 1].person_id if index + 1 < len(walk.candidates) else None,
    )


def _summary(walk: Walk) -> Summary:
    selected: list[Candidate] = []
    not_selected: list[Candidate] = []
    undecided: list[Candidate] = []
    for candidate in walk.candidates:
        decision = walk.decision(candidate)
        if decision is PersonStatus.SELECTED:
            selected.append(candidate)
        elif decision is PersonStatus.NOT_SELECTED:
            not_selected.append(candidate)
        else:
            undecided.append(candidate)
    return Summary(selected, not_selected, undecided, len(walk.marks), walk.places, walk.holding)


async def open_walk(
    db: Database, actor: Actor, *, person_id: int | None = None, name: str | None = None
) -> Card | None:
    """The card of a candidate (by id, or by name for /select NAME), else the first one;
    None when nobody is left to decide."""
    require_organizer(actor)
    async with db.read() as session:
        walk = await _walk(session, actor)
        if name is not None:
            person = await find_person(session, actor.programme_id, name)
            index = walk.index_of(person.id)
            if index is None:
                raise NotACandidate(person.name, person.status)
        else:
            index = walk.index_of(person_id) if person_id is not None else None
    if not walk.candidates:
        return None
    return _card(walk, index or 0)


async def mark(
    db: Database, actor: Actor, person_id: int, decision: PersonStatus, now: datetime
) -> Card | Summary:
    """Marks one candidate and moves on: the next card, or after the last, the summary."""
    require_organizer(actor)
    if decision not in DECISIONS:
        raise ValueError(f"not a decision: {decision}")
    async with db.transaction() as session:
        walk = await _walk(session, actor)
        index = walk.index_of(person_id)
        if index is None:
            person = await session.get(Person, person_id)
            if person is None or person.programme_id != actor.programme_id:
                # Someone of another programme (a forged button): name no one.
                raise NotInTheWalk()
            raise NotACandidate(person.name, person.status)
        marks = dict(walk.marks)
        if walk.candidates[index].status is decision:
            # Marking the decision on record is no change: no mark to confirm.
            marks.pop(person_id, None)
            await session.execute(
                delete(SelectionMark).where(
                    SelectionMark.organizer_id == actor.person_id,
                    SelectionMark.person_id == person_id,
                )
            )
        else:
            # An upsert, so two taps racing on two instances leave one mark.
            marks[person_id] = decision
            await session.execute(
                upsert_insert(session.bind.dialect.name, SelectionMark)
                .values(
                    organizer_id=actor.person_id,
                    person_id=person_id,
                    decision=decision,
                    marked_at=now,
                )
                .on_conflict_do_update(
                    index_elements=["organizer_id", "person_id"],
                    set_={"decision": decision, "marked_at": now},
                )
            )
    walk = Walk(walk.candidates, marks, walk.places, walk.tests, walk.holding)
    if index + 1 < len(walk.candidates):
        return _card(walk, index + 1)
    return _summary(walk)


async def summary(db: Database, actor: Actor) -> Summary:
    require_organizer(actor)
    async with db.read() as session:
        return _summary(await _walk(session, actor))


async def cancel(db: Database, actor: Actor) -> int:
    """Drops this organizer's marks; nothing else changes. Returns how many there were."""
    require_organizer(actor)
    async with db.transaction() as session:
        result = await session.execute(
            delete(SelectionMark).where(SelectionMark.organizer_id == actor.person_id)
        )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def confirm(db: Database, actor: Actor, now: datetime) -> Confirmed:
    """Applies the marks in one transaction: statuses, one notice per person, the audit."""
    require_organizer(actor)
    selected: list[str] = []
    not_selected: list[str] = []
    not_told: list[str] = []
    async with db.transaction() as session:
        walk = await _walk(session, actor)
        changed: list[int] = []
        for candidate in walk.candidates:
            decision = walk.marks.get(candidate.person_id)
            if decision is None or decision is candidate.status:
                continue
            person = await session.get_one(Person, candidate.person_id)
            previous, person.status = person.status, decision
            changed.append(person.id)
            (selected if decision is PersonStatus.SELECTED else not_selected).append(person.name)
            await record(
                session,
                "selection.decided",
                programme_id=actor.programme_id,
                actor_person_id=actor.person_id,
                details={
                    "person_id": person.id,
                    "name": person.name,
                    "from": previous.value,
                    "to": decision.value,
                },
                at=now,
            )
            if person.telegram_chat_id is None or person.unreachable_at is not None:
                not_told.append(person.name)
                continue
            await enqueue(
                session,
                Planned(
                    f"selection:{person.id}:{decision.value}:{now:%Y%m%dT%H%M%S%f}",
                    person.id,
                    OutboxKind.SELECTION_OUTCOME,
                    SelectionOutcomePayload(decision=decision),
                    now,
                ),
            )
        await session.execute(
            delete(SelectionMark).where(SelectionMark.organizer_id == actor.person_id)
        )
        selected_total = len(walk.chosen()) + walk.holding
        if changed:
            await record(
                session,
                "selection.confirmed",
                programme_id=actor.programme_id,
                actor_person_id=actor.person_id,
                details={
                    "changed": changed,
                    "selected_total": selected_total,
                    "places": walk.places,
                },
                at=now,
            )
    if not changed:
        raise NothingToConfirm()
    return Confirmed(selected, not_selected, not_told, selected_total, walk.places)
