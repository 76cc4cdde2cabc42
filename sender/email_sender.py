"""The e-mail sender: claims only the e-mail kinds of the outbox and sends them over SMTP.

| outcome | rule |
| --- | --- |
| accepted by the server | sent |
| address refused (5xx to RCPT TO) | failed for good; the organizers are told once, in Telegram |
| message refused (5xx to DATA, e.g. too large) | failed, with the server's words |
| server down, timeout, 4xx, login refused | back to pending after 1, 2, 4 ... minutes (at most an
  hour) for as long as the message is worth sending; the digest says mail is delayed |
| expired (past ``expires_at`` when claimed) | expired, not sent |
| nothing to say any more (person gone, no address) | skipped |
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from enum import StrEnum
from pathlib import Path
from typing import Any

import aiosmtplib

from liaison.services.clock import Clock
from liaison.services.exports.desk import ExportDesk
from liaison.services.mail.outcomes import mail_backoff, mail_delayed, mail_refused, mail_sent
from liaison.services.mail.planning import plan_email_digests
from liaison.services.mail.requests import email_address
from liaison.services.outbox.queue import Claimed, claim_due, finish
from liaison.services.people import actor_by_id
from liaison.storage.database import Database
from liaison.storage.enums import EMAIL_KINDS, OutboxKind, OutboxState
from liaison.ui.email import EMAIL_RENDERERS, MailReading, compose
from liaison.ui.i18n import choose_locale, translator

log = logging.getLogger(__name__)


class Security(StrEnum):
    STARTTLS = "starttls"
    TLS = "tls"
    NONE = "none"


@dataclass(frozen=True)
class SmtpConfig:
    """How to reach the mail server; built from the settings by the composition root."""

    host: str
    port: int
    security: Security
    sender: str
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 30.0
    attachment_limit: int = 20 * 1024 * 1024


Transport = Callable[..., Awaitable[Any]]


@dataclass
class MailReport:
    sent: int = 0
    delayed: int = 0
    refused: int = 0
    failed: int = 0
    expired: int = 0
    skipped: int = 0


class EmailSender:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        config: SmtpConfig,
        data_dir: Path,
        desk: ExportDesk,
        *,
        transport: Transport = aiosmtplib.send,
        batch: int = 10,
    ) -> None:
        self.db, self.clock, self.config = db, clock, config
        self.data_dir, self.desk = data_dir, desk
        self.transport, self.batch = transport, batch

    async def tick(self) -> MailReport:
        """Plans the digest e-mails that are due, then sends one batch."""
        await plan_email_digests(self.db, self.clock.now())
        return await self.run_once()

    async def run_once(self) -> MailReport:
        report = MailReport()
        now = self.clock.now()
        claimed = await claim_due(self.db, now, limit=self.batch, kinds=EMAIL_KINDS)
        for row in claimed:
            now = self.clock.now()
            if row.expires_at is not None and row.expires_at <= now:
                await finish(self.db, row, OutboxState.EXPIRED, "too old to send")
                report.expired += 1
                continue
            await self._one(row, report)
        return report

    async def _one(self, row: Claimed, report: MailReport) -> None:
        reader = await actor_by_id(self.db, row.person_id) if row.person_id else None
        address = await email_address(self.db, row.person_id) if row.person_id else None
        if reader is None or address is None:
            await finish(self.db, row, OutboxState.SKIPPED, "no address any more")
            report.skipped += 1
            return
        t = translator(choose_locale(reader.locale, None, reader.programme_locale))
        with tempfile.TemporaryDirectory(prefix="liaison-mail-") as folder:
            reading = MailReading(
                self.db,
                row,
                reader,
                address,
                t,
                self.clock.now(),
                self.data_dir,
                Path(folder),
                self.config.attachment_limit,
            )
            if row.kind is OutboxKind.EMAIL_EXPORT:
                async with self.desk.turn():
                    mail = await EMAIL_RENDERERS[row.kind](reading)
            else:
                mail = await EMAIL_RENDERERS[row.kind](reading)
            if mail is None:
                await finish(self.db, row, OutboxState.SKIPPED, "no longer relevant")
                report.skipped += 1
                return
            message = compose(mail, self.config.sender, reader, address, self.clock.now())
        await self._send(row, message, address, report)

    async def _send(
        self, row: Claimed, message: EmailMessage, address: str, report: MailReport
    ) -> None:
        config = self.config
        try:
            await self.transport(
                message,
                hostname=config.host,
                port=config.port,
                username=config.user,
                password=config.password,
                use_tls=config.security is Security.TLS,
                start_tls=config.security is Security.STARTTLS,
                timeout=config.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            refusal = exc.recipients[0] if exc.recipients else None
            code = refusal.code if refusal is not None else 550
            reason = f"{code} {refusal.message if refusal is not None else 'refused'}"
            if 400 <= code < 500:
                await self._delay(row, reason, report)
                return
            assert row.person_id is not None
            await mail_refused(self.db, row.id, row.person_id, address, reason, self.clock.now())
            report.refused += 1
            return
        except aiosmtplib.SMTPDataError as exc:
            if 400 <= exc.code < 500:
                await self._delay(row, f"{exc.code} {exc.message}", report)
                return
            await finish(self.db, row, OutboxState.FAILED, f"{exc.code} {exc.message}")
            report.failed += 1
            return
        except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
            await self._delay(row, f"{type(exc).__name__}: {exc}", report)
            return
        await mail_sent(self.db, row.id, self.clock.now())
        report.sent += 1

    async def _delay(self, row: Claimed, error: str, report: MailReport) -> None:
        log.warning("e-mail %s delayed: %s", row.key, error)
        until = self.clock.now() + mail_backoff(row.attempts)
        await mail_delayed(self.db, row.id, until, error[:500])
        report.delayed += 1
