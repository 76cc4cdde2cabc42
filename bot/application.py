"""Building the Application in one place, never at import time."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

from telegram import Update
from telegram.ext import AIORateLimiter, ApplicationBuilder, ContextTypes, TypeHandler
from telegram.request import BaseRequest

from bot.context import BotApplication, BotContext, BotData
from bot.dispatcher import Dispatcher, Pacer
from bot.errors import on_error
from bot.guards import guard
from bot.settings import Settings
from handlers import register_all
from handlers.menu import set_all_menus
from services.clock import Clock, SystemClock
from services.planning import plan_all
from services.updates import prune_updates
from storage.database import Database

log = logging.getLogger(__name__)

GUARD_GROUP = -1


async def plan_tick(context: BotContext) -> None:
    """Plans due check-in runs, reminders and escalations into the outbox."""
    report = await plan_all(context.db, context.clock.now(), Path(context.settings.data_dir))
    checkins, deadlines = report.checkins, report.deadlines
    if checkins.runs_created or checkins.reminders or checkins.escalations:
        log.info("planned check-ins %s", checkins)
    if deadlines.reminders or deadlines.digests or deadlines.drafts_reminded:
        log.info("planned deadlines %s", deadlines)


async def dispatch_tick(context: BotContext) -> None:
    """Sends what is due in the outbox."""
    report = await context.bot_data.dispatcher.run_once()
    if report.sent or report.retried or report.failed or report.expired:
        log.info("dispatched %s", report)


async def _prune(context: BotContext) -> None:
    removed = await prune_updates(context.db, context.clock.now())
    if removed:
        log.info("forgot %s old update ids", removed)


def build_application(
    settings: Settings,
    *,
    db: Database | None = None,
    clock: Clock | None = None,
    request: BaseRequest | None = None,
    token: str | None = None,
    rate_limit: bool = True,
) -> BotApplication:
    """Wires settings, database, clock and handlers into a ready Application.

    ``request`` replaces the HTTP transport: the tests and the offline demo pass the
    recording fake, so nothing leaves the machine.
    """
    database = db or Database.from_url(settings.database_url)
    context_types = ContextTypes(context=BotContext, bot_data=BotData)

    async def post_init(app: BotApplication) -> None:
        await set_all_menus(app.bot, database, settings.default_locale)

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
    app = cast(BotApplication, builder.build())
    app.bot_data.settings = settings
    app.bot_data.db = database
    app.bot_data.clock = clock or SystemClock()
    app.bot_data.dispatcher = Dispatcher(
        app.bot,
        database,
        app.bot_data.clock,
        Pacer(settings.sending.global_rate, settings.sending.per_chat_interval),
    )

    app.add_handler(TypeHandler(Update, guard), group=GUARD_GROUP)
    register_all(app)
    app.add_error_handler(on_error)
    if app.job_queue is not None:
        # The job queue is only the clock: the database says what is due.
        tick = timedelta(seconds=settings.sending.tick_seconds)
        once = {"max_instances": 1, "coalesce": True}
        app.job_queue.run_repeating(
            cast(Any, plan_tick),
            interval=tick,
            first=timedelta(seconds=5),
            name="plan",
            job_kwargs=once,
        )
        app.job_queue.run_repeating(
            cast(Any, dispatch_tick),
            interval=timedelta(seconds=2),
            first=timedelta(seconds=6),
            name="dispatch",
            job_kwargs=once,
        )
        app.job_queue.run_repeating(
            cast(Any, _prune),
            interval=timedelta(hours=6),
            first=timedelta(minutes=5),
            name="prune-updates",
        )
    return app
