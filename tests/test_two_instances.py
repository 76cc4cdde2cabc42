"""Two `liaison run` processes on one PostgreSQL database, polling one fake Bot API.

Only the holder of the poller lock polls; both handle stored updates, send and plan.
Cadres and an organizer enrol, strangers write, a fan-out of broadcasts goes to every
cadre; then the poller is SIGKILLed and more updates come. At the end every update is
handled once and answered once, every outbox row is sent once, and the survivor polls.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select
from telegram import Bot

from liaison.bot.sandbox.fake_bot_api import FakeBotApi
from liaison.bot.sandbox.fake_telegram import FAKE_TOKEN
from liaison.bot.sandbox.fake_updates import FakeUser, UpdateFactory
from liaison.services.broadcasts import compose
from liaison.services.people import load_actor
from liaison.storage.database import Database
from liaison.storage.enums import AudienceKind, InboxState, OutboxKind, OutboxState
from liaison.storage.migrate import upgrade
from liaison.storage.models import Heartbeat, InboxUpdate, OutboxMessage
from tests.conftest import LI, ORGANIZER_CHEN, PHONES, WANG, ZHANG, seed
from tests.liaison_process import LiaisonProcess

pytestmark = pytest.mark.postgres

CADRES = (ZHANG, LI, WANG)
BROADCASTS = 12
WAIT = 30.0
ELECTED = "this instance holds the poller lock"
WAITING = "waiting for the poller lock"


async def _prepare(url: str) -> None:
    """Schema and the test programme and roster, as `liaison db upgrade` and the loaders do."""
    await asyncio.to_thread(upgrade, url)
    db = Database.from_url(url)
    try:
        await seed(db)
    finally:
        await db.dispose()


async def _until(check: Any, what: str, *processes: LiaisonProcess) -> None:
    for _ in range(int(WAIT / 0.05)):
        if await check():
            return
        await asyncio.sleep(0.05)
    tails = "\n".join(f"--- {p.name}\n{p.tail()}" for p in processes)
    raise AssertionError(f"timed out waiting for {what}\n{tails}")


async def _inbox(db: Database) -> dict[InboxState, int]:
    async with db.read() as session:
        rows = await session.execute(
            select(InboxUpdate.state, func.count()).group_by(InboxUpdate.state)
        )
        return {state: int(count) for state, count in rows}


async def _outbox(db: Database) -> dict[OutboxState, int]:
    async with db.read() as session:
        rows = await session.execute(
            select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)
        )
        return {state: int(count) for state, count in rows}


async def _fan_out(db: Database) -> list[str]:
    """Broadcasts to every cadre, confirmed by the organizer through the services."""
    organizer = await load_actor(db, ORGANIZER_CHEN.id)
    assert organizer is not None
    texts = []
    for number in range(BROADCASTS):
        now = datetime.now(UTC)
        draft = await compose.start(db, organizer, now)
        await compose.choose_audience(
            db, organizer, draft.id, compose.Audience(AudienceKind.CADRES), now
        )
        text = f"notice-{number:02d}"
        await compose.set_text(db, organizer, draft.id, text, now)
        await compose.confirm(db, organizer, draft.id, now, None, None)
        texts.append(text)
    return texts


def _counter(scraped: str, name: str, **labels: str) -> float:
    total = 0.0
    for family in text_string_to_metric_families(scraped):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


async def test_two_instances_share_the_work_and_the_survivor_takes_over_polling(
    postgres_empty_url: str, tmp_path: Path
) -> None:
    url = postgres_empty_url
    await _prepare(url)
    api = FakeBotApi()
    await api.start()
    updates = UpdateFactory(Bot(FAKE_TOKEN), start_id=70_000)
    strangers = [FakeUser(9_000 + n, f"Visitor {n}", "en") for n in range(12)]
    first = [updates.contact(u, PHONES[u.id], contact_user_id=u.id) for u in CADRES]
    first.append(updates.contact(ORGANIZER_CHEN, PHONES[ORGANIZER_CHEN.id], contact_user_id=601))
    first += [updates.text(s, "hello") for s in strangers[:6]]
    first += [updates.command(u, "/schedule") for u in CADRES]
    second = [updates.text(s, "hello") for s in strangers[6:]]
    second += [updates.command(u, "/next") for u in CADRES]
    fed = first + second

    # The planner ticks every second in both, so their plan ticks meet.
    often = {"LIAISON_SENDING__TICK_SECONDS": "1"}
    one = LiaisonProcess("one", url, api, tmp_path / "one", often)
    two = LiaisonProcess("two", url, api, tmp_path / "two", often)
    processes = (one, two)
    db = Database.from_url(url)
    try:
        await one.start("--no-migrate")
        await one.wait_until_said(ELECTED)
        await two.start("--no-migrate")
        await two.wait_until_said(WAITING)
        assert not two.said(ELECTED)

        api.feed([u.to_dict() for u in first])

        async def first_done() -> bool:
            return (await _inbox(db)).get(InboxState.DONE, 0) == len(first)

        await _until(first_done, "the first updates handled", *processes)

        notices = await _fan_out(db)

        async def all_sent() -> bool:
            states = await _outbox(db)
            return bool(states) and set(states) <= {OutboxState.SENT, OutboxState.SKIPPED}

        await _until(all_sent, "the fan-out sent", *processes)
        getupdates_before_kill = len(api.calls("getUpdates"))
        async with httpx.AsyncClient(timeout=10) as client:
            scraped_one = (await client.get(f"{one.monitor_url}/metrics")).text

        # The poller dies without a word; PostgreSQL drops its lock with its connection.
        await one.kill()
        api.feed([u.to_dict() for u in second])
        await two.wait_until_said(ELECTED)

        async def all_done() -> bool:
            return (await _inbox(db)).get(InboxState.DONE, 0) == len(fed)

        await _until(all_done, "every update handled after the kill", *processes)
        await _until(all_sent, "the outbox settled", *processes)

        async def planned() -> bool:
            # The first plan tick comes 5 s after start: a loaded machine may not be there yet.
            async with db.read() as session:
                return bool(await session.scalar(select(Heartbeat.instance).limit(1)))

        await _until(planned, "a plan tick recorded", *processes)

        async with httpx.AsyncClient(timeout=10) as client:
            scraped = (await client.get(f"{two.monitor_url}/metrics")).text
            health = await client.get(f"{two.monitor_url}/healthz")
        assert await two.stop() == 0, two.tail()

        inbox_states = await _inbox(db)
        async with db.read() as session:
            outbox_rows = (
                await session.execute(
                    select(OutboxMessage.unique_key, OutboxMessage.kind, OutboxMessage.state)
                )
            ).all()
            planners = set(await session.scalars(select(Heartbeat.instance)))
    finally:
        for process in processes:
            await process.ensure_gone()
        await api.stop()
        await db.dispose()

    # Every update handled exactly once.
    assert inbox_states == {InboxState.DONE: len(fed)}
    # Each stranger was answered once, and nothing a cadre got came twice.
    for stranger in strangers:
        assert len(api.recording.texts(stranger.id)) == 1, stranger
    for cadre in CADRES:
        texts = api.recording.texts(cadre.id)
        repeated = [t for t, n in collections.Counter(texts).items() if n > 1]
        assert repeated == [], (cadre, repeated)
        # Every broadcast reached every cadre, once.
        for notice in notices:
            assert sum(notice in text for text in texts) == 1, (cadre, notice)
    # Every outbox row sent (or skipped as irrelevant) once; keys are unique.
    broadcast_rows = [row for row in outbox_rows if row.kind is OutboxKind.BROADCAST]
    assert len(broadcast_rows) == BROADCASTS * len(CADRES)
    assert all(row.state is OutboxState.SENT for row in broadcast_rows)
    assert len({row.unique_key for row in outbox_rows}) == len(outbox_rows)
    # The survivor took over polling: it asked for updates after the kill.
    assert len(api.calls("getUpdates")) > getupdates_before_kill
    assert two.said(ELECTED)
    # Both instances ran the jobs; the planner's skips, if any, were said, never doubled work.
    assert len(planners) >= 1
    skipped = [
        line
        for p in processes
        for line in p.lines()
        if "planning skipped" in line.get("message", "")
    ]
    assert all(line["level"] == "INFO" for line in skipped)
    # No instance logged an error.
    errors = [line for p in processes for line in p.lines() if line["level"] == "ERROR"]
    assert errors == []
    # The instances' own counters add up to no more than the rows sent: none went out twice.
    sent_rows = sum(row.state is OutboxState.SENT for row in outbox_rows)
    sent_by = [
        _counter(text, "liaison_outbox_messages_total", outcome="sent")
        for text in (
            scraped_one,
            scraped,
        )
    ]
    # (At most: the first was scraped before its kill, a late report row may follow.)
    assert 0 < sum(sent_by) <= sent_rows, sent_by
    handled_by = [
        _counter(text, "liaison_updates_total", outcome="done") for text in (scraped_one, scraped)
    ]
    assert sum(handled_by) == len(fed), handled_by
    logging.getLogger(__name__).info(
        "sent by one/two %s, handled by one/two %s, plan ticks skipped %s",
        sent_by,
        handled_by,
        len(skipped),
    )
    # The survivor's own /metrics and /healthz (polling mode's monitor server).
    assert _counter(scraped, "liaison_updates_total", outcome="done") >= len(second)
    assert _counter(scraped, "liaison_outbox_backlog", state="pending") == 0
    assert health.status_code in (200, 503)
    assert health.json()["database"] is True
