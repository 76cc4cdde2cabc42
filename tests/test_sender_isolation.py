"""The sender isolates rows and resumes fast: one bad row fails alone, a crash costs seconds."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from datetime import timedelta

import pytest
from sqlalchemy import select
from telegram import Bot

from liaison.bot.sandbox.fake_telegram import FAKE_TOKEN, RecordingRequest
from liaison.sender import outbox_sender
from liaison.sender.outbox_sender import OutboxSender
from liaison.services.clock import FakeClock
from liaison.services.outbox.payloads import ExpiredPayload
from liaison.services.outbox.queue import (
    LEASE,
    MAX_ATTEMPTS,
    Delivered,
    Planned,
    claim_due,
    enqueue,
)
from liaison.storage.database import Database
from liaison.storage.enums import OutboxKind, OutboxState
from liaison.storage.models import OutboxMessage
from liaison.ui import outbox as renderers
from tests.test_outbox import NOW, fan_out, make_dispatcher, make_people

POISON = 13  # the ExpiredPayload count that marks the row the tests break


async def add_poison(db: Database, person_id: int) -> None:
    async with db.transaction() as session:
        await enqueue(
            session,
            Planned(
                "poison",
                person_id,
                OutboxKind.EXPIRED_REPORT,
                ExpiredPayload(count=POISON),
                NOW - timedelta(seconds=1),  # first in the batch... or not: see each test
            ),
        )


def break_rendering(monkeypatch: pytest.MonkeyPatch, error: BaseException) -> None:
    """Makes the renderer raise ``error`` for the poison row only."""
    original = renderers.RENDERERS[OutboxKind.EXPIRED_REPORT]

    async def render(reading: renderers.Reading) -> tuple[str, None] | None:
        payload = reading.row.payload
        if isinstance(payload, ExpiredPayload) and payload.count == POISON:
            raise error
        return await original(reading)  # type: ignore[return-value]

    monkeypatch.setitem(renderers.RENDERERS, OutboxKind.EXPIRED_REPORT, render)


async def rows(db: Database) -> dict[str, OutboxMessage]:
    async with db.read() as session:
        return {row.unique_key: row for row in await session.scalars(select(OutboxMessage))}


async def test_an_error_rendering_one_row_fails_that_row_and_the_batch_goes_on(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = await make_people(db, 4)
    await fan_out(db, people)
    await add_poison(db, people[0])
    break_rendering(monkeypatch, KeyError("question gone"))
    request = RecordingRequest()
    report = await (await make_dispatcher(db, FakeClock(NOW), request)).run_once()
    assert (report.sent, report.failed) == (4, 1)
    found = await rows(db)
    assert found["poison"].state == OutboxState.FAILED
    assert found["poison"].last_error == "KeyError: 'question gone'"
    assert found["poison"].claim_token is None and found["poison"].lease_until is None
    assert Counter(row.state for row in found.values()) == Counter(
        {OutboxState.SENT: 4, OutboxState.FAILED: 1}
    )


async def test_an_error_recording_one_row_fails_that_row_and_the_batch_goes_on(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = await make_people(db, 3)
    await fan_out(db, people)
    original = outbox_sender.record_deliveries
    broken = f"notice:{people[0]}"

    async def flaky(db: Database, delivered: Sequence[Delivered]) -> None:
        # Deliveries are recorded in batches: the batch holding the broken row fails,
        # then each row is recorded alone and only that one fails.
        if any(item.row.key == broken for item in delivered):
            raise ValueError("cannot record")
        await original(db, delivered)

    monkeypatch.setattr(outbox_sender, "record_deliveries", flaky)
    report = await (await make_dispatcher(db, FakeClock(NOW), RecordingRequest())).run_once()
    assert (report.sent, report.failed) == (2, 1)
    failed = [row for row in (await rows(db)).values() if row.state == OutboxState.FAILED]
    assert [(row.unique_key, row.last_error) for row in failed] == [
        (broken, "ValueError: cannot record")
    ]


class Crash(BaseException):
    """Stands for the process dying (an OOM kill, a segfault) mid-row."""


async def test_a_row_that_kills_the_sender_every_time_ends_failed_and_the_rest_go_out(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = await make_people(db, 3)
    await add_poison(db, people[0])  # due first: every batch dies on it
    await fan_out(db, people)
    break_rendering(monkeypatch, Crash())
    clock = FakeClock(NOW)
    request = RecordingRequest()
    for _ in range(MAX_ATTEMPTS):
        dispatcher = await make_dispatcher(db, clock, request)
        # Recorded only at the end of a pass, never by the timer: the crash comes first
        # however slowly the machine runs, so the rows' deliveries are never recorded.
        dispatcher.recorder.interval = 3600
        with pytest.raises(Crash):
            await dispatcher.run_once()
        clock.advance(LEASE + timedelta(seconds=1))  # a restarted process, after the lease
    report = await (await make_dispatcher(db, clock, request)).run_once()
    assert report.sent == 3
    found = await rows(db)
    assert found["poison"].state == OutboxState.FAILED
    assert found["poison"].attempts == MAX_ATTEMPTS
    assert "abandoned mid-send" in (found["poison"].last_error or "")
    # The rows stuck behind it were charged for the one crash of the batch they were in
    # (and their own send), never for the poison row's later crashes: it was alone.
    assert sorted(row.attempts for key, row in found.items() if key != "poison") == [2, 2, 2]


async def test_a_claim_abandoned_by_a_dead_sender_is_taken_up_within_seconds(
    db: Database,
) -> None:
    people = await make_people(db, 5)
    await fan_out(db, people)
    assert len(await claim_due(db, NOW)) == 5  # a sender that died right after claiming
    assert timedelta(seconds=5) <= LEASE <= timedelta(seconds=30)
    clock = FakeClock(NOW + LEASE - timedelta(seconds=1))
    dispatcher = await make_dispatcher(db, clock, RecordingRequest())
    assert (await dispatcher.run_once()).sent == 0  # still held
    clock.advance(timedelta(seconds=2))
    assert (await dispatcher.run_once()).sent == 5


class Gate:
    """A pacer that holds the first send until the test lets it go."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.open = asyncio.Event()

    async def wait(self, chat_id: int) -> None:
        self.entered.set()
        await self.open.wait()


class Ticks:
    """The renewal loop's sleep, driven by the test: one tick, one renewal."""

    def __init__(self) -> None:
        self.asleep: asyncio.Queue[None] = asyncio.Queue()
        self.wake: asyncio.Queue[None] = asyncio.Queue()

    async def sleep(self, seconds: float) -> None:
        self.asleep.put_nowait(None)
        await self.wake.get()

    async def renew_once(self) -> None:
        self.wake.put_nowait(None)
        await self.asleep.get()  # asleep again: the renewal in between is committed


async def test_the_lease_is_renewed_while_a_slow_batch_is_sent(db: Database) -> None:
    people = await make_people(db, 3)
    await fan_out(db, people)
    clock = FakeClock(NOW)
    request = RecordingRequest()
    bot = Bot(FAKE_TOKEN, request=request, get_updates_request=request)
    await bot.initialize()
    gate, ticks = Gate(), Ticks()
    slow = OutboxSender(bot, db, clock, gate, sleep=ticks.sleep)  # type: ignore[arg-type]
    sending = asyncio.create_task(slow.run_once())
    await gate.entered.wait()
    await ticks.asleep.get()
    clock.advance(LEASE - timedelta(seconds=5))
    await ticks.renew_once()
    clock.advance(timedelta(seconds=10))  # past the first lease, inside the renewed one
    other = await make_dispatcher(db, clock, request)
    assert (await other.run_once()).sent == 0
    gate.open.set()
    assert (await sending).sent == 3
    per_chat = Counter(int(params["chat_id"]) for params in request.sent())
    assert set(per_chat.values()) == {1} and len(per_chat) == 3
