"""Test results in the record: entered in the bot or read from a roster, each audited."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from liaison.services.audience import SELECTABLE
from liaison.services.audit import record
from liaison.services.authorization import require_organizer
from liaison.services.people import Actor, find_person
from liaison.services.programmes.settings import SelectionSettings, TestSettings, settings_of
from liaison.services.selection.errors import NotACandidate
from liaison.services.selection.values import Reading, find_test, read_value, shown_value
from liaison.storage.database import Database
from liaison.storage.enums import ResultSource, Role
from liaison.storage.models import Person, Programme, TestResult


@dataclass(frozen=True)
class ResultView:
    """One result as every screen shows it: the test's title, the value in both languages."""

    test_key: str
    title_zh: str
    title_en: str
    value: str
    shown_zh: str
    shown_en: str
    rank_value: float
    source: ResultSource
    entered_by: str | None
    entered_at: datetime


@dataclass(frozen=True)
class Recorded:
    person_name: str
    result: ResultView
    # The value it replaced, in Chinese and English; None when it is the first.
    previous: tuple[str, str] | None
    changed: bool


def _sync_roster_columns(person: Person, test: TestSettings, reading: Reading) -> None:
    """Keeps the roster's own columns equal to the record, for exports that read them."""
    if test.roster_column == "english_score":
        person.english_score = reading.rank_value
        if test.batch is not None:
            person.test_batch = test.batch
    elif test.roster_column == "bft_level":
        person.bft_level = shown_value(test, reading.value)[0]


async def put_result(
    session: AsyncSession,
    person: Person,
    test: TestSettings,
    reading: Reading,
    *,
    source: ResultSource,
    entered_by: Person | None,
    now: datetime,
    origin: dict[str, object] | None = None,
) -> tuple[bool, str | None]:
    """Writes one result and its audit event; returns whether anything changed and the
    previous value (None when new). The same value again writes and audits nothing."""
    row = await session.scalar(
        select(TestResult).where(TestResult.person_id == person.id, TestResult.test_key == test.key)
    )
    if row is not None and row.value == reading.value:
        return False, row.value
    previous = row.value if row is not None else None
    if row is None:
        row = TestResult(person_id=person.id, test_key=test.key)
        session.add(row)
    row.value, row.rank_value = reading.value, reading.rank_value
    row.source = source
    row.entered_by_id = entered_by.id if entered_by is not None else None
    row.entered_at = now
    _sync_roster_columns(person, test, reading)
    await record(
        session,
        "selection.result",
        programme_id=person.programme_id,
        actor_person_id=entered_by.id if entered_by is not None else None,
        details={
            "person_id": person.id,
            "name": person.name,
            "test": test.key,
            "value": reading.value,
            "previous": previous,
            "source": source.value,
            **(origin or {}),
        },
        at=now,
    )
    return True, previous


async def record_result(
    db: Database, actor: Actor, name: str, test_key: str, text: str, now: datetime
) -> Recorded:
    """/result NAME TEST VALUE: checks everything first, so bad input writes nothing."""
    require_organizer(actor)
    async with db.transaction() as session:
        programme = await session.get_one(Programme, actor.programme_id)
        selection = settings_of(programme).selection
        test = find_test(selection, test_key)
        person = await find_person(session, actor.programme_id, name)
        if person.role is not Role.CADRE or person.status not in SELECTABLE:
            raise NotACandidate(person.name, person.status if person.role is Role.CADRE else None)
        reading = read_value(test, text)
        organizer = await session.get_one(Person, actor.person_id)
        changed, previous = await put_result(
            session,
            person,
            test,
            reading,
            source=ResultSource.BOT,
            entered_by=organizer,
            now=now,
        )
        shown_zh, shown_en = shown_value(test, reading.value)
        view = ResultView(
            test.key,
            test.title_zh,
            test.title_en,
            reading.value,
            shown_zh,
            shown_en,
            reading.rank_value,
            ResultSource.BOT,
            organizer.name,
            now,
        )
    replaced = shown_value(test, previous) if previous is not None else None
    return Recorded(person.name, view, replaced, changed)


def _views(
    rows: Iterable[tuple[TestResult, str | None]], selection: SelectionSettings
) -> list[ResultView]:
    order = {test.key: index for index, test in enumerate(selection.tests)}
    views = []
    for row, entered_by in rows:
        test = selection.test(row.test_key)
        shown_zh, shown_en = shown_value(test, row.value)
        views.append(
            ResultView(
                row.test_key,
                test.title_zh if test else row.test_key,
                test.title_en if test else row.test_key,
                row.value,
                shown_zh,
                shown_en,
                row.rank_value,
                row.source,
                entered_by,
                row.entered_at,
            )
        )
    # In the order the programme file declares its tests; tests it no longer has, last.
    return sorted(views, key=lambda v: (order.get(v.test_key, len(order)), v.test_key))


async def results_by_person(
    session: AsyncSession, programme_id: str, person_ids: Iterable[int]
) -> dict[int, list[ResultView]]:
    """The results of several people in one read, each list in the declared tests' order."""
    programme = await session.get_one(Programme, programme_id)
    selection = settings_of(programme).selection
    ids = list(person_ids)
    rows = (
        await session.execute(
            select(TestResult, Person.name)
            .outerjoin(Person, Person.id == TestResult.entered_by_id)
            .where(TestResult.person_id.in_(ids))
        )
    ).all()
    grouped: dict[int, list[tuple[TestResult, str | None]]] = {pid: [] for pid in ids}
    for row, entered_by in rows:
        grouped[row.person_id].append((row, entered_by))
    return {pid: _views(items, selection) for pid, items in grouped.items()}


async def results_of(db: Database, person_id: int) -> list[ResultView]:
    """One person's test results (for a dossier such as /person), declared tests' order."""
    async with db.read() as session:
        person = await session.get_one(Person, person_id)
        found = await results_by_person(session, person.programme_id, [person_id])
    return found[person_id]
