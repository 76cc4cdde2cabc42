"""A database outage: updates wait in order, are handled once it is back, and nobody is told
"something went wrong" for it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import DBAPIError, OperationalError
from telegram import Update
from telegram.ext import TypeHandler

from liaison.services.clock import FakeClock
from liaison.storage.database import Database
from liaison.storage.enums import InboxState
from liaison.storage.models import AuditEvent, InboxUpdate, Person
from liaison.ui.i18n import translator
from tests.conftest import LI, ZHANG, Harness, _harness, seed

ZH = translator("zh_CN")
APOLOGY = "Sorry, something went wrong on our side. Please try again in a minute."
ZONES = ["Europe/London", "Asia/Tokyo", "America/Chicago", "Europe/Paris"]


class Outage:
    """Every statement on the engine fails while ``down``, as when the server is gone."""

    def __init__(self, db: Database) -> None:
        self.down = False
        self.refused = 0
        event.listen(db.engine.sync_engine, "before_cursor_execute", self._check)

    def _check(self, *args: Any) -> None:
        if self.down:
            self.refused += 1
            raise OperationalError("(statement)", {}, ConnectionRefusedError("database is down"))


@pytest.fixture
async def h(db: Database, clock: FakeClock, tmp_path: Path) -> AsyncIterator[Harness]:
    await seed(db)
    async for harness in _harness(db, clock, tmp_path):
        yield harness


async def _terminate_other_backends(db: Database) -> None:
    """PostgreSQL: the server drops every connection of the bot, mid-transaction too."""
    admin = Database.from_url(db.engine.url.render_as_string(hide_password=False))
    try:
        async with admin.engine.connect() as connection:
            await connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
    finally:
        await admin.dispose()


async def test_updates_during_a_database_outage_are_handled_once_when_it_is_back(
    h: Harness, backend: str
) -> None:
    await h.enrol(ZHANG)
    await h.enrol(LI)
    outage = Outage(h.db)
    inbox = h.app.bot_data.inbox
    sent = [
        h.updates.command((ZHANG, LI)[n % 2], f"/timezone {zone}") for n, zone in enumerate(ZONES)
    ]

    # The database goes away while the first update's handler runs.
    async def pull_the_plug(update: Update, context: Any) -> None:
        if update.update_id == sent[0].update_id and not outage.refused:
            outage.down = True
            if backend == "postgresql":
                await _terminate_other_backends(h.db)

    h.app.add_handler(TypeHandler(Update, pull_the_plug), group=-3)  # before the throttle
    await inbox.accept([update.to_dict() for update in sent])
    with pytest.raises((OperationalError, DBAPIError)):
        await inbox.drain()

    # Meanwhile nothing can be stored: the webhook answers 503, polling does not confirm.
    with pytest.raises((OperationalError, DBAPIError)):
        await inbox.accept([h.updates.command(ZHANG, "/help").to_dict()])

    # The worker keeps trying; the database comes back; everything is handled in order.
    stop = asyncio.Event()
    worker = asyncio.create_task(inbox.run(stop))
    try:
        for _ in range(200):
            if outage.refused > 3:
                break
            await asyncio.sleep(0.01)
        outage.down = False
        for _ in range(1000):
            async with h.db.read() as session:
                done = await session.scalar(
                    select(func.count()).where(InboxUpdate.state == InboxState.DONE)
                )
            if done == len(sent) + 2:  # and the two enrolments
                break
            await asyncio.sleep(0.01)
    finally:
        stop.set()
        await worker
    async with h.db.read() as session:
        states = list(await session.scalars(select(InboxUpdate.state)))
        changes = await session.scalar(
            select(func.count()).where(AuditEvent.action == "person.timezone")
        )
        rows = await session.execute(select(Person.telegram_user_id, Person.timezone))
        zones = {user_id: zone for user_id, zone in rows}
    assert states == [InboxState.DONE] * (len(sent) + 2)
    assert changes == len(sent)  # each handled once, the interrupted one too
    assert zones[ZHANG.id] == ZONES[2] and zones[LI.id] == ZONES[3]  # in order per person
    assert ZH(APOLOGY) not in h.texts(ZHANG) + h.texts(LI)
