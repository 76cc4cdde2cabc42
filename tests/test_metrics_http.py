"""GET /metrics and GET /healthz over HTTP, from `liaison run` running as a webhook."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families
from telegram import Bot

from liaison.bot.sandbox.fake_bot_api import FakeBotApi
from liaison.bot.sandbox.fake_telegram import FAKE_TOKEN
from liaison.bot.sandbox.fake_updates import FakeUser, UpdateFactory
from liaison.bot.webhook import SECRET_HEADER
from liaison.services.broadcasts import compose
from liaison.services.people import load_actor
from liaison.storage.database import Database
from liaison.storage.enums import AudienceKind
from liaison.storage.migrate import upgrade
from tests.conftest import LI, ORGANIZER_CHEN, PHONES, ZHANG, seed
from tests.liaison_process import LiaisonProcess, free_port

SECRET = "metrics-test-secret"
WAIT = 60.0


def samples(scraped: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    found = {}
    for family in text_string_to_metric_families(scraped):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(scraped: str, name: str, **labels: str) -> float:
    return samples(scraped).get((name, frozenset(labels.items())), 0.0)


async def test_metrics_and_healthz_of_a_running_webhook_process(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'liaison.db'}"
    await asyncio.to_thread(upgrade, url)
    db = Database.from_url(url)
    await seed(db)
    api = FakeBotApi()
    await api.start()
    port = free_port()
    process = LiaisonProcess(
        "webhook",
        url,
        api,
        tmp_path / "run",
        {
            "LIAISON_MODE": "webhook",
            "LIAISON_WEBHOOK__LISTEN": "127.0.0.1",
            "LIAISON_WEBHOOK__PORT": str(port),
            "LIAISON_WEBHOOK__URL": "https://liaison.example.org/",
            "LIAISON_WEBHOOK__PATH": "hook",
            "LIAISON_WEBHOOK__SECRET_TOKEN": SECRET,
        },
    )
    base = f"http://127.0.0.1:{port}"
    updates = UpdateFactory(Bot(FAKE_TOKEN), start_id=80_000)
    strangers = [FakeUser(9_100 + n, f"Visitor {n}", "en") for n in range(3)]
    people = [ZHANG, LI, ORGANIZER_CHEN]
    good: list[dict[str, Any]] = [
        updates.contact(u, PHONES[u.id], contact_user_id=u.id).to_dict() for u in people
    ]
    good += [updates.text(s, "hello").to_dict() for s in strangers]
    try:
        await process.start("--no-migrate")
        for _ in range(int(WAIT / 0.05)):
            if api.calls("setWebhook"):
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError(process.tail())
        async with httpx.AsyncClient(timeout=10) as client:
            refused = [
                await client.post(f"{base}/hook", json=good[0]),
                await client.post(f"{base}/hook", json=good[0], headers={SECRET_HEADER: "no"}),
            ]
            bad = await client.post(f"{base}/hook", content=b"{", headers={SECRET_HEADER: SECRET})
            accepted = [
                await client.post(f"{base}/hook", json=u, headers={SECRET_HEADER: SECRET})
                for u in good
            ]
            for _ in range(int(WAIT / 0.1)):
                scraped = (await client.get(f"{base}/metrics")).text
                if value(scraped, "liaison_updates_total", outcome="done") == len(good):
                    break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError(f"updates not handled:\n{scraped}\n{process.tail()}")
            # A fan-out for the sender: one broadcast to both cadres.
            organizer = await load_actor(db, ORGANIZER_CHEN.id)
            assert organizer is not None
            now = datetime.now(UTC)
            draft = await compose.start(db, organizer, now)
            await compose.choose_audience(
                db, organizer, draft.id, compose.Audience(AudienceKind.CADRES), now
            )
            await compose.set_text(db, organizer, draft.id, "metrics-notice", now)
            await compose.confirm(db, organizer, draft.id, now, None, None)
            for _ in range(int(WAIT / 0.1)):
                scraped = (await client.get(f"{base}/metrics")).text
                sent = value(
                    scraped, "liaison_outbox_messages_total", kind="broadcast", outcome="sent"
                )
                ticked = min(
                    value(scraped, "liaison_tick_duration_seconds_count", job=job)
                    for job in ("plan", "send")
                )
                waiting = sum(
                    value(scraped, "liaison_outbox_backlog", state=state)
                    for state in ("pending", "sending")
                )
                if sent == 2 and ticked > 0 and waiting == 0:
                    break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError(f"fan-out not sent:\n{scraped}\n{process.tail()}")
            health = await client.get(f"{base}/healthz")
            monitor = await client.get(f"{process.monitor_url}/metrics")
        assert await process.stop() == 0, process.tail()
    finally:
        await process.ensure_gone()
        await api.stop()
        await db.dispose()

    assert monitor.status_code == 200, process.tail()
    assert [r.status_code for r in refused] == [403, 403]
    assert bad.status_code == 400
    assert [r.status_code for r in accepted] == [200] * len(good)
    assert value(scraped, "liaison_webhook_refused_total") == 2
    assert value(scraped, "liaison_updates_total", outcome="done") == len(good)
    assert value(scraped, "liaison_updates_total", outcome="failed") == 0
    assert value(scraped, "liaison_outbox_messages_total", kind="broadcast", outcome="sent") == 2
    assert value(scraped, "liaison_outbox_send_seconds_count") >= 2
    assert value(scraped, "liaison_tick_duration_seconds_count", job="plan") > 0
    assert value(scraped, "liaison_tick_duration_seconds_count", job="send") > 0
    # The backlog is read from the database when scraped.
    # This process sent every row of this new database: the gauge and the counters agree.
    sent_counted = sum(
        v
        for (name, labels), v in samples(scraped).items()
        if name == "liaison_outbox_messages_total" and ("outcome", "sent") in labels
    )
    assert value(scraped, "liaison_outbox_backlog", state="sent") == sent_counted >= 2
    assert value(scraped, "liaison_outbox_backlog", state="pending") == 0
    assert value(scraped, "liaison_outbox_oldest_due_age_seconds") == 0
    # Every stranger was refused once, by a reply the fake recorded.
    assert all(len(api.recording.texts(s.id)) == 1 for s in strangers)
    assert health.status_code == 200, health.text
    assert health.json()["database"] is True
    # The monitor port serves the same registry in webhook mode too.
    assert monitor.status_code == 200
    assert "liaison_webhook_refused_total 2.0" in monitor.text
    # The 400 was logged once, as JSON with its level.
    warned = [line for line in process.lines() if "not an Update" in line["message"]]
    assert len(warned) == 1 and warned[0]["level"] == "WARNING"
