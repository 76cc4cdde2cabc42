"""Webhook mode: our own server on 127.0.0.1 stores an update before it answers 200."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from alembic import command
from pydantic import SecretStr
from sqlalchemy import select, text

from liaison.bot.application import LiaisonApplication, build_application
from liaison.bot.cli import webhook_options
from liaison.bot.sandbox.fake_telegram import FAKE_TOKEN, RecordingRequest
from liaison.bot.settings import Mode, Settings, WebhookSettings
from liaison.bot.status import health_expectations
from liaison.bot.webhook import SECRET_HEADER, WebhookServer, webhook_app
from liaison.services.health import check_health, record_heartbeat
from liaison.storage.database import Database
from liaison.storage.enums import InboxState
from liaison.storage.migrate import alembic_config
from liaison.storage.models import InboxUpdate
from liaison.ui.i18n import translator
from tests.conftest import STRANGER

EN = translator("en")
SECRET = "s3cret-token"
REFUSAL = (
    "Sorry, this bot serves the participants of a training programme, and your account "
    "is not linked yet. Send /start to link it with your phone number or your code."
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def hello(update_id: int = 1) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "date": 1_700_000_000,
            "chat": {"id": STRANGER.id, "type": "private"},
            "from": STRANGER.as_dict(),
            "text": "hello",
        },
    }


class Served:
    def __init__(self, app: LiaisonApplication, request: RecordingRequest, url: str) -> None:
        self.app, self.request, self.url = app, request, url

    async def rows(self) -> list[tuple[int, InboxState]]:
        async with self.app.bot_data.db.read() as session:
            found = await session.execute(select(InboxUpdate.update_id, InboxUpdate.state))
            return [(int(u), s) for u, s in found]


@pytest.fixture
async def served(sqlite_db: Database, tmp_path: Path) -> AsyncIterator[Served]:
    port = free_port()
    settings = Settings(
        bot_token=SecretStr(FAKE_TOKEN),
        data_dir=tmp_path,
        mode=Mode.WEBHOOK,
        webhook=WebhookSettings(
            listen="127.0.0.1",
            port=port,
            url="https://liaison.example.org/",
            path="hook",
            secret_token=SecretStr(SECRET),
        ),
    )
    options = webhook_options(settings)
    assert options["webhook_url"] == "https://liaison.example.org/hook"
    request = RecordingRequest()
    app = build_application(settings, db=sqlite_db, request=request, rate_limit=False)
    await app.initialize()
    server = WebhookServer(
        webhook_app(
            app.bot_data.inbox,
            app.bot,
            path=options["url_path"],
            secret_token=options["secret_token"],
            health=lambda: check_health(
                app.bot_data.db, app.bot_data.clock.now(), health_expectations(settings)
            ),
        ),
        listen=options["listen"],
        port=options["port"],
    )
    await server.start()
    try:
        yield Served(app, request, f"http://127.0.0.1:{port}/hook")
    finally:
        await server.stop()
        await app.shutdown()


async def test_webhook_without_or_with_a_wrong_secret_is_refused_and_nothing_stored(
    served: Served,
) -> None:
    async with httpx.AsyncClient() as client:
        missing = await client.post(served.url, json=hello())
        wrong = await client.post(served.url, json=hello(), headers={SECRET_HEADER: "guess"})
    assert (missing.status_code, wrong.status_code) == (403, 403)
    assert await served.rows() == []


async def test_webhook_body_that_is_not_an_update_gets_400_and_nothing_stored(
    served: Served,
) -> None:
    headers = {SECRET_HEADER: SECRET}
    async with httpx.AsyncClient() as client:
        answers = [
            await client.post(served.url, content=b"{not json", headers=headers),
            await client.post(served.url, json=[1, 2], headers=headers),
            await client.post(served.url, json={"message": {}}, headers=headers),
        ]
    assert [answer.status_code for answer in answers] == [400, 400, 400]
    assert await served.rows() == []


async def test_webhook_stores_the_update_before_200_and_handles_it_once(served: Served) -> None:
    headers = {SECRET_HEADER: SECRET}
    async with httpx.AsyncClient() as client:
        first = await client.post(served.url, json=hello(7), headers=headers)
        # Telegram sends it again when our 200 was lost on the way.
        again = await client.post(served.url, json=hello(7), headers=headers)
    assert (first.status_code, again.status_code) == (200, 200)
    assert await served.rows() == [(7, InboxState.PENDING)]
    await served.app.bot_data.inbox.drain()
    assert await served.rows() == [(7, InboxState.DONE)]
    assert served.request.texts(STRANGER.id) == [EN(REFUSAL)]


async def test_webhook_answers_503_when_the_update_cannot_be_stored(served: Served) -> None:
    async with served.app.bot_data.db.transaction() as session:
        await session.execute(text("DROP TABLE inbox_updates"))
    async with httpx.AsyncClient() as client:
        answer = await client.post(served.url, json=hello(), headers={SECRET_HEADER: SECRET})
    assert answer.status_code == 503  # so Telegram keeps the update and sends it again
    assert served.request.texts(STRANGER.id) == []


async def test_healthz_answers_503_with_the_reason_until_the_jobs_have_ticked(
    served: Served,
) -> None:
    db = served.app.bot_data.db
    url = db.engine.url.render_as_string(hide_password=False)
    await asyncio.to_thread(command.stamp, alembic_config(url), "heads")
    health_url = served.url.rsplit("/", 1)[0] + "/healthz"
    async with httpx.AsyncClient() as client:
        waiting = await client.get(health_url)
        now = served.app.bot_data.clock.now()
        await record_heartbeat(db, "plan", now, 0.1)
        await record_heartbeat(db, "send", now, 0.1)
        well = await client.get(health_url)
    assert waiting.status_code == 503
    assert {p["problem"] for p in waiting.json()["problems"]} == {"job_never_ran"}
    assert well.status_code == 200 and well.json()["healthy"] is True
