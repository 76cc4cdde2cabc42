"""The webhook, served from our own ASGI app: an update is stored before Telegram gets 200.

PTB's built-in webhook answers 200 as soon as the update is queued in memory. Here each
call is checked (secret token: 403, nothing stored), parsed (not an Update: 400), stored
and committed, and only then answered 200; when the row cannot be stored the answer is
503, and Telegram sends the update again later. GET /healthz answers 200 or 503 with
the same report as `liaison status --json`; GET /metrics answers in Prometheus' text
format (services/metrics.py). In polling mode ``monitor_app`` serves only those two, on
LIAISON_HEALTH__LISTEN / LIAISON_HEALTH__PORT.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from telegram import Bot, Update

from liaison.bot.inbox import InboxProcessor
from liaison.bot.status import status_json
from liaison.services import metrics
from liaison.services.health import Health

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name


HealthCheck = Callable[[], Awaitable[Health]]
Scrape = Callable[[], Awaitable[bytes]]


def monitor_routes(health: HealthCheck | None, scrape: Scrape | None) -> list[Route]:
    """GET /healthz (200 or 503 with the report) and GET /metrics, for those given."""

    async def healthz(request: Request) -> Response:
        """200 when healthy, 503 otherwise, with the report (as `liaison status --json`)."""
        assert health is not None
        report = await health()
        return Response(
            status_json(report),
            status_code=200 if report.healthy else 503,
            media_type="application/json",
        )

    async def metrics_text(request: Request) -> Response:
        assert scrape is not None
        return Response(await scrape(), media_type=metrics.CONTENT_TYPE)

    routes = []
    if health is not None:
        routes.append(Route("/healthz", healthz, methods=["GET"]))
    if scrape is not None:
        routes.append(Route("/metrics", metrics_text, methods=["GET"]))
    return routes


def monitor_app(health: HealthCheck | None, scrape: Scrape | None) -> Starlette:
    """Only /healthz and /metrics: what polling mode serves so instances can be watched."""
    return Starlette(routes=monitor_routes(health, scrape))


def webhook_app(
    inbox: InboxProcessor,
    bot: Bot,
    *,
    path: str,
    secret_token: str | None,
    health: HealthCheck | None = None,
    scrape: Scrape | None = None,
) -> Starlette:
    """The ASGI app: POST /<path> takes one update; GET /healthz says whether all is well."""

    async def receive(request: Request) -> Response:
        if secret_token is not None and not hmac.compare_digest(
            request.headers.get(SECRET_HEADER, "").encode(), secret_token.encode()
        ):
            metrics.webhook_refused()
            return Response("forbidden", status_code=403)
        try:
            payload: Any = json.loads(await request.body())
            update = Update.de_json(payload, bot) if isinstance(payload, dict) else None
        except Exception:  # malformed JSON or a body that is no Update
            update = None
        if update is None or not isinstance(payload.get("update_id"), int):
            log.warning("webhook: a body that is not an Update; answered 400")
            return Response("not an update", status_code=400)
        try:
            await inbox.accept([payload])
        except Exception as exc:
            log.warning(
                "could not store update %s (%s); Telegram will retry", update.update_id, exc
            )
            return Response("try again later", status_code=503)
        return Response(status_code=200)

    routes = [Route(f"/{path.strip('/')}", receive, methods=["POST"])]
    return Starlette(routes=routes + monitor_routes(health, scrape))


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: `liaison run` decides when to stop."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class WebhookServer:
    """uvicorn serving an app (the webhook's, or the monitor's) on an address, until stopped."""

    def __init__(self, app: Starlette, *, listen: str, port: int) -> None:
        config = uvicorn.Config(
            app,
            host=listen,
            port=port,
            log_config=None,
            access_log=False,
            lifespan="off",
        )
        self.server = _Server(config)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self.server.serve())
        while not self.server.started:
            if self._task.done():
                self._task.result()  # raises why it could not start (e.g. the port is taken)
                raise RuntimeError("the webhook server stopped at start-up")
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        self.server.should_exit = True
        if self._task is not None:
            await self._task
