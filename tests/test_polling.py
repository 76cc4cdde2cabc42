"""Polling confirms a batch (asks for the next offset) only after the batch is stored."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.exc import OperationalError

from liaison.bot.polling import poll
from liaison.storage.enums import InboxState
from liaison.storage.models import InboxUpdate
from tests.conftest import ZHANG, Harness


async def test_batch_not_stored_is_not_confirmed_and_comes_again(harness: Harness) -> None:
    h = harness
    update = h.updates.command(ZHANG, "/help").to_dict()
    inbox = h.app.bot_data.inbox
    store = inbox.accept
    tries: list[int] = []

    async def accept_after_an_outage(payloads: Sequence[Mapping[str, Any]]) -> int:
        tries.append(len(payloads))
        if len(tries) == 1:
            h.request.updates = [update]  # unconfirmed: Telegram sends it again
            raise OperationalError("INSERT", {}, ConnectionRefusedError("database is down"))
        return await store(payloads)

    inbox.accept = accept_after_an_outage  # type: ignore[method-assign]
    h.request.updates = [update]
    stop = asyncio.Event()
    task = asyncio.create_task(
        poll(h.app.bot, inbox, stop, allowed_updates=["message"], poll_seconds=0)
    )
    try:
        for _ in range(500):
            if len(h.request.sent("getUpdates")) >= 3:
                break
            await asyncio.sleep(0.01)
    finally:
        stop.set()
        await task
    offsets = [call.get("offset") for call in h.request.sent("getUpdates")[:3]]
    assert offsets == [None, None, update["update_id"] + 1]
    assert tries == [1, 1]
    assert h.request.sent("deleteWebhook")  # polling and a webhook cannot both be set
    async with h.db.read() as session:
        stored = await session.get(InboxUpdate, update["update_id"])
    assert stored is not None and stored.state is InboxState.PENDING
