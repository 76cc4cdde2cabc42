"""Helpers for the selection tests: the sample programme, people put in a status, and the
real bot over the recording transport on that sample."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from liaison.bot.application import build_application
from liaison.bot.sandbox.fake_telegram import FAKE_TOKEN, RecordingRequest
from liaison.bot.sandbox.fake_updates import FakeUser, UpdateFactory
from liaison.bot.settings import Settings, ThrottleSettings
from liaison.services.clock import FakeClock
from liaison.services.programmes.loading import load_programme
from liaison.services.roster import import_roster
from liaison.storage.database import Database
from liaison.storage.enums import PersonStatus, Role
from liaison.storage.models import AuditEvent, Person
from liaison.ui.context import BotContext
from tests.conftest import FakePacer, Harness

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_PROGRAMME = ROOT / "examples" / "jinjiang-2014.yaml"
SAMPLE_ROSTER = ROOT / "examples" / "jinjiang-2014-roster.csv"
SAMPLE_ID = "jinjiang-2014"
# Long before the selection's first test: everyone below enrolled then.
ENROLLED = datetime(2014, 2, 1, tzinfo=UTC)
ORGANIZER = "郑红"
OBSERVER = "林国栋"


async def load_sample(db: Database, now: datetime = ENROLLED) -> None:
    await load_programme(db, SAMPLE_PROGRAMME)
    await import_roster(db, SAMPLE_ID, SAMPLE_ROSTER, now=now)


def user_id_of(person_id: int) -> int:
    return 700_000 + person_id


async def enrol(db: Database, names: list[str] | None = None) -> dict[str, Person]:
    """Links these people (everyone by default) to Telegram users; returns all by name."""
    async with db.transaction() as session:
        people = list(await session.scalars(select(Person).order_by(Person.id)))
        for person in people:
            if names is None or person.name in names:
                person.telegram_user_id = person.telegram_chat_id = user_id_of(person.id)
                person.enrolled_at = ENROLLED
    return {person.name: person for person in people}


async def set_statuses(db: Database, statuses: dict[str, PersonStatus]) -> None:
    async with db.transaction() as session:
        for person in await session.scalars(select(Person)):
            if person.name in statuses:
                person.status = statuses[person.name]


async def shortlist_everyone(db: Database) -> list[Person]:
    """The sample as it stood before the final selection: all 23 cadres shortlisted."""
    async with db.transaction() as session:
        cadres = list(
            await session.scalars(
                select(Person).where(Person.role == Role.CADRE).order_by(Person.id)
            )
        )
        for person in cadres:
            person.status = PersonStatus.SHORTLISTED
    return cadres


def fake_user(person: Person) -> FakeUser:
    language = "en" if person.locale == "en" else "zh-hans"
    return FakeUser(user_id_of(person.id), person.name, language)


async def audit(db: Database, action: str) -> list[AuditEvent]:
    async with db.read() as session:
        return list(
            await session.scalars(
                select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
            )
        )


async def count(db: Database, model: Any) -> int:
    async with db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


@asynccontextmanager
async def sample_harness(db: Database, clock: FakeClock, tmp_path: Path) -> AsyncIterator[Harness]:
    """The real Application on the sample programme, everyone enrolled, nothing sent yet."""
    await load_sample(db)
    settings = Settings(
        bot_token=FAKE_TOKEN,
        database_url="sqlite://unused",
        data_dir=tmp_path / "data",
        default_locale="zh_CN",
        # The fake clock stands still while an organizer taps through 23 candidates.
        throttle=ThrottleSettings(burst=1000),
    )
    request = RecordingRequest()
    app = build_application(settings, db=db, clock=clock, request=request, rate_limit=False)
    harness = Harness(app, request, UpdateFactory(app.bot), db, clock, settings)
    harness.pacer = FakePacer()
    app.bot_data.sender.pacer = harness.pacer  # type: ignore[assignment]

    async def remember(update: object, context: BotContext) -> None:
        if context.error is not None:
            harness.errors.append(context.error)

    app.add_error_handler(remember)
    await app.initialize()
    request.clear()
    try:
        yield harness
    finally:
        await app.shutdown()
