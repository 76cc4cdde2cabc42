"""Building the Application in one place, never at import time."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import TYPE_CHECKING, Any, cast

from telegram import Update
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    ContextTypes,
    ExtBot,
    TypeHandler,
)
from telegram.request import BaseRequest

from liaison.bot.downloads import RequestDownloader, StreamingDownloader
from liaison.bot.error_handler import on_error
from liaison.bot.guards import guard
from liaison.bot.inbox import InboxProcessor, note_error
from liaison.bot.jobs import schedule_jobs
from liaison.bot.settings import Settings, SmtpSettings
from liaison.bot.throttle import Throttle, throttle_handler
from liaison.handlers import register_all
from liaison.handlers.menu import set_all_menus
from liaison.sender.delivery import unthrottled
from liaison.sender.outbox_sender import OutboxSender
from liaison.sender.pacer import Pacer
from liaison.services.clock import Clock, SystemClock
from liaison.services.exports.desk import ExportDesk
from liaison.storage.database import Database
from liaison.ui.context import BotContext, BotData

if TYPE_CHECKING:  # aiosmtplib loads only when an SMTP server is configured
    from liaison.sender.email_sender import EmailSender, SmtpConfig

# A flood is dropped before the guard spends a database read on it (bot/throttle.py).
THROTTLE_GROUP = -2
GUARD_GROUP = -1


class AppData(BotData):
    """bot_data as the composition root sees it: what handlers share, plus what jobs drive."""

    settings: Settings
    sender: OutboxSender
    mailer: EmailSender | None
    inbox: InboxProcessor
    throttle: Throttle
    menus: asyncio.Task[None]


def smtp_config(smtp: SmtpSettings) -> SmtpConfig | None:
    """The e-mail sender's view of the SMTP settings; None when no server is configured."""
    if smtp.host is None or smtp.sender is None or smtp.port is None:
        return None
    from liaison.sender.email_sender import Security, SmtpConfig

    return SmtpConfig(
        host=smtp.host,
        port=smtp.port,
        security=Security(smtp.security.value),
        sender=smtp.sender,
        user=smtp.user,
        password=smtp.password.get_secret_value() if smtp.password else None,
        timeout=smtp.timeout,
        attachment_limit=int(smtp.max_attachment_mb * 1024 * 1024),
    )


LiaisonApplication = Application[
    ExtBot[None], BotContext, dict[Any, Any], dict[Any, Any], AppData, Any
]


def build_application(
    settings: Settings,
    *,
    db: Database | None = None,
    clock: Clock | None = None,
    request: BaseRequest | None = None,
    token: str | None = None,
    rate_limit: bool = True,
) -> LiaisonApplication:
    """Wires settings, database, clock and handlers into a ready Application.

    ``request`` replaces the HTTP transport: the tests and the offline demo pass the
    recording fake, so nothing leaves the machine.
    """
    database = db or Database.from_url(settings.database_url)
    context_types = ContextTypes(context=BotContext, bot_data=AppData)

    async def post_init(app: LiaisonApplication) -> None:
        # Every enrolled person's menu is set again at each start: one Bot API call each,
        # so with thousands of people it runs beside the bot, not before its first update.
        app.bot_data.menus = asyncio.create_task(
            set_all_menus(app.bot, database, settings.default_locale), name="menus"
        )

    builder = (
        ApplicationBuilder()
        .token(token or settings.require_token())
        .base_url(settings.api_base_url)
        .base_file_url(settings.api_file_base_url)
        .context_types(context_types)
        .post_init(post_init)
    )
    if rate_limit:
        builder = builder.rate_limiter(
            AIORateLimiter(overall_max_rate=settings.sending.global_rate, max_retries=2)  # type: ignore[arg-type]
        )
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    app = cast(LiaisonApplication, builder.build())
    data = app.bot_data
    data.settings = settings
    data.db = database
    data.clock = clock or SystemClock()
    data.data_dir = settings.data_dir
    data.default_locale = settings.default_locale
    data.default_phone_region = settings.default_phone_region
    data.exports = ExportDesk()
    mail = smtp_config(settings.smtp)
    data.mail_enabled = mail is not None
    data.mailer = None
    if mail is not None:
        from liaison.sender.email_sender import EmailSender

        data.mailer = EmailSender(database, data.clock, mail, settings.data_dir, data.exports)
    # Files are streamed with a byte cap; the recording stand-in serves them in tests.
    data.downloader = RequestDownloader(app.bot) if request else StreamingDownloader()
    # Outbox sends bypass AIORateLimiter: the sender's Pacer is their one throttle.
    data.sender = OutboxSender(
        unthrottled(app.bot),
        database,
        data.clock,
        Pacer(settings.sending.global_rate, settings.sending.per_chat_interval),
        max_in_flight=settings.sending.max_in_flight,
    )

    data.inbox = InboxProcessor(app, database, data.clock, concurrency=settings.updates.concurrency)

    data.throttle = Throttle(data.clock, burst=settings.throttle.burst, rate=settings.throttle.rate)
    app.add_handler(TypeHandler(Update, throttle_handler(data.throttle)), group=THROTTLE_GROUP)
    app.add_handler(TypeHandler(Update, guard), group=GUARD_GROUP)
    register_all(app)
    # note_error first: it decides whether this try's error reaches the apology at all.
    app.add_error_handler(note_error)
    app.add_error_handler(on_error)
    if app.job_queue is not None:
        schedule_jobs(
            app.job_queue,
            data.sender,
            data.inbox.kick,
            database,
            data.clock,
            settings.data_dir,
            timedelta(seconds=settings.sending.tick_seconds),
            mailer=data.mailer,
        )
    return app
