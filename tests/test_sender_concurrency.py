"""The sender at Telegram's limit: rows in flight together, yet one person's in order and
one chat's a second apart; woken by commits; its own throttle; its bookkeeping in batches."""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import OperationalError
from telegram import Bot
from telegram.ext import AIORateLimiter
from telegram.request import RequestData

from liaison.bot.application import build_application
from liaison.bot.jobs import send_tick
from liaison.bot.sandbox.fake_telegram import FAKE_TOKEN, Call, Fault, RecordingRequest
from liaison.bot.settings import Settings
from liaison.sender import outbox_sender
from liaison.sender.outbox_sender import OutboxSender
from liaison.sender.pacer import Pacer
from liaison.services.clock import FakeClock
from liaison.services.outbox.payloads import ExpiredPayload
from liaison.services.outbox.queue import LEASE, Delivered, Planned, enqueue
from liaison.storage.database import Database
from liaison.storage.enums import OutboxKind, OutboxState
from liaison.storage.models import Heartbeat, OutboxMessage
from liaison.ui.context import BotContext
from tests.conftest import FakePacer, Harness
from tests.test_outbox import NOW, fan_out, make_dispatcher, make_people, states


class VirtualTime:
    """The Pacer's clock: sleeping lets the others run, then time jumps to the wake-up."""

    def __init__(self) -> None:
        self.now = 0.0

    async def sleep(self, seconds: float) -> None:
        target = self.now + seconds
        await asyncio.sleep(0)
        self.now = max(self.now, target)

    def monotonic(self) -> float:
        return self.now


class SlowRequest(RecordingRequest):
    """Answers after a real pause, and notes which chats have a send in flight."""

    def __init__(self, clock: VirtualTime) -> None:
        super().__init__()
        self.clock = clock
        self.active: set[str] = set()
        self.most_in_flight = 0
        self.overlaps: list[str] = []
        self.starts: dict[str, list[float]] = defaultdict(list)

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        chat = str(request_data.parameters.get("chat_id")) if request_data else ""
        if not url.endswith("/sendMessage"):
            return await super().do_request(url, method, request_data)
        if chat in self.active:
            self.overlaps.append(chat)
        self.active.add(chat)
        self.starts[chat].append(self.clock.now)
        self.most_in_flight = max(self.most_in_flight, len(self.active))
        try:
            await asyncio.sleep(0.01)
            return await super().do_request(url, method, request_data)
        finally:
            self.active.discard(chat)


async def add_rows(db: Database, person_id: int, count: int) -> list[str]:
    """``count`` rows for one person, due one after another (their claimed order)."""
    keys = [f"many:{person_id}:{n}" for n in range(count)]
    async with db.transaction() as session:
        for n, key in enumerate(keys):
            await enqueue(
                session,
                Planned(
                    key,
                    person_id,
                    OutboxKind.EXPIRED_REPORT,
                    ExpiredPayload(count=n + 1),
                    NOW - timedelta(seconds=count - n),
                ),
            )
    return keys


async def by_key(db: Database) -> dict[str, OutboxMessage]:
    async with db.read() as session:
        return {row.unique_key: row for row in await session.scalars(select(OutboxMessage))}


async def test_rows_in_flight_together_keep_each_persons_order_and_the_chat_interval(
    db: Database,
) -> None:
    people = await make_people(db, 21)
    busy, others = people[0], people[1:]
    keys = await add_rows(db, busy, 4)
    await fan_out(db, others)
    time = VirtualTime()
    request = SlowRequest(time)
    bot = Bot(FAKE_TOKEN, request=request, get_updates_request=request)
    await bot.initialize()
    pacer = Pacer(25, 1.0, sleep=time.sleep, monotonic=time.monotonic)
    sender = OutboxSender(bot, db, FakeClock(NOW), pacer, max_in_flight=8)
    report = await sender.run_once()
    assert report.sent == 24
    assert request.most_in_flight > 1  # concurrent indeed
    assert request.overlaps == []  # never two sends to one chat at once
    busy_chat = str(10_000)
    starts = request.starts[busy_chat]
    assert len(starts) == 4
    assert all(later - earlier >= 1.0 for earlier, later in pairwise(starts))
    found = await by_key(db)
    message_ids = [found[key].telegram_message_id or 0 for key in keys]
    assert message_ids == sorted(message_ids)  # sent in the order they were claimed
    everyone = [start for chat_starts in request.starts.values() for start in chat_starts]
    assert len(everyone) == 24
    assert (await states(db)) == Counter({OutboxState.SENT: 24})


async def test_a_403_drops_the_persons_other_claimed_rows_unsent(db: Database) -> None:
    people = await make_people(db, 3)
    await add_rows(db, people[0], 3)
    await fan_out(db, people[1:])
    request = RecordingRequest()
    request.fail(Fault.FORBIDDEN, chat_id=10_000)
    report = await (await make_dispatcher(db, FakeClock(NOW), request)).run_once()
    assert report.unreachable == 3
    assert len([c for c in request.calls if c.params.get("chat_id") == 10_000]) == 1
    found = await by_key(db)
    assert {found[f"many:{people[0]}:{n}"].state for n in range(3)} == {OutboxState.UNREACHABLE}
    assert {found[f"notice:{p}"].state for p in people[1:]} == {OutboxState.SENT}


async def test_an_enqueue_wakes_the_running_sender_without_waiting_for_a_poll(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    (person,) = await make_people(db, 1)
    monkeypatch.setattr(outbox_sender, "POLL_SECONDS", 3600.0)  # no poll would come in time
    request = RecordingRequest()
    sender = await make_dispatcher(db, FakeClock(NOW), request)
    stop = asyncio.Event()
    loop = asyncio.create_task(sender.run(stop))
    try:
        await asyncio.sleep(0.05)  # it found nothing and sleeps
        assert sender.running and request.sent() == []
        await fan_out(db, [person])  # the commit wakes it
        for _ in range(1000):  # a hang guard only: without the wake it would sleep an hour
            if (await states(db)) == Counter({OutboxState.SENT: 1}):
                break
            await asyncio.sleep(0.01)
    finally:
        stop.set()
        await loop
    assert [p["chat_id"] for p in request.sent()] == [10_000]
    assert sender.take_activity() == 1


async def test_outbox_sends_bypass_the_rate_limiter_and_replies_keep_it(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (person,) = await make_people(db, 1)
    await fan_out(db, [person])
    limited: list[str] = []
    original = AIORateLimiter.process_request

    async def counting(self: AIORateLimiter, *args: Any, **kwargs: Any) -> Any:
        limited.append(str(kwargs.get("endpoint", args[3] if len(args) > 3 else "")))
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(AIORateLimiter, "process_request", counting)
    settings = Settings(
        bot_token=FAKE_TOKEN, database_url="sqlite://unused", data_dir=tmp_path / "data"
    )
    request = RecordingRequest()
    app = build_application(settings, db=db, clock=FakeClock(NOW), request=request)
    sender = app.bot_data.sender
    sender.pacer = FakePacer()  # type: ignore[assignment]
    await app.initialize()
    try:
        assert app.bot.rate_limiter is not None and sender.bot.rate_limiter is None  # type: ignore[attr-defined]
        assert sender.bot.request is app.bot.request  # the same transport
        limited.clear()
        assert (await sender.run_once()).sent == 1
        assert [p["chat_id"] for p in request.sent()] == [10_000]  # the fake saw it
        assert limited == []  # ... and the rate limiter did not
        await app.bot.send_message(10_000, "a reply")
        assert limited == ["sendMessage"]
    finally:
        await app.shutdown()


class Crash(BaseException):
    """The process dying between Telegram's answers and the flush that records them."""


async def test_deliveries_not_yet_recorded_when_the_sender_dies_are_sent_again_none_lost(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = await make_people(db, 5)
    await fan_out(db, people)
    original = outbox_sender.record_deliveries

    async def die(db: Database, delivered: Sequence[Delivered]) -> None:
        raise Crash

    monkeypatch.setattr(outbox_sender, "record_deliveries", die)
    request = RecordingRequest()
    clock = FakeClock(NOW)
    with pytest.raises(Crash):
        await (await make_dispatcher(db, clock, request)).run_once()
    assert len(request.sent()) == 5  # Telegram has them all
    assert (await states(db)) == Counter({OutboxState.SENDING: 5})  # we recorded none

    monkeypatch.setattr(outbox_sender, "record_deliveries", original)
    clock.advance(LEASE + timedelta(seconds=1))  # the restarted process, after the lease
    report = await (await make_dispatcher(db, clock, request)).run_once()
    assert report.sent == 5
    assert (await states(db)) == Counter({OutboxState.SENT: 5})
    per_chat = Counter(int(p["chat_id"]) for p in request.sent())
    assert len(per_chat) == 5 and set(per_chat.values()) == {2}  # the documented "sent again"


class Outage:
    """Every statement fails while ``down``, as when the database server is gone."""

    def __init__(self, db: Database) -> None:
        self.down = False
        event.listen(db.engine.sync_engine, "before_cursor_execute", self._check)

    def _check(self, *args: Any) -> None:
        if self.down:
            raise OperationalError("(statement)", {}, ConnectionRefusedError("database is down"))


async def test_a_database_outage_stops_the_pass_and_its_rows_come_back_by_lease(
    db: Database,
) -> None:
    people = await make_people(db, 6)
    await fan_out(db, people)
    outage = Outage(db)
    request = RecordingRequest()

    def pull_the_plug(call: Call) -> None:
        if call.method == "sendMessage":
            outage.down = True  # after Telegram took the first message

    request.on_call = pull_the_plug
    clock = FakeClock(NOW)
    with pytest.raises(OperationalError):
        await (await make_dispatcher(db, clock, request, max_in_flight=1)).run_once()
    outage.down = False
    request.on_call = None
    assert len(request.sent()) == 1  # no lane started another row
    found = await states(db)
    assert set(found) == {OutboxState.SENDING, OutboxState.PENDING}  # none failed, none lost
    assert found[OutboxState.SENDING] == 2  # the claim in hand (2 × max_in_flight) waits
    clock.advance(LEASE + timedelta(seconds=1))
    report = await (await make_dispatcher(db, clock, request)).run_once()
    assert report.sent == 6 and (await states(db)) == Counter({OutboxState.SENT: 6})
    per_chat = Counter(int(p["chat_id"]) for p in request.sent())
    assert len(per_chat) == 6 and sorted(per_chat.values()) == [1, 1, 1, 1, 1, 2]


async def test_while_the_loop_sends_the_send_tick_leaves_its_heartbeat_and_sends_nothing(
    harness: Harness,
) -> None:
    people = await make_people(harness.db, 2)
    sender = harness.app.bot_data.sender
    stop = asyncio.Event()
    loop = asyncio.create_task(sender.run(stop))
    try:
        await fan_out(harness.db, people)
        for _ in range(1000):
            if (await states(harness.db))[OutboxState.SENT] == 2:
                break
            await asyncio.sleep(0.01)
        calls = len(harness.request.calls)
        await send_tick(sender)(BotContext(harness.app))
    finally:
        stop.set()
        await loop
    assert len(harness.request.calls) == calls  # the tick left the sending to the loop
    async with harness.db.read() as session:
        beat = await session.get_one(Heartbeat, "send")
    assert beat.ok and beat.last_error is None
    assert sender.take_activity() == 0  # the tick took the loop's two deliveries


async def test_deliveries_are_recorded_in_batches_not_one_transaction_each(
    db: Database,
) -> None:
    people = await make_people(db, 30)
    await fan_out(db, people)
    updates: list[tuple[str, bool]] = []

    def note(_conn: Any, _cursor: Any, statement: str, _p: Any, _c: Any, many: bool) -> None:
        if statement.lstrip().upper().startswith("UPDATE OUTBOX_MESSAGES"):
            updates.append((statement, many))

    event.listen(db.engine.sync_engine, "before_cursor_execute", note)
    try:
        dispatcher = await make_dispatcher(db, FakeClock(NOW), RecordingRequest())
        dispatcher.recorder.interval = 3600  # flushed by size and at the end, not by the clock
        report = await dispatcher.run_once()
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", note)
    assert report.sent == 30 and (await states(db)) == Counter({OutboxState.SENT: 30})
    # How often the pass claims again depends on when lanes free up; what the rows'
    # outcomes cost does not: the 30 deliveries are written by one executemany.
    # How often the pass claims again depends on when lanes free up; what the outcomes
    # cost does not: the 30 deliveries (chat, message id, state) are one executemany.
    outcome_writes = [many for statement, many in updates if "chat_id=" in statement]
    assert outcome_writes == [True]
    assert len(updates) < 30  # the claims: never one per row


async def test_once_the_loop_stopped_for_shutdown_the_send_tick_does_not_drain_the_backlog(
    harness: Harness,
) -> None:
    """A tick still running at shutdown would otherwise send every due row first."""
    people = await make_people(harness.db, 3)
    sender = harness.app.bot_data.sender
    stop = asyncio.Event()
    stop.set()
    await sender.run(stop)  # the loop ran and ended, as at SIGTERM
    await fan_out(harness.db, people)
    calls = len(harness.request.calls)
    await send_tick(sender)(BotContext(harness.app))
    assert len(harness.request.calls) == calls
    assert await states(harness.db) == Counter({OutboxState.PENDING: 3})
