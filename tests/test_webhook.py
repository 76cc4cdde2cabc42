"""Webhook mode: the server on 127.0.0.1 takes updates only with the secret token."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import httpx
from pydantic import SecretStr

from liaison.bot.application import build_application
from liaison.bot.cli import webhook_options
from liaison.bot.sandbox.fake_telegram import FAKE_TOKEN, RecordingRequest
from liaison.bot.settings import Mode, Settings, WebhookSettings
from liaison.storage.database import Database
from liaison.ui.i18n import translator
from tests.conftest import STRANGER

EN = translator("en")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_webhook_accepts_updates_with_the_secret_and_refuses_others(
    sqlite_db: Database, tmp_path: Path
) -> None:
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
            secret_token=SecretStr("s3cret-token"),
        ),
    )
    request = RecordingRequest()
    app = build_application(settings, db=sqlite_db, request=request, rate_limit=False)
    options = webhook_options(settings)
    assert options["webhook_url"] == "https://liaison.example.org/hook"
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_webhook(
        listen=options["listen"],
        port=options["port"],
        url_path=options["url_path"],
        webhook_url=options["webhook_url"],
        secret_token=options["secret_token"],
        allowed_updates=options["allowed_updates"],
    )
    try:
        set_webhook = request.sent("setWebhook")[-1]
        assert set_webhook["url"] == "https://liaison.example.org/hook"
        assert set_webhook["secret_token"] == "s3cret-token"
        update = {
            "update_id": 1,
            "message": {
                "message_id": 1,
                "date": 1_700_000_000,
                "chat": {"id": STRANGER.id, "type": "private"},
                "from": STRANGER.as_dict(),
                "text": "hello",
            },
        }
        url = f"http://127.0.0.1:{port}/hook"
        async with httpx.AsyncClient() as client:
            refused = await client.post(url, json=update)
            accepted = await client.post(
                url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret-token"}
            )
        assert refused.status_code == 403
        assert accepted.status_code == 200
        for _ in range(100):
            if request.texts(STRANGER.id):
                break
            await asyncio.sleep(0.02)
        assert request.texts(STRANGER.id) == [
            EN(
                "Sorry, this bot serves the participants of a training programme, and your "
                "account is not linked yet. Send /start to link it with your phone number or "
                "your code."
            )
        ]
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
