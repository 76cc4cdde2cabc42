"""`liaison run`: the Application, the inbox worker, and polling or the webhook.

Start-up handles what a crash or an outage left unfinished before any new update is
fetched; SIGTERM / SIGINT stop fetching first, let the worker finish the update in hand,
then stop the jobs.

Several instances on PostgreSQL: in polling mode only the holder of the poller lock polls
(bot/election.py); every instance runs the inbox worker (handling the rows the poller
stored), the sender and the planner. On SQLite one instance runs and simply polls.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

from telegram.ext import Application

from liaison.bot.cli import ALLOWED_UPDATES, webhook_options
from liaison.bot.election import Election
from liaison.bot.inbox import InboxProcessor, is_transient, sleep_unless
from liaison.bot.polling import BACKOFF, poll
from liaison.bot.settings import Mode, Settings
from liaison.bot.status import health_expectations
from liaison.services import inbox as inbox_rows
from liaison.services import metrics
from liaison.services.health import Health, check_health
from liaison.storage.enums import InboxState

if TYPE_CHECKING:  # uvicorn and Starlette load only in webhook mode or with the health port
    from liaison.bot.webhook import WebhookServer

log = logging.getLogger(__name__)

STOP_GRACE_SECONDS = 20.0


async def serve(app: Application[Any, Any, Any, Any, Any, Any], settings: Settings) -> None:
    """Runs until SIGTERM or SIGINT (or until fetching fails for good)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    inbox: InboxProcessor = app.bot_data.inbox
    async with app:
        if app.post_init is not None:
            await app.post_init(app)
        await app.start()
        worker: asyncio.Task[None] | None = None
        sending = asyncio.create_task(app.bot_data.sender.run(stop), name="outbox-sender")
        feed: asyncio.Task[None] | None = None
        server: WebhookServer | None = None
        monitor: WebhookServer | None = None

        def health() -> Awaitable[Health]:
            return check_health(
                app.bot_data.db, app.bot_data.clock.now(), health_expectations(settings)
            )

        def scrape() -> Awaitable[bytes]:
            return metrics.exposition(app.bot_data.db, app.bot_data.clock.now())

        try:
            await _recover(inbox, stop)
            worker = asyncio.create_task(inbox.run(stop), name="inbox-worker")
            if settings.mode is Mode.WEBHOOK:
                from liaison.bot.webhook import WebhookServer, webhook_app

                options = webhook_options(settings)
                server = WebhookServer(
                    webhook_app(
                        inbox,
                        app.bot,
                        path=options["url_path"],
                        secret_token=options["secret_token"],
                        health=health,
                        scrape=scrape,
                    ),
                    listen=options["listen"],
                    port=options["port"],
                )
                await server.start()
                await app.bot.set_webhook(
                    url=options["webhook_url"],
                    secret_token=options["secret_token"],
                    allowed_updates=options["allowed_updates"],
                )
                log.info("webhook listening on %s:%s", options["listen"], options["port"])
            else:
                feed = asyncio.create_task(poll_when_elected(app, inbox, stop), name="polling")
                feed.add_done_callback(lambda _: stop.set())
            if settings.health.port is not None:
                from liaison.bot.webhook import WebhookServer, monitor_app

                monitor = WebhookServer(
                    monitor_app(health, scrape),
                    listen=settings.health.listen,
                    port=settings.health.port,
                )
                await monitor.start()
                log.info(
                    "/healthz and /metrics on %s:%s", settings.health.listen, settings.health.port
                )
            await stop.wait()
        finally:
            stop.set()
            log.info("stopping")
            if feed is not None:
                feed.cancel()
                await asyncio.gather(feed, return_exceptions=True)
            if server is not None:
                await server.stop()
            if monitor is not None:
                await monitor.stop()
            if worker is not None:
                try:
                    await asyncio.wait_for(worker, STOP_GRACE_SECONDS)
                except TimeoutError:
                    log.warning("the update in hand did not finish; it is handled at next start")
            await asyncio.gather(sending, return_exceptions=True)  # in-flight rows recorded
            menus = getattr(app.bot_data, "menus", None)
            if menus is not None:
                menus.cancel()  # setting everyone's menu again is not worth waiting for
            if app.running:
                await app.stop()
        if feed is not None and not feed.cancelled():
            error = feed.exception()
            if error is not None:
                raise error


async def poll_when_elected(
    app: Application[Any, Any, Any, Any, Any, Any], inbox: InboxProcessor, stop: asyncio.Event
) -> None:
    """Polls; on PostgreSQL only while this instance holds the poller lock."""
    if inbox.db.dialect != "postgresql":
        log.info("polling for updates")
        await poll(app.bot, inbox, stop, allowed_updates=ALLOWED_UPDATES)
        return
    election = Election(inbox.db.engine)
    try:
        while not stop.is_set():
            if not await election.acquire(stop):
                return
            log.info("this instance holds the poller lock: polling for updates")
            leave = asyncio.Event()
            tasks = {
                "feed": asyncio.create_task(
                    poll(app.bot, inbox, leave, allowed_updates=ALLOWED_UPDATES)
                ),
                "watch": asyncio.create_task(election.watch(stop)),
                "stop": asyncio.create_task(stop.wait()),
            }
            try:
                done, _ = await asyncio.wait(tasks.values(), return_when=asyncio.FIRST_COMPLETED)
            finally:  # also when this task is cancelled: no poll may outlive it
                leave.set()
                for task in tasks.values():
                    task.cancel()  # at once: another instance may poll already
                await asyncio.gather(*tasks.values(), return_exceptions=True)
            feed = tasks["feed"]
            if feed in done and not feed.cancelled() and feed.exception() is not None:
                raise feed.exception()  # type: ignore[misc]
            if not stop.is_set():
                log.warning("lost the poller lock; waiting to be elected again")
    finally:
        await election.release()


async def _recover(inbox: InboxProcessor, stop: asyncio.Event) -> None:
    """Handles rows left pending (crash, outage) before new updates come in."""
    failures = 0
    while not stop.is_set():
        try:
            counts = await inbox_rows.state_counts(inbox.db)
            pending = counts.get(InboxState.PENDING, 0)
            if pending:
                log.info("handling %s update(s) left unfinished", pending)
            await inbox.drain()
            return
        except Exception as exc:
            if not is_transient(exc):
                raise
            failures += 1
            log.warning("database unreachable at start-up (%s); trying again", exc)
            await sleep_unless(stop, BACKOFF[min(failures, len(BACKOFF)) - 1])
