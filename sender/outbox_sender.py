"""The outbox sender: sends claimed rows and applies one rule per Telegram outcome.

| outcome | rule |
| --- | --- |
| sent | state sent, Telegram message_id kept (recorded in batches, sender/bookkeeping.py) |
| 429 | row back to pending at retry_after, no attempt counted; nothing more goes to that
  chat before then (the rest of its claimed rows wait with it); when 429s cluster
  (3 within a second) everything pauses until retry_after |
| 5xx, network error | back to pending after exponential backoff; failed after 8 attempts |
| timeout | the same: the message may have gone out, and is sent again (see docs/outbox.md) |
| 403, 400 chat not found | the person is unreachable; their pending and claimed rows are
  dropped and the organizers told; never retried |
| chat migrated | the new chat id is stored and the row sent there once |
| expired | not sent, marked expired, reported to the organizers |
| an error rendering or recording it | that row failed with the error; the others go on |

Several rows are in flight at once (``max_in_flight``, about rate × latency), one lane per
person: a person's rows are sent one after another in their claimed order, never two at
once, and no two sends to one chat overlap. The Pacer gates start times (the global rate,
the per-chat interval). ``run`` drains continuously, woken when rows are enqueued;
``run_once`` drains what is due now and returns (tests, the demo, the fallback tick).

A text over Telegram's 4,096 characters goes out as several messages in order, the
keyboard under the last (sender/parts.py). Claims are held under a short lease, renewed
while they are sent; rows a dead sender abandoned come back one at a time, each sent with
nothing else in flight (docs/outbox.md).
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from telegram import Bot
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from liaison.sender.bookkeeping import Recorder, database_unreachable, record_deliveries
from liaison.sender.delivery import deliver
from liaison.sender.pacer import Pacer
from liaison.services import log_context, metrics
from liaison.services.clock import Clock
from liaison.services.outbox.notices import mark_unreachable, move_chat, report_expired
from liaison.services.outbox.queue import (
    LEASE,
    Claimed,
    Delivered,
    backoff,
    claim_due,
    finish,
    next_due,
    release,
    renew,
    subscribe,
    unclaim,
)
from liaison.storage.database import Database
from liaison.storage.enums import TELEGRAM_KINDS, OutboxState
from liaison.ui.outbox import Rendered, render

__all__ = ["OutboxSender", "SendReport", "database_unreachable", "record_deliveries"]

log = logging.getLogger(__name__)

MAX_IN_FLIGHT = 16
# Rows a sender that finds nothing to do still looks for, at the latest: rows enqueued by
# another process (the CLI, a second instance) wake nobody here.
POLL_SECONDS = 1.0
# A bot-wide flood shows as several 429s at once; one now and then is one chat's limit.
FLOOD_CLUSTER = 3
FLOOD_WINDOW = timedelta(seconds=1)


@dataclass
class SendReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    expired: int = 0
    skipped: int = 0
    unreachable: int = 0
    paused_until: datetime | None = None
    sent_keys: list[str] = field(default_factory=list)


class _Verdict(enum.Enum):
    DONE = "done"  # this row has its outcome; the lane goes on
    HELD = "held"  # 429: the chat waits, the rest of the lane with it
    GONE = "gone"  # the person is unreachable: the rest of the lane is dropped
    UNSTARTED = "unstarted"  # stopped before its first call: handed back


class _NotStarted(Exception):
    """The pass stopped (a flood pause, shutdown) while this row waited for its slot."""


@dataclass
class _Pass:
    """One drain: its report, its lanes (one per person), and what stops it."""

    report: SendReport
    slots: asyncio.Semaphore
    expired: list[int] = field(default_factory=list)
    lanes: dict[Hashable, deque[Claimed]] = field(default_factory=dict)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    tokens: set[str] = field(default_factory=set)
    outstanding: int = 0
    progress: asyncio.Event = field(default_factory=asyncio.Event)
    stopping: bool = False
    error: BaseException | None = None
    untouched: list[Claimed] = field(default_factory=list)
    held: list[tuple[list[Claimed], datetime]] = field(default_factory=list)

    def halt(self, error: BaseException | None = None) -> None:
        self.stopping = True
        if error is not None and self.error is None:
            self.error = error
        self.progress.set()


class _RowPace:
    """The pacer as one row sees it: a row not yet started when the pass stops is not
    started at all (it is handed back, its attempt refunded)."""

    def __init__(self, sender: OutboxSender, run: _Pass) -> None:
        self.sender, self.run = sender, run
        self.started = False

    async def wait(self, chat_id: int) -> None:
        await self.sender.pacer.wait(chat_id)
        if not self.started and (self.run.stopping or self.sender.paused()):
            raise _NotStarted
        self.started = True


class _ChatLocks:
    """No two sends to one chat overlap (two people could share a chat)."""

    def __init__(self) -> None:
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, chat_id: int) -> AsyncIterator[None]:
        lock, users = self._locks.get(chat_id, (asyncio.Lock(), 0))
        self._locks[chat_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[chat_id]
            if users <= 1:
                del self._locks[chat_id]
            else:
                self._locks[chat_id] = (lock, users - 1)


class OutboxSender:
    def __init__(
        self,
        bot: Bot,
        db: Database,
        clock: Clock,
        pacer: Pacer,
        *,
        batch: int = 50,
        lease: timedelta = LEASE,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        max_in_flight: int = MAX_IN_FLIGHT,
    ) -> None:
        self.bot, self.db, self.clock, self.pacer = bot, db, clock, pacer
        self.batch, self.lease, self.sleep = batch, lease, sleep
        self.max_in_flight = max(1, max_in_flight)
        self.paused_until: datetime | None = None
        self.recorder = Recorder(self._write, db)
        self.running = False
        # The loop ran and ended (shutdown): the send tick must not take over its work.
        self.finished = False
        # The last pass's error while ``run`` loops (the send tick reports it), and what
        # was settled since the tick last looked (a broadcast's progress follows it).
        self.error: BaseException | None = None
        self.activity = 0
        self._floods: list[datetime] = []
        self._chats = _ChatLocks()
        self._wake = asyncio.Event()

    # Entry points ------------------------------------------------------------------
    async def run_once(self) -> SendReport:
        """Drains what is due now (rows in flight concurrently) and returns its report."""
        report = SendReport()
        if self.paused():
            report.paused_until = self.paused_until
            return report
        self.paused_until = None
        await self._drain(report, None)
        return report

    async def run(self, stop: asyncio.Event) -> None:
        """Sends continuously until ``stop``: claims while rows are due and capacity is
        free, then sleeps until the next row is due, a commit enqueues one, or at most
        POLL_SECONDS. An unreachable database is waited out (its rows come back by lease)."""
        self.running = True
        unsubscribe = subscribe(self.wake)
        failures = 0
        try:
            while not stop.is_set():
                self._wake.clear()
                try:
                    if not self.paused():
                        self.paused_until = None
                        report = SendReport()
                        await self._drain(report, stop)
                        if report.retried or report.failed or report.expired:
                            log.info("sent %s", report)
                    self.error = None
                    failures = 0
                except Exception as exc:
                    failures += 1
                    self.error = exc
                    log.warning("the sender stopped a pass: %s", type(exc).__name__)
                    await self._idle(stop, min(POLL_SECONDS * 2**failures, 30.0))
                    continue
                await self._idle(stop, await self._idle_delay())
        finally:
            unsubscribe()
            self.running = False
            self.finished = True

    def wake(self) -> None:
        """Rows were enqueued in this process: look now, not at the next poll."""
        self._wake.set()

    def take_activity(self) -> int:
        activity, self.activity = self.activity, 0
        return activity

    def paused(self) -> bool:
        return self.paused_until is not None and self.clock.now() < self.paused_until

    # The loop's idle time ----------------------------------------------------------
    async def _idle_delay(self) -> float:
        if self.paused_until is not None:
            left = (self.paused_until - self.clock.now()).total_seconds()
            return min(max(left, 0.01), POLL_SECONDS)
        try:
            due = await next_due(self.db, TELEGRAM_KINDS)
        except Exception as exc:
            log.debug("could not read the next due row: %s", type(exc).__name__)
            return POLL_SECONDS
        if due is None:
            return POLL_SECONDS
        return min(max((due - self.clock.now()).total_seconds(), 0.02), POLL_SECONDS)

    async def _idle(self, stop: asyncio.Event, seconds: float) -> None:
        await _first_of((stop, self._wake), seconds)

    # One drain ---------------------------------------------------------------------
    async def _drain(self, report: SendReport, stop: asyncio.Event | None) -> None:
        run = _Pass(report, asyncio.Semaphore(self.max_in_flight))
        crashed = False
        try:
            async with self._leases_kept(run):
                await self._pump(run, stop)
                await self._settle(run)
                if run.error is None:
                    await self.recorder.flush()
        except BaseException as exc:
            # A crash (not an Exception) stands for the process dying: nothing more is
            # written, the rows come back when their leases run out.
            crashed = not isinstance(exc, Exception | asyncio.CancelledError)
            if not crashed and run.error is None:
                run.error = exc
            raise
        finally:
            for task in run.tasks:
                task.cancel()
            if run.tasks:
                await asyncio.gather(*run.tasks, return_exceptions=True)
            await self.recorder.close()
            if crashed or run.error is not None:
                self.recorder.drop()
        if run.error is not None:
            raise run.error
        await self._hand_back(run)
        await self._report_expired(run)

    async def _pump(self, run: _Pass, stop: asyncio.Event | None) -> None:
        """Claims while rows are due and capacity is free; starts a lane per person."""
        follow = stop is not None
        low, high = self.max_in_flight, 2 * self.max_in_flight
        dry = False
        while True:
            if stop is not None and stop.is_set():
                run.halt()
            if run.stopping or self.paused():
                if self.paused():
                    run.report.paused_until = self.paused_until
                    run.halt()
                return
            if not dry and run.outstanding <= low:
                await self._report_expired(run)
                claimed = await claim_due(
                    self.db,
                    self.clock.now(),
                    limit=min(self.batch, high - run.outstanding),
                    lease=self.lease,
                    kinds=TELEGRAM_KINDS,
                )
                if claimed and claimed[0].recovered:
                    # Abandoned by a dead sender: sent alone, so if it kills this one too,
                    # no other row is charged for it.
                    await self._settle(run)
                    self._start(run, claimed)
                    await self._settle(run)
                    if run.error is None:
                        await self.recorder.flush()
                    continue
                if claimed:
                    self._start(run, claimed)
                    continue
                dry = True
            if run.outstanding == 0:
                return
            if not follow and dry:
                await self._settle(run)
                dry = False
                continue
            run.progress.clear()
            woken = await _first_of(
                (run.progress, self._wake, *((stop,) if stop else ())), POLL_SECONDS
            )
            if woken is not run.progress:
                self._wake.clear()
                dry = False

    async def _settle(self, run: _Pass) -> None:
        """Waits until every lane of the pass is done."""
        while run.tasks:
            await asyncio.wait(set(run.tasks))
            if run.error is not None and not isinstance(run.error, Exception):
                raise run.error

    def _start(self, run: _Pass, claimed: list[Claimed]) -> None:
        run.tokens.add(claimed[0].token)
        for row in claimed:
            key: Hashable = row.person_id if row.person_id is not None else ("row", row.id)
            run.outstanding += 1
            lane = run.lanes.get(key)
            if lane is not None:
                lane.append(row)
                continue
            lane = run.lanes[key] = deque([row])
            task = asyncio.create_task(self._lane(run, key, lane))
            run.tasks.add(task)
            task.add_done_callback(lambda done: self._lane_done(run, done))

    @staticmethod
    def _lane_done(run: _Pass, task: asyncio.Task[None]) -> None:
        run.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            run.halt(task.exception())
        run.progress.set()

    async def _lane(self, run: _Pass, key: Hashable, lane: deque[Claimed]) -> None:
        """Sends one person's rows in their claimed order, one at a time."""
        try:
            while lane:
                if run.stopping or self.paused():
                    run.untouched.extend(lane)
                    run.outstanding -= len(lane)
                    lane.clear()
                    break
                row = lane.popleft()
                try:
                    async with run.slots:
                        verdict, until = await self._one(row, run)
                finally:
                    run.outstanding -= 1
                    run.progress.set()
                if verdict is _Verdict.UNSTARTED:
                    run.untouched.append(row)
                elif verdict is _Verdict.HELD and lane:
                    assert until is not None
                    rest = list(lane)
                    run.outstanding -= len(rest)
                    lane.clear()
                    await unclaim(self.db, rest, until, "waiting behind a 429 to this chat")
                elif verdict is _Verdict.GONE and lane:
                    # mark_unreachable moved them already (pending and claimed alike).
                    run.report.unreachable += len(lane)
                    run.outstanding -= len(lane)
                    lane.clear()
        finally:
            run.lanes.pop(key, None)

    async def _hand_back(self, run: _Pass) -> None:
        """Rows the pass never started go back to the queue, their attempt refunded."""
        if run.untouched:
            await unclaim(self.db, run.untouched)
            run.untouched.clear()

    async def _report_expired(self, run: _Pass) -> None:
        if run.expired:
            expired, run.expired = run.expired, []
            log.warning("%s outbox message(s) were too old to send", len(expired))
            await report_expired(self.db, expired, self.clock.now())

    @asynccontextmanager
    async def _leases_kept(self, run: _Pass) -> AsyncIterator[None]:
        """Renews the pass's leases in the background while it sends.

        Leases are short (a crashed sender's rows are taken up within seconds), and a
        pass may take longer than one lease (a flood wait, thousands of rows), so every
        claim of the pass is renewed every third of a lease for as long as it lives.
        """

        async def keep() -> None:
            while True:
                await self.sleep(self.lease.total_seconds() / 3)
                try:
                    await renew(self.db, run.tokens, self.clock.now() + self.lease)
                except (SQLAlchemyError, OSError) as exc:
                    log.warning("could not renew the outbox lease: %s", exc)

        task = asyncio.create_task(keep())
        try:
            yield
        finally:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task

    # One row -----------------------------------------------------------------------
    @log_context.for_outbox_row
    async def _one(self, row: Claimed, run: _Pass) -> tuple[_Verdict, datetime | None]:
        """Sends one row. Anything that goes wrong with it (rendering it, an unexpected
        error) fails this row with its reason, and the others go on. Only the database
        being unreachable stops the pass: nothing could be recorded, and the rows go back
        to the queue when their lease runs out."""
        report = run.report
        try:
            now = self.clock.now()
            if row.expires_at is not None and row.expires_at <= now:
                await finish(self.db, row, OutboxState.EXPIRED, "too old to send")
                run.expired.append(row.id)
                report.expired += 1
                metrics.outbox_outcome(row.kind, "expired")
                return _Verdict.DONE, None
            rendered = await render(self.db, row, now)
            if rendered is None:
                await finish(self.db, row, OutboxState.SKIPPED, "no longer relevant")
                report.skipped += 1
                metrics.outbox_outcome(row.kind, "skipped")
                return _Verdict.DONE, None
            return await self._send(row, rendered, run)
        except _NotStarted:
            return _Verdict.UNSTARTED, None
        except Exception as exc:
            if database_unreachable(exc):
                run.halt(exc)
                return _Verdict.DONE, None
            log.exception("outbox row %s (%s) failed", row.id, row.kind)
            await self._failed(row, f"{type(exc).__name__}: {exc}"[:500], report)
            return _Verdict.DONE, None

    async def _failed(self, row: Claimed, reason: str, report: SendReport) -> None:
        await finish(self.db, row, OutboxState.FAILED, reason)
        report.failed += 1
        metrics.outbox_outcome(row.kind, "failed")
        self.activity += 1

    async def _send(
        self, row: Claimed, rendered: Rendered, run: _Pass
    ) -> tuple[_Verdict, datetime | None]:
        """Sends one rendered row (in parts if long) and applies the outcome's rule."""
        report = run.report
        chat_id = rendered.chat_id
        pace = _RowPace(self, run)
        for _ in range(2):  # the second round only after a chat migration
            try:
                async with self._chats.hold(chat_id):
                    message_id = await metrics.send_timed(
                        pace,
                        lambda timed: deliver(self.bot, timed, chat_id, rendered),  # noqa: B023 - run at once
                    )
            except RetryAfter as exc:
                delay = exc.retry_after
                seconds = delay.total_seconds() if isinstance(delay, timedelta) else float(delay)
                until = self.clock.now() + timedelta(seconds=seconds)
                await release(self.db, row, until, "429 flood control", count_attempt=False)
                report.retried += 1
                metrics.outbox_outcome(row.kind, "retried")
                self._flood(chat_id, seconds, until, run)
                return _Verdict.HELD, until
            except ChatMigrated as exc:
                assert row.person_id is not None
                await move_chat(self.db, row.person_id, exc.new_chat_id)
                chat_id = exc.new_chat_id
                continue
            except Forbidden as exc:
                await self._unreachable(row, f"403: {exc.message}", report)
                return _Verdict.GONE, None
            except BadRequest as exc:
                if "chat not found" in exc.message.lower():
                    await self._unreachable(row, f"400: {exc.message}", report)
                    return _Verdict.GONE, None
                await self._failed(row, f"400: {exc.message}", report)
                return _Verdict.DONE, None
            except TimedOut:
                await release(
                    self.db,
                    row,
                    self.clock.now() + backoff(row.attempts),
                    "timeout: delivery unknown, will send again",
                )
                report.retried += 1
                metrics.outbox_outcome(row.kind, "retried")
                return _Verdict.DONE, None
            except NetworkError as exc:
                await release(
                    self.db, row, self.clock.now() + backoff(row.attempts), str(exc.message)
                )
                report.retried += 1
                metrics.outbox_outcome(row.kind, "retried")
                return _Verdict.DONE, None
            except TelegramError as exc:
                await self._failed(row, str(exc.message), report)
                return _Verdict.DONE, None

            async def settle(delivered: Delivered, error: Exception | None) -> None:
                if error is None:
                    report.sent += 1
                    metrics.outbox_outcome(delivered.row.kind, "sent")
                    report.sent_keys.append(delivered.row.key)
                    self.activity += 1
                else:
                    log.error("outbox row %s could not be recorded: %s", delivered.row.id, error)
                    await self._failed(
                        delivered.row, f"{type(error).__name__}: {error}"[:500], report
                    )

            await self.recorder.add(Delivered(row, chat_id, message_id, self.clock.now()), settle)
            return _Verdict.DONE, None
        await self._failed(row, "chat migrated twice", report)
        return _Verdict.DONE, None

    def _flood(self, chat_id: int, seconds: float, until: datetime, run: _Pass) -> None:
        """A 429: that chat waits until ``until``; a cluster of them pauses everything."""
        hold = getattr(self.pacer, "hold", None)
        if hold is not None:
            hold(chat_id, seconds)
        now = self.clock.now()
        self._floods = [at for at in self._floods if now - at < FLOOD_WINDOW] + [now]
        if len(self._floods) >= FLOOD_CLUSTER:
            log.warning("429s cluster: every send pauses %.1f s", seconds)
            self.paused_until = max(self.paused_until or until, until)
            run.report.paused_until = self.paused_until
            if hold is not None:
                hold(None, seconds)
            run.halt()

    async def _unreachable(self, row: Claimed, reason: str, report: SendReport) -> None:
        # This person's earlier deliveries are recorded before their rows move away.
        await self.recorder.flush()
        await finish(self.db, row, OutboxState.UNREACHABLE, reason)
        if row.person_id is not None:
            await mark_unreachable(self.db, row.person_id, self.clock.now(), reason)
        report.unreachable += 1
        metrics.outbox_outcome(row.kind, "unreachable")
        self.activity += 1

    async def _write(self, db: Database, delivered: Sequence[Delivered]) -> None:
        await record_deliveries(db, delivered)


async def _first_of(events: tuple[asyncio.Event, ...], seconds: float) -> asyncio.Event | None:
    """Waits until one of ``events`` is set (returns it) or ``seconds`` pass (None)."""
    for event in events:
        if event.is_set():
            return event
    waiters = {asyncio.ensure_future(event.wait()): event for event in events}
    try:
        done, _ = await asyncio.wait(
            waiters, timeout=max(seconds, 0), return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        for waiter in waiters:
            waiter.cancel()
    for waiter in done:
        return waiters[waiter]
    return None
