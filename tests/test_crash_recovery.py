"""The proof of the inbox: `liaison run` as a real process, SIGKILLed at random moments.

Three enrolled cadres type unique tokens into their open drafts; each token is one
update whose effect is countable in the database (appended to the draft's text). The
process runs against the local fake Bot API (polling) or gets the updates POSTed to its
webhook with Telegram's retries, is killed several times mid-work, restarted, and at the
end every token is in its draft exactly once and in the order it was sent.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from liaison.bot.sandbox.fake_bot_api import FakeBotApi
from liaison.bot.sandbox.fake_telegram import FAKE_TOKEN
from liaison.bot.sandbox.fake_updates import FakeUser
from liaison.bot.webhook import SECRET_HEADER
from liaison.storage.database import Database
from liaison.storage.enums import DraftStep, InboxState
from liaison.storage.migrate import upgrade
from liaison.storage.models import Assignment, InboxUpdate, Person, SubmissionDraft
from tests.conftest import LI, WANG, ZHANG, seed

CADRES = {ZHANG: "张伟", LI: "李娜", WANG: "Wang Fang"}
UPDATES = 200
KILLS = 3
SECRET = "crash-test-secret"
DEADLINE = 60.0  # seconds the last run may take to finish everything (it needs ~5)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _update(number: int, user: FakeUser) -> dict[str, Any]:
    return {
        "update_id": 50_000 + number,
        "message": {
            "message_id": number + 1,
            "date": 1_800_000_000,
            "chat": {"id": user.id, "type": "private", "first_name": user.first_name},
            "from": user.as_dict(),
            "text": f"tok-{number:04d}",
        },
    }


def _chunks(items: list[dict[str, Any]], count: int) -> Iterator[list[dict[str, Any]]]:
    size = -(-len(items) // count)
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def _prepare(url: str) -> None:
    """Schema, programme and roster; the cadres linked, each with an open stage-report draft."""
    await asyncio.to_thread(upgrade, url)
    db = Database.from_url(url)
    now = datetime.now(UTC)
    try:
        await seed(db)
        async with db.transaction() as session:
            assignment = await session.scalar(select(Assignment).where(Assignment.key == "stage-1"))
            assert assignment is not None
            for user, name in CADRES.items():
                person = await session.scalar(select(Person).where(Person.name == name))
                assert person is not None
                person.telegram_user_id = person.telegram_chat_id = user.id
                person.enrolled_at = now
                session.add(
                    SubmissionDraft(
                        person_id=person.id,
                        assignment_id=assignment.id,
                        step=DraftStep.COLLECT,
                        text="",
                        created_at=now,
                        updated_at=now,
                    )
                )
    finally:
        await db.dispose()


@dataclass
class Webhook:
    """Telegram's side of a webhook: each person's updates POSTed in order until answered 200."""

    url: str
    queues: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    refused: int = 0

    def add(self, updates: list[dict[str, Any]]) -> None:
        for update in updates:
            self.queues.setdefault(update["message"]["from"]["id"], []).append(update)

    async def deliver(self, stop: asyncio.Event) -> None:
        async with httpx.AsyncClient(timeout=10) as client:
            await asyncio.gather(*(self._person(client, user, stop) for user in self.queues))

    async def _person(self, client: httpx.AsyncClient, user: int, stop: asyncio.Event) -> None:
        queue = self.queues[user]
        while not stop.is_set():
            if not queue:
                await asyncio.sleep(0.02)
                continue
            try:
                answer = await client.post(self.url, json=queue[0], headers={SECRET_HEADER: SECRET})
                if answer.status_code == 200:
                    queue.pop(0)
                    continue
            except httpx.HTTPError:
                pass
            self.refused += 1
            await asyncio.sleep(0.02)

    @property
    def empty(self) -> bool:
        return not any(self.queues.values())


@dataclass
class Bed:
    url: str
    mode: str
    tmp: Path
    api: FakeBotApi
    webhook_port: int
    runs: int = 0

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LIAISON_")}
        env.update(
            LIAISON_BOT_TOKEN=FAKE_TOKEN,
            LIAISON_API_BASE_URL=self.api.base_url,
            LIAISON_API_FILE_BASE_URL=self.api.file_base_url,
            LIAISON_DATABASE_URL=self.url,
            LIAISON_DATA_DIR=str(self.tmp / "data"),
            LIAISON_MODE=self.mode,
            LIAISON_SENDING__GLOBAL_RATE="1000",
            LIAISON_SENDING__PER_CHAT_INTERVAL="0",
            LIAISON_LOG_LEVEL="WARNING",
            # Each cadre types dozens of tokens at once: this test is about durability.
            LIAISON_THROTTLE__BURST="100000",
            LIAISON_WEBHOOK__LISTEN="127.0.0.1",
            LIAISON_WEBHOOK__PORT=str(self.webhook_port),
            LIAISON_WEBHOOK__URL="https://liaison.example.org/",
            LIAISON_WEBHOOK__PATH="hook",
            LIAISON_WEBHOOK__SECRET_TOKEN=SECRET,
        )
        return env

    async def start(self) -> asyncio.subprocess.Process:
        """Starts `liaison run` and returns once it fetches (polling) or listens (webhook)."""
        self.runs += 1
        ready_method = "getUpdates" if self.mode == "polling" else "setWebhook"
        before = len(self.api.calls(ready_method))
        log = (self.tmp / f"run-{self.runs}.log").open("wb")
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "liaison.bot.cli",
            "run",
            "--no-migrate",
            env=self.env(),
            cwd=self.tmp,
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
        )
        log.close()
        for _ in range(3000):
            if len(self.api.calls(ready_method)) > before:
                return process
            if process.returncode is not None:
                break
            await asyncio.sleep(0.01)
        raise AssertionError(f"liaison run did not start: {self.log_tail()}")

    def log_tail(self) -> str:
        return (self.tmp / f"run-{self.runs}.log").read_text(errors="replace")[-3000:]


async def _done(db: Database) -> int:
    async with db.read() as session:
        count = await session.scalar(
            select(func.count()).where(InboxUpdate.state == InboxState.DONE)
        )
    return int(count or 0)


async def _tokens(db: Database) -> dict[int, list[str]]:
    async with db.read() as session:
        rows = await session.execute(
            select(Person.telegram_user_id, SubmissionDraft.text).join(
                SubmissionDraft, SubmissionDraft.person_id == Person.id
            )
        )
        return {int(user): text.split() for user, text in rows if user is not None}


async def _crash_and_recover(url: str, mode: str, tmp: Path, seed_value: int) -> None:
    await _prepare(url)
    rng = random.Random(seed_value)
    users = list(CADRES)
    updates = [_update(n, users[n % len(users)]) for n in range(UPDATES)]
    expected = {
        user.id: [u["message"]["text"] for u in updates if u["message"]["from"]["id"] == user.id]
        for user in users
    }
    chunks = list(_chunks(updates, KILLS + 1))
    api = FakeBotApi()
    await api.start()
    bed = Bed(url, mode, tmp, api, _free_port())
    webhook = Webhook(f"http://127.0.0.1:{bed.webhook_port}/hook")
    stop_delivery = asyncio.Event()
    delivery: asyncio.Task[None] | None = None
    db = Database.from_url(url)
    done_at_kill: list[tuple[int, int]] = []
    process: asyncio.subprocess.Process | None = None
    try:
        for trial, chunk in enumerate(chunks):
            if mode == "polling":
                api.feed(chunk)
            else:
                webhook.add(chunk)
                if delivery is None:
                    delivery = asyncio.create_task(webhook.deliver(stop_delivery))
            process = await bed.start()
            fed = sum(len(c) for c in chunks[: trial + 1])
            if trial == len(chunks) - 1:
                break
            # A random moment while work is in hand: after a random number of updates
            # are done (whatever the machine's speed), plus a random few milliseconds.
            target = rng.randint(min(await _done(db) + 1, fed - 1), fed - 1)
            for _ in range(int(DEADLINE / 0.01)):
                if await _done(db) >= target or process.returncode is not None:
                    break
                await asyncio.sleep(0.01)
            await asyncio.sleep(rng.uniform(0, 0.03))
            process.send_signal(signal.SIGKILL)
            await process.wait()
            done_at_kill.append((await _done(db), fed))
        assert process is not None
        for _ in range(int(DEADLINE / 0.05)):
            if await _done(db) == UPDATES:
                break
            await asyncio.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0, bed.log_tail()
        tokens = await _tokens(db)
        async with db.read() as session:
            rows = await session.execute(
                select(InboxUpdate.state, func.count()).group_by(InboxUpdate.state)
            )
            states = {state: int(count) for state, count in rows}
    finally:
        stop_delivery.set()
        if delivery is not None:
            await delivery
        if process is not None and process.returncode is None:
            process.kill()
            await process.wait()
        await api.stop()
        await db.dispose()
    for user in users:
        assert tokens[user.id] == expected[user.id], (
            f"user {user.id}: lost {sorted(set(expected[user.id]) - set(tokens[user.id]))[:10]}, "
            f"twice {[t for t in set(tokens[user.id]) if tokens[user.id].count(t) > 1][:10]}"
        )
    assert states == {InboxState.DONE: UPDATES}
    # The kills landed while work was in hand, not only between batches.
    assert any(0 < done < fed for done, fed in done_at_kill), done_at_kill
    if mode == "webhook":
        assert webhook.empty


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_run_killed_at_random_moments_loses_and_repeats_no_update_on_sqlite(
    mode: str, tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'crash.db'}"
    await _crash_and_recover(url, mode, tmp_path, seed_value=20261128)


@pytest.mark.postgres
@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_run_killed_at_random_moments_loses_and_repeats_no_update_on_postgresql(
    mode: str, tmp_path: Path, postgres_empty_url: str
) -> None:
    await _crash_and_recover(postgres_empty_url, mode, tmp_path, seed_value=20261129)
