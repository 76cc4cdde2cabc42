"""The outbox sender: sends claimed rows and applies one rule per Telegram outcome.

| outcome | rule |
| --- | --- |
| sent | state sent, Telegram message_id kept |
| 429 | row back to pending at retry_after, no attempt counted; the batch stops and the
  sender pauses until then |
| 5xx, network error | back to pending after exponential backoff; failed after 8 attempts |
| timeout | the same: the message may have gone out, and is sent again (see docs/outbox.md) |
| 403, 400 chat not found | the person is unreachable; their pending rows are dropped and
  the organizers told; never retried |
| chat migrated | the new chat id is stored and the row sent there once |
| expired | not sent, marked expired, reported to the organizers |
| an error rendering or recording it | that row failed with the error; the batch goes on |

A text over Telegram's 4,096 characters goes out as several messages in order, the
keyboard under the last (sender/parts.py). Batches are held under a short lease, renewed
while they are sent; rows a dead sender abandoned come back one at a time (docs/outbox.md).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
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

from liaison.sender.delivery import deliver
from liaison.sender.pacer import Pacer
from liaison.services import log_context, metrics
from liaison.services.checkins.conversation import prompt_sent
from liaison.services.clock import Clock
from liaison.services.outbox.notices import mark_unreachable, move_chat, report_expired
from liaison.services.outbox.payloads import RunPayload, as_payload
from liaison.services.outbox.queue import (
    LEASE,
    Claimed,
    backoff,
    claim_due,
    finish,
    mark_sent,
    release,
    renew,
    unclaim,
)
from liaison.storage.database import Database
from liaison.storage.enums import TELEGRAM_KINDS, OutboxKind, OutboxState
from liaison.ui.outbox import Rendered, render

log = logging.getLogger(__name__)


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
    ) -> None:
        self.bot, self.db, self.clock, self.pacer = bot, db, clock, pacer
        self.batch, self.lease, self.sleep = batch, lease, sleep
        self.paused_until: datetime | None = None

    async def run_once(self) -> SendReport:
        """Claims one batch of due rows and sends them, one row at a time.

        Rows a dead sender abandoned come back one per claim (services/outbox/queue.py);
        they are worked off here one after another, then a normal batch follows.
        """
        report = SendReport()
        now = self.clock.now()
        if self.paused_until is not None and now < self.paused_until:
            report.paused_until = self.paused_until
            return report
        self.paused_until = None
        expired: list[int] = []
        for _ in range(self.batch + 1):
            claimed = await claim_due(
                self.db,
                self.clock.now(),
                limit=self.batch,
                lease=self.lease,
                kinds=TELEGRAM_KINDS,
            )
            if not claimed:
                break
            stopped = await self._batch(claimed, report, expired)
            if stopped or not claimed[0].recovered:
                break
        if expired:
            log.warning("%s outbox message(s) were too old to send", len(expired))
            await report_expired(self.db, expired, self.clock.now())
        return report

    async def _batch(self, claimed: list[Claimed], report: SendReport, expired: list[int]) -> bool:
        """Sends one claimed batch; True when it stopped for flood control."""
        async with self._lease_kept(claimed[0].token):
            for index, row in enumerate(claimed):
                if await self._one(row, report, expired):
                    await unclaim(self.db, claimed[index + 1 :])
                    return True
        return False

    @asynccontextmanager
    async def _lease_kept(self, token: str) -> AsyncIterator[None]:
        """Renews the batch's lease in the background while it is being sent.

        Leases are short (a crashed sender's batch is taken up within seconds), and a
        batch may take longer than one lease (a flood wait, a slow network), so the
        lease is renewed every third of it for as long as this sender is alive.
        """

        async def keep() -> None:
            while True:
                await self.sleep(self.lease.total_seconds() / 3)
                try:
                    await renew(self.db, token, self.clock.now() + self.lease)
                except (SQLAlchemyError, OSError) as exc:
                    log.warning("could not renew the outbox lease: %s", exc)

        task = asyncio.create_task(keep())
        try:
            yield
        finally:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task

    @log_context.for_outbox_row
    async def _one(self, row: Claimed, report: SendReport, expired: list[int]) -> bool:
        """Sends one row; True when the whole batch must stop (flood control).

        Anything that goes wrong with this row (rendering it, an unexpected error) fails
        this row with its reason, and the batch goes on. Only the database being
        unreachable stops the batch: nothing could be recorded, and the rows go back
        to the queue when their lease runs out.
        """
        try:
            now = self.clock.now()
            if row.expires_at is not None and row.expires_at <= now:
                await finish(self.db, row, OutboxState.EXPIRED, "too old to send")
                expired.append(row.id)
                report.expired += 1
                metrics.outbox_outcome(row.kind, "expired")
                return False
            rendered = await render(self.db, row, now)
            if rendered is None:
                await finish(self.db, row, OutboxState.SKIPPED, "no longer relevant")
                report.skipped += 1
                metrics.outbox_outcome(row.kind, "skipped")
                return False
            return await self._send(row, rendered, report)
        except Exception as exc:
            if database_unreachable(exc):
                raise
            log.exception("outbox row %s (%s) failed", row.id, row.kind)
            await finish(self.db, row, OutboxState.FAILED, f"{type(exc).__name__}: {exc}"[:500])
            report.failed += 1
            metrics.outbox_outcome(row.kind, "failed")
            return False

    async def _send(self, row: Claimed, rendered: Rendered, report: SendReport) -> bool:
        """Sends one rendered row (in parts if long); True when the batch must stop."""
        chat_id = rendered.chat_id
        for _ in range(2):  # the second round only after a chat migration
            try:
                message_id = await metrics.send_timed(
                    self.pacer,
                    lambda pace: deliver(self.bot, pace, chat_id, rendered),  # noqa: B023 - run at once
                )
            except RetryAfter as exc:
                delay = exc.retry_after
                seconds = delay.total_seconds() if isinstance(delay, timedelta) else float(delay)
                until = self.clock.now() + timedelta(seconds=seconds)
                await release(self.db, row, until, "429 flood control", count_attempt=False)
                self.paused_until = until
                report.paused_until = until
                report.retried += 1
                metrics.outbox_outcome(row.kind, "retried")
                return True
            except ChatMigrated as exc:
                assert row.person_id is not None
                await move_chat(self.db, row.person_id, exc.new_chat_id)
                chat_id = exc.new_chat_id
                continue
            except Forbidden as exc:
                await self._unreachable(row, f"403: {exc.message}", report)
                return False
            except BadRequest as exc:
                if "chat not found" in exc.message.lower():
                    await self._unreachable(row, f"400: {exc.message}", report)
                else:
                    await finish(self.db, row, OutboxState.FAILED, f"400: {exc.message}")
                    report.failed += 1
                    metrics.outbox_outcome(row.kind, "failed")
                return False
            except TimedOut:
                await release(
                    self.db,
                    row,
                    self.clock.now() + backoff(row.attempts),
                    "timeout: delivery unknown, will send again",
                )
                report.retried += 1
                metrics.outbox_outcome(row.kind, "retried")
                return False
            except NetworkError as exc:
                await release(
                    self.db, row, self.clock.now() + backoff(row.attempts), str(exc.message)
                )
                report.retried += 1
                metrics.outbox_outcome(row.kind, "retried")
                return False
            except TelegramError as exc:
                await finish(self.db, row, OutboxState.FAILED, str(exc.message))
                report.failed += 1
                metrics.outbox_outcome(row.kind, "failed")
                return False
            await mark_sent(self.db, row, chat_id, message_id, self.clock.now())
            report.sent += 1
            metrics.outbox_outcome(row.kind, "sent")
            report.sent_keys.append(row.key)
            if row.kind is OutboxKind.CHECKIN_PROMPT:
                await prompt_sent(self.db, as_payload(row.payload, RunPayload).run_id)
            return False
        await finish(self.db, row, OutboxState.FAILED, "chat migrated twice")
        report.failed += 1
        metrics.outbox_outcome(row.kind, "failed")
        return False

    async def _unreachable(self, row: Claimed, reason: str, report: SendReport) -> None:
        await finish(self.db, row, OutboxState.UNREACHABLE, reason)
        if row.person_id is not None:
            await mark_unreachable(self.db, row.person_id, self.clock.now(), reason)
        report.unreachable += 1
        metrics.outbox_outcome(row.kind, "unreachable")


def database_unreachable(error: BaseException) -> bool:
    """Whether an error means the database cannot be reached (so nothing can be recorded)."""
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, OperationalError | InterfaceError | OSError | TimeoutError)
