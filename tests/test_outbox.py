"""The outbox and its dispatcher: one rule per Telegram outcome, nothing lost or doubled."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from liaison.bot.sandbox.fake_telegram import FAKE_TOKEN, Call, Fault, RecordingRequest
from liaison.sender.outbox_sender import OutboxSender
from liaison.sender.pacer import Pacer
from liaison.services.clock import FakeClock
from liaison.services.outbox.payloads import ExpiredPayload
from liaison.services.outbox.queue import Planned, claim_due, enqueue
from liaison.storage.database import Database
from liaison.storage.enums import OutboxKind, OutboxState, Role
from liaison.storage.models import OutboxMessage, Person, Programme
from tests.conftest import Harness

NOW = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)


async def make_people(db: Database, count: int, *, role: str = "organizer") -> list[int]:
    async with db.transaction() as session:
        if await session.get(Programme, "p") is None:
            session.add(
                Programme(
                    id="p",
                    title_zh="项目",
                    title_en="P",
                    home_timezone="Asia/Shanghai",
                    host_timezone="America/New_York",
                    default_locale="zh_CN",
                    settings={},
                )
            )
            await session.flush()
        people = [
            Person(
                programme_id="p",
                name=f"P{i}",
                phone=f"+86138{i:08d}",
                role=role,
                telegram_user_id=10_000 + i,
                telegram_chat_id=10_000 + i,
                extra={},
                timezone="Asia/Shanghai",
            )
            for i in range(count)
        ]
        session.add_all(people)
        await session.flush()
        return [p.id for p in people]


async def fan_out(db: Database, person_ids: list[int], due: datetime = NOW) -> None:
    async with db.transaction() as session:
        for person_id in person_ids:
            await enqueue(
                session,
                Planned(
                    f"notice:{person_id}",
                    person_id,
                    OutboxKind.EXPIRED_REPORT,
                    ExpiredPayload(count=1),
                    due,
                ),
            )


class Sleeps:
    def __init__(self) -> None:
        self.slept: list[float] = []
        self.now = 0.0

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def monotonic(self) -> float:
        return self.now


async def make_dispatcher(
    db: Database,
    clock: FakeClock,
    request: RecordingRequest,
    sleeps: Sleeps | None = None,
    batch: int = 50,
    max_in_flight: int = 16,
) -> OutboxSender:
    from telegram import Bot

    bot = Bot(FAKE_TOKEN, request=request, get_updates_request=request)
    await bot.initialize()
    sleeps = sleeps or Sleeps()
    pacer = Pacer(25, 1.0, sleep=sleeps.sleep, monotonic=sleeps.monotonic)
    return OutboxSender(bot, db, clock, pacer, batch=batch, max_in_flight=max_in_flight)


async def states(db: Database) -> Counter[str]:
    async with db.read() as session:
        return Counter(await session.scalars(select(OutboxMessage.state)))


async def test_enqueue_with_the_same_key_adds_one_row(db: Database) -> None:
    (person,) = await make_people(db, 1)
    await fan_out(db, [person])
    await fan_out(db, [person])
    async with db.read() as session:
        assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == 1


async def test_rows_are_sent_once_with_their_message_ids(db: Database) -> None:
    people = await make_people(db, 3)
    await fan_out(db, people)
    request = RecordingRequest()
    dispatcher = await make_dispatcher(db, FakeClock(NOW), request)
    report = await dispatcher.run_once()
    assert report.sent == 3
    assert (await dispatcher.run_once()).sent == 0
    async with db.read() as session:
        rows = list(await session.scalars(select(OutboxMessage)))
    assert all(r.state == OutboxState.SENT and r.telegram_message_id for r in rows)
    assert len(request.sent()) == 3


async def test_rows_not_yet_due_wait(db: Database) -> None:
    people = await make_people(db, 1)
    await fan_out(db, people, due=NOW + timedelta(minutes=5))
    dispatcher = await make_dispatcher(db, FakeClock(NOW), RecordingRequest())
    assert (await dispatcher.run_once()).sent == 0


async def test_one_429_holds_that_chat_only_and_the_rest_of_the_fan_out_goes_on(
    db: Database,
) -> None:
    people = await make_people(db, 12)
    await fan_out(db, people)
    request = RecordingRequest()
    request.fail(Fault.RETRY_AFTER, method="sendMessage", chat_id=10_004, retry_after=30)
    clock = FakeClock(NOW)
    dispatcher = await make_dispatcher(db, clock, request)
    first = await dispatcher.run_once()
    assert (first.sent, first.retried, first.paused_until) == (11, 1, None)
    async with db.read() as session:
        held = await session.scalar(
            select(OutboxMessage).where(OutboxMessage.unique_key == f"notice:{people[4]}")
        )
    assert held is not None and held.state == OutboxState.PENDING
    assert held.due_at == NOW + timedelta(seconds=30) and held.attempts == 0  # not counted
    clock.advance(timedelta(seconds=10))
    assert (await dispatcher.run_once()).sent == 0  # that chat waits out retry_after
    clock.advance(timedelta(seconds=20))
    assert (await dispatcher.run_once()).sent == 1
    per_chat = Counter(str(p["chat_id"]) for p in request.sent())
    assert len(per_chat) == 12 and set(per_chat.values()) == {1}
    assert (await states(db)) == Counter({OutboxState.SENT: 12})


async def test_429s_in_a_cluster_pause_every_send_then_the_rest_goes_out_once(
    db: Database,
) -> None:
    people = await make_people(db, 12)
    await fan_out(db, people)
    request = RecordingRequest()
    calls = 0

    def on_call(call: Call) -> None:
        nonlocal calls
        calls += call.method == "sendMessage"
        if calls == 4:  # a bot-wide flood: the next three sends are all refused
            request.fail(Fault.RETRY_AFTER, method="sendMessage", retry_after=30, times=3)

    request.on_call = on_call
    clock = FakeClock(NOW)
    dispatcher = await make_dispatcher(db, clock, request, max_in_flight=1)
    first = await dispatcher.run_once()
    assert first.paused_until == NOW + timedelta(seconds=30)
    assert (first.sent, first.retried) == (4, 3)
    async with db.read() as session:
        waiting = list(
            await session.scalars(
                select(OutboxMessage).where(OutboxMessage.state == OutboxState.PENDING)
            )
        )
    assert len(waiting) == 8 and {row.attempts for row in waiting} == {0}  # none charged
    clock.advance(timedelta(seconds=10))
    assert (await dispatcher.run_once()).sent == 0  # the pause is honoured
    clock.advance(timedelta(seconds=21))
    second = await dispatcher.run_once()
    assert first.sent + second.sent == 12
    per_chat = Counter(str(p["chat_id"]) for p in request.sent())
    assert len(per_chat) == 12 and set(per_chat.values()) == {1}
    assert (await states(db)) == Counter({OutboxState.SENT: 12})


async def test_403_marks_the_person_unreachable_and_tells_organizers(db: Database) -> None:
    cadre, _organizer = await make_people(db, 2)
    async with db.transaction() as session:
        (await session.get_one(Person, cadre)).role = Role.CADRE
    await fan_out(db, [cadre])
    async with db.transaction() as session:
        await enqueue(
            session,
            Planned(
                "later",
                cadre,
                OutboxKind.EXPIRED_REPORT,
                ExpiredPayload(count=2),
                NOW + timedelta(hours=1),
            ),
        )
    request = RecordingRequest()
    request.fail(Fault.FORBIDDEN, chat_id=10_000)
    clock = FakeClock(NOW)
    dispatcher = await make_dispatcher(db, clock, request)
    report = await dispatcher.run_once()
    assert report.unreachable == 1
    async with db.read() as session:
        person = await session.get_one(Person, cadre)
        later = await session.scalar(
            select(OutboxMessage).where(OutboxMessage.unique_key == "later")
        )
    assert person.unreachable_at == NOW
    assert later is not None and later.state == OutboxState.UNREACHABLE
    await dispatcher.run_once()
    told = request.texts(10_001)
    assert len(told) == 1 and "+8613800000000" in told[0]
    # Never retried.
    clock.advance(timedelta(hours=2))
    await dispatcher.run_once()
    assert [c for c in request.calls if c.params.get("chat_id") == 10_000 and not c.fault] == []


async def test_chat_not_found_is_treated_like_a_block(db: Database) -> None:
    (person,) = await make_people(db, 1)
    await fan_out(db, [person])
    request = RecordingRequest()
    request.fail(Fault.CHAT_NOT_FOUND, method="sendMessage")
    dispatcher = await make_dispatcher(db, FakeClock(NOW), request)
    assert (await dispatcher.run_once()).unreachable == 1


async def test_server_error_backs_off_then_succeeds(db: Database) -> None:
    (person,) = await make_people(db, 1)
    await fan_out(db, [person])
    request = RecordingRequest()
    request.fail(Fault.SERVER_ERROR, method="sendMessage")
    clock = FakeClock(NOW)
    dispatcher = await make_dispatcher(db, clock, request)
    assert (await dispatcher.run_once()).retried == 1
    async with db.read() as session:
        row = await session.scalar(select(OutboxMessage))
    assert row is not None and row.state == OutboxState.PENDING
    assert row.due_at == NOW + timedelta(seconds=30) and row.last_error
    clock.advance(timedelta(seconds=29))
    assert (await dispatcher.run_once()).sent == 0
    clock.advance(timedelta(seconds=1))
    assert (await dispatcher.run_once()).sent == 1


async def test_timeout_is_sent_again_later(db: Database) -> None:
    (person,) = await make_people(db, 1)
    await fan_out(db, [person])
    request = RecordingRequest()
    request.fail(Fault.TIMEOUT, method="sendMessage")
    clock = FakeClock(NOW)
    dispatcher = await make_dispatcher(db, clock, request)
    assert (await dispatcher.run_once()).retried == 1
    clock.advance(timedelta(minutes=1))
    assert (await dispatcher.run_once()).sent == 1


async def test_persistent_failure_ends_failed_after_the_last_attempt(db: Database) -> None:
    (person,) = await make_people(db, 1)
    await fan_out(db, [person])
    request = RecordingRequest()
    request.fail(Fault.SERVER_ERROR, method="sendMessage", times=100)
    clock = FakeClock(NOW)
    dispatcher = await make_dispatcher(db, clock, request)
    for _ in range(10):
        await dispatcher.run_once()
        clock.advance(timedelta(hours=1))
    assert (await states(db)) == Counter({OutboxState.FAILED: 1})


async def test_migrated_chat_gets_the_message_once_at_its_new_id(db: Database) -> None:
    (person,) = await make_people(db, 1)
    await fan_out(db, [person])
    request = RecordingRequest()
    request.fail(Fault.MIGRATED, method="sendMessage", migrate_to=-100777)
    dispatcher = await make_dispatcher(db, FakeClock(NOW), request)
    assert (await dispatcher.run_once()).sent == 1
    assert [p["chat_id"] for p in request.sent()] == [-100777]
    async with db.read() as session:
        assert (await session.get_one(Person, person)).telegram_chat_id == -100777


async def test_crashed_worker_lease_runs_out_and_the_row_is_sent(db: Database) -> None:
    (person,) = await make_people(db, 1)
    await fan_out(db, [person])
    claimed = await claim_due(db, NOW, lease=timedelta(minutes=2))  # a worker that then died
    assert len(claimed) == 1
    clock = FakeClock(NOW + timedelta(minutes=1))
    dispatcher = await make_dispatcher(db, clock, RecordingRequest())
    assert (await dispatcher.run_once()).sent == 0
    clock.advance(timedelta(minutes=2))
    assert (await dispatcher.run_once()).sent == 1


async def test_pacer_spaces_messages_globally_and_per_chat() -> None:
    sleeps = Sleeps()
    pacer = Pacer(25, 1.0, sleep=sleeps.sleep, monotonic=sleeps.monotonic)
    for chat in (1, 2, 3):
        await pacer.wait(chat)
    assert sleeps.slept == pytest.approx([0.04, 0.04])
    await pacer.wait(1)  # the same chat again: a full second after its last message
    assert sleeps.now == pytest.approx(1.0)


@pytest.mark.postgres
async def test_two_dispatchers_on_postgresql_never_send_a_row_twice(
    postgres_db: Database, postgres_url: str
) -> None:
    people = await make_people(postgres_db, 300)
    await fan_out(postgres_db, people)
    request = RecordingRequest()
    clock = FakeClock(NOW)
    first_db, second_db = Database.from_url(postgres_url), Database.from_url(postgres_url)
    first = await make_dispatcher(first_db, clock, request, batch=20)
    second = await make_dispatcher(second_db, clock, request, batch=20)

    async def loop(dispatcher: OutboxSender) -> int:
        total = 0
        while True:
            report = await dispatcher.run_once()
            total += report.sent
            if report.sent == 0:
                return total
            await asyncio.sleep(0)

    try:
        totals = await asyncio.gather(loop(first), loop(second))
    finally:
        for database in (first_db, second_db):
            await database.dispose()
    per_chat = Counter(int(p["chat_id"]) for p in request.sent())
    assert sum(totals) == 300
    assert len(per_chat) == 300 and set(per_chat.values()) == {1}
    assert min(totals) > 0, "both dispatchers should have shared the work"


async def test_the_sender_and_planner_jobs_are_wired_into_the_application(harness: Harness) -> None:
    jobs = {job.name for job in harness.app.job_queue.jobs()} if harness.app.job_queue else set()
    assert {"plan", "send", "prune"} <= jobs
