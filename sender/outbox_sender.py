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
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

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
from liaison.services.checkins.conversation import prompt_sent
from liaison.services.clock import Clock
from liaison.services.outbox.notices import mark_unreachable, move_chat, report_expired
from liaison.services.outbox.payloads import RunPayload, as_payload
from liaison.services.outbox.queue import (
    Claimed,
    backoff,
    claim_due,
    finish,
    mark_sent,
    release,
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
        lease: timedelta = timedelta(minutes=2),
    ) -> None:
        self.bot, self.db, self.clock, self.pacer = bot, db, clock, pacer
        self.batch, self.lease = batch, lease
        self.paused_until: datetime | None = None

    async def run_once(self) -> SendReport:
        """Claims one batch of due rows and sends them."""
        report = SendReport()
        now = self.clock.now()
        if self.paused_until is not None and now < self.paused_until:
            report.paused_until = self.paused_until
            return report
        self.paused_until = None
        claimed = await claim_due(
            self.db, now, limit=self.batch, lease=self.lease, kinds=TELEGRAM_KINDS
        )
        expired: list[int] = []
        for index, row in enumerate(claimed):
            now = self.clock.now()
            if row.expires_at is not None and row.expires_at <= now:
                await finish(self.db, row.id, OutboxState.EXPIRED, "too old to send")
                expired.append(row.id)
                report.expired += 1
                continue
            rendered = await render(self.db, row, now)
            if rendered is None:
                await finish(self.db, row.id, OutboxState.SKIPPED, "no longer relevant")
                report.skipped += 1
                continue
            stop = await self._send(row, rendered, report)
            if stop:
                for rest in claimed[index + 1 :]:
                    await release(self.db, rest.id, rest.due_at, None, count_attempt=False)
                break
        if expired:
            log.warning("%s outbox message(s) were too old to send", len(expired))
            await report_expired(self.db, expired, self.clock.now())
        return report

    async def _send(self, row: Claimed, rendered: Rendered, report: SendReport) -> bool:
        """Sends one row; True when the whole batch must stop (flood control)."""
        chat_id = rendered.chat_id
        for _ in range(2):  # the second round only after a chat migration
            await self.pacer.wait(chat_id)
            try:
                message_id = await deliver(self.bot, chat_id, rendered)
            except RetryAfter as exc:
                delay = exc.retry_after
                seconds = delay.total_seconds() if isinstance(delay, timedelta) else float(delay)
                until = self.clock.now() + timedelta(seconds=seconds)
                await release(self.db, row.id, until, "429 flood control", count_attempt=False)
                self.paused_until = until
                report.paused_until = until
                report.retried += 1
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
                    await finish(self.db, row.id, OutboxState.FAILED, f"400: {exc.message}")
                    report.failed += 1
                return False
            except TimedOut:
                await release(
                    self.db,
                    row.id,
                    self.clock.now() + backoff(row.attempts),
                    "timeout: delivery unknown, will send again",
                )
                report.retried += 1
                return False
            except NetworkError as exc:
                await release(
                    self.db, row.id, self.clock.now() + backoff(row.attempts), str(exc.message)
                )
                report.retried += 1
                return False
            except TelegramError as exc:
                await finish(self.db, row.id, OutboxState.FAILED, str(exc.message))
                report.failed += 1
                return False
            await mark_sent(self.db, row.id, chat_id, message_id, self.clock.now())
            report.sent += 1
            report.sent_keys.append(row.key)
            if row.kind is OutboxKind.CHECKIN_PROMPT:
                await prompt_sent(self.db, as_payload(row.payload, RunPayload).run_id)
            return False
        await finish(self.db, row.id, OutboxState.FAILED, "chat migrated twice")
        report.failed += 1
        return False

    async def _unreachable(self, row: Claimed, reason: str, report: SendReport) -> None:
        await finish(self.db, row.id, OutboxState.UNREACHABLE, reason)
        if row.person_id is not None:
            await mark_unreachable(self.db, row.person_id, self.clock.now(), reason)
        report.unreachable += 1
