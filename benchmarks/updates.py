"""Benchmark: handling incoming updates, beside a bare python-telegram-bot Application.

Liaison's real Application handles `/schedule` from enrolled cadres as production does
(accepted into the inbox → handled by the inbox worker → the reply's sendMessage on the
recording transport). A bare PTB Application with a trivial reply handler runs on the
same transport in the same run. Measured on SQLite and PostgreSQL (a database of its own,
`liaison_t_bench_<random>`, dropped afterwards):

- max throughput: a burst accepted in batches of 100 (as polling stores them), updates/s
  until the last reply, and the ratio to the bare Application (target ≥ 500/s on SQLite,
  ≥ 0.2 of bare);
- latency at 200 updates/s offered, one update per accept (as the webhook), from accept
  to the reply's sendMessage: p50 and p99 (target p99 < 25 ms);
- statements and aiosqlite thread hand-offs per update;
- start-to-ready: `liaison run` against bot/sandbox/fake_bot_api.py, from exec to its first
  getUpdates (target < 1 s);
- memory: peak RSS of that process with 10,000 cadres after a burst (target < 150 MB).

Run: .venv/bin/python -m benchmarks.updates           (writes its section of docs/benchmarks.md)
     .venv/bin/python -m benchmarks.updates --quick   (correctness only: every update handled
                                                       once, every reply sent once, per-user order)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event, insert, select, text
from telegram import Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CommandHandler,
    ContextTypes,
    TypeHandler,
)

from benchmarks.common import own_database, reachable, replace_section
from liaison.bot.application import build_application
from liaison.bot.sandbox.fake_telegram import FAKE_TOKEN, Call, RecordingRequest
from liaison.bot.settings import Settings
from liaison.services.clock import SystemClock
from liaison.services.programmes.loading import load_programme
from liaison.storage.base import Base
from liaison.storage.database import Database
from liaison.storage.enums import InboxState, PersonStatus, Role
from liaison.storage.models import InboxUpdate, Person

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- updates:start -->", "<!-- updates:end -->"
POSTGRES_SERVER_URL = os.environ.get(
    "LIAISON_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
PROGRAMME = ROOT / "tests" / "data" / "programme.yaml"
FIRST_USER = 700_000
THROUGHPUT_TARGET = 500.0
RATIO_TARGET = 0.2
P99_TARGET_MS = 25.0
READY_TARGET_S = 1.0
RSS_TARGET_MB = 150.0


NOTES = """
### Before and after (issue 9, item 4)

The code before the changes (commit 63ea413), measured by this benchmark on the same
machine minutes before the table above, while it was quiet (load average below 2):

| backend | workers | Liaison | bare PTB | ratio | p50 (ms) | p99 (ms) | statements | hand-offs |
| --- | --- | --- | --- | --- | --- | --- | --- | --- |
| SQLite | 1 | 91 | 4,190 | 0.02 | 70.8 | 242.4 | 11.0 | 45.1 |
| PostgreSQL | 1 | 102 | 3,923 | 0.03 | 7,148.8 | 11,904.4 | 10.0 | – |

(PostgreSQL was saturated at 200 updates/s offered: its latency is the queue's.) Start to
ready was 19.6 s with 100 cadres on a busy machine: the menus of everyone enrolled were set,
one Bot API call each, before the first getUpdates; importing what `liaison run` needs
took 1.86 s of CPU.

What changed, each found with pyinstrument / cProfile on the burst:

- the guard's claim and the handler share one transaction: fresh rows are counted for a
  whole batch in one commit, and one UPDATE (`take`) replaces the locking read, the
  count of older rows and the final "done" mark (docs/reliability.md says how a crash
  loop stays bounded); the inbox stores a batch in one statement;
- `take` is composed once per shape: building the expression took a third of the inbox's
  own time per update;
- the actor's person and programme stay in the unit's session, so the audience rule of
  `/schedule` finds the programme without a query;
- SQLite: one trip to aiosqlite's thread per statement (SQLAlchemy's adapter makes three
  or four): 45 → 8 hand-offs per update. Each hand-off wakes a thread and waits for the
  scheduler; on this machine, shared with other jobs (load average 6–11 during the runs),
  that wait was most of the wall time;
- different people's updates are handled side by side on PostgreSQL (8 workers);
- heavy imports (openpyxl with numpy, icalendar, alembic) moved into the functions that
  use them: importing what `liaison run` needs took 1.86 s of CPU on a busy machine, now
  1.35 s; the menus are set beside the bot, not before its first update.

### Memory

With 10,000 cadres the process holds about 105 MB when ready and 110 MB after one
update. Left alone without any update it grows to 143 MB about 5 s after start and to
167–171 MB about 34 s after start, in two steps that match the jobs' first ticks (the
planner and the follow-ups over 10,000 cadres), not the update path: the peak measured
after the burst is theirs. The target is for issue 9's planning item to meet.

### The handler's cost (issue 9, item 4, what was left)

The burst's profile after the changes above put about 70% of a handled update in
`process_update`: the guard's actor query (Person and Programme loaded as ORM objects),
`/schedule`'s three ORM queries (the current phase, the programme's phases for the
audience rule, the sessions of the range), rendering and the reply. Changed (branch
fastpath), each found with pyinstrument / cProfile on the burst:

- the actor carries the programme's `updated_at`, read in the guard's one query: the
  programme's *stamp* (reading the actor as a Core row instead of ORM objects was tried
  and reverted: `liaison run` with 10,000 cadres then did not finish a burst of 1,000 in
  four minutes, against one minute before; the cause is not found yet);
- the programme's phases, audience rule and sessions are read once per process and
  stamp (services/schedule.py) and filtered in Python (the range by bisection); the stamp
  moves whenever the programme row, one of its phases or one of its sessions is written
  (an ORM `before_flush` hook in storage/models/programme.py), so a reload or an edit
  shows at the next `/schedule` (tests/test_fastpath.py); `/schedule` sends no statement
  of its own: 6 → 3 statements per update (BEGIN, take, the actor);
- Babel's days, clocks and cities are remembered per translator and value, and the
  navigation keyboard per view, day and language (PTB's objects are frozen).

Measured side by side on the same machine, SQLite, 1,000 cadres, bursts of 1,000, load
average 3–4.5 from other jobs: the code before (5c10ba2) 99–191 updates/s and 4.2–5.3 ms
of process CPU per update; with the Core actor query (reverted), 224–466 updates/s and
1.8–2.3 ms. The code as it stands (ORM actor query), against 5c10ba2 again minutes
later with the machine quiet (load average 1): 324–370 against 188–195 updates/s, 2.6–3.0
against 5.0–5.1 ms of CPU per update.

### What is left

What remains per update is the path itself: the unit's BEGIN and commit, `take`, the
actor's query (four trips to aiosqlite's thread, each a wait for the scheduler on a
busy machine: most of the wall time above the CPU time), parsing the update and the
reply's Message (PTB's own, as the bare Application does). Going further would mean
folding the actor's query into `take` (one statement for the claim and the actor) and
fewer hand-offs around BEGIN and COMMIT (storage/database.py, bot/inbox.py). On
PostgreSQL, workers help only as far as the single Python process has CPU to spare.
"""


@dataclass
class Sizes:
    cadres: int
    burst: int
    offered_rate: float
    offered_seconds: float
    per_user: int


FULL = Sizes(cadres=1000, burst=3000, offered_rate=200.0, offered_seconds=10.0, per_user=3)
QUICK = Sizes(cadres=40, burst=160, offered_rate=200.0, offered_seconds=0.5, per_user=4)


# Set-up ----------------------------------------------------------------------------------
async def fresh(url: str, cadres: int, *, migrated: bool = False) -> Database:
    """A schema with the test programme and ``cadres`` enrolled cadres (bulk insert).

    ``migrated``: built by the migrations, as `liaison run` expects to find it.
    """
    db = Database.from_url(url)
    if migrated:
        from liaison.storage.migrate import upgrade

        await asyncio.to_thread(upgrade, url)
    else:
        async with db.engine.begin() as connection:
            if db.dialect == "postgresql":
                await connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
                await connection.execute(text("CREATE SCHEMA public"))
            await connection.run_sync(Base.metadata.create_all)
    await load_programme(db, PROGRAMME)
    enrolled = datetime(2026, 10, 1, tzinfo=UTC)
    async with db.transaction() as session:
        for start in range(0, cadres, 5000):
            await session.execute(
                insert(Person),
                [
                    {
                        "programme_id": "test-prog",
                        "name": f"C{i}",
                        "phone": f"+86137{i:08d}",
                        "role": Role.CADRE,
                        "status": PersonStatus.ACTIVE,
                        "telegram_user_id": FIRST_USER + i,
                        "telegram_chat_id": FIRST_USER + i,
                        "timezone": "America/New_York",
                        "extra": {},
                    }
                    for i in range(start, min(cadres, start + 5000))
                ],
            )
        await session.execute(
            Person.__table__.update().values(enrolled_at=enrolled)  # type: ignore[attr-defined]
        )
    return db


def payload(update_id: int, user: int, text_: str = "/schedule") -> dict[str, Any]:
    command = text_.split()[0]
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": user, "type": "private", "first_name": "C"},
            "from": {"id": user, "is_bot": False, "first_name": "C", "language_code": "en"},
            "text": text_,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(command)}],
        },
    }


def workload(count: int, cadres: int, start_id: int, seed: int) -> list[dict[str, Any]]:
    """``count`` /schedule updates from random cadres, update_ids ascending."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible workload, not a secret
    return [payload(start_id + i, FIRST_USER + rng.randrange(cadres)) for i in range(count)]


@dataclass
class Replies:
    """Who got a reply when (on the transport), in arrival order."""

    at: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))
    count: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event)
    expected: int = 0

    def record(self, call: Call) -> None:
        if call.method != "sendMessage":
            return
        self.at[int(call.params["chat_id"])].append(time.perf_counter())
        self.count += 1
        if self.count >= self.expected:
            self.done.set()

    def expect(self, count: int) -> None:
        self.at.clear()
        self.count, self.expected = 0, count
        self.done = asyncio.Event()


# The two applications ---------------------------------------------------------------------
class Liaison:
    def __init__(self, db: Database, data_dir: Path, concurrency: int | None) -> None:
        overrides: dict[str, Any] = {}
        if concurrency is not None:
            overrides["updates"] = {"concurrency": concurrency}
        settings = Settings(
            bot_token=FAKE_TOKEN,
            database_url="sqlite://unused",
            data_dir=data_dir,
            default_locale="en",
            throttle={"burst": 1e9, "rate": 1e9},
            **overrides,
        )
        self.request = RecordingRequest()
        self.replies = Replies()
        self.request.on_call = self.replies.record
        self.app = build_application(
            settings, db=db, clock=SystemClock(), request=self.request, rate_limit=False
        )
        self.db = db
        # (update_id, user) in the order the handlers began, seen before the throttle.
        self.handled: list[tuple[int, int]] = []

        async def note(update: Update, context: Any) -> None:
            if update.effective_user is not None:
                self.handled.append((update.update_id, update.effective_user.id))

        self.app.add_handler(TypeHandler(Update, note), group=-3)
        self.stop = asyncio.Event()
        self.worker: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Liaison:
        await self.app.initialize()
        self.worker = asyncio.create_task(self.app.bot_data.inbox.run(self.stop))
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.stop.set()
        if self.worker is not None:
            await self.worker
        await self.app.shutdown()

    async def accept(self, payloads: list[dict[str, Any]]) -> None:
        await self.app.bot_data.inbox.accept(payloads)


class Bare:
    """python-telegram-bot alone: update_queue → a CommandHandler that replies."""

    def __init__(self) -> None:
        self.request = RecordingRequest()
        self.replies = Replies()
        self.request.on_call = self.replies.record

        async def on_schedule(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            assert update.effective_message is not None
            await update.effective_message.reply_text("schedule")

        self.app: Application[Any, Any, Any, Any, Any, Any] = (
            ApplicationBuilder()
            .token(FAKE_TOKEN)
            .request(self.request)
            .get_updates_request(self.request)
            .updater(None)
            .build()
        )
        self.app.add_handler(CommandHandler("schedule", on_schedule))

    async def __aenter__(self) -> Bare:
        await self.app.initialize()
        await self.app.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.app.stop()
        await self.app.shutdown()

    async def accept(self, payloads: list[dict[str, Any]]) -> None:
        for item in payloads:
            update = Update.de_json(item, self.app.bot)
            assert update is not None
            await self.app.update_queue.put(update)


App = Liaison | Bare


# Measurements -----------------------------------------------------------------------------
async def throughput(app: App, payloads: list[dict[str, Any]]) -> float:
    """Updates/s from the first accept to the last reply; accepted in batches of 100."""
    app.replies.expect(len(payloads))
    started = time.perf_counter()
    for i in range(0, len(payloads), 100):
        await app.accept(payloads[i : i + 100])
    await asyncio.wait_for(app.replies.done.wait(), 600)
    return len(payloads) / (time.perf_counter() - started)


async def latency(app: App, payloads: list[dict[str, Any]], rate: float) -> tuple[float, float]:
    """p50 and p99 (ms) from accept to the reply, one update per accept at ``rate``/s."""
    app.replies.expect(len(payloads))
    accepted: dict[int, list[float]] = defaultdict(list)
    started = time.perf_counter()
    for i, item in enumerate(payloads):
        delay = started + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        accepted[int(item["message"]["chat"]["id"])].append(time.perf_counter())
        await app.accept([item])
    await asyncio.wait_for(app.replies.done.wait(), 600)
    samples = [
        (reply - sent) * 1000
        for chat, sent_at in accepted.items()
        for sent, reply in zip(sent_at, app.replies.at[chat], strict=True)
    ]
    cuts = statistics.quantiles(samples, n=100)
    return cuts[49], cuts[98]


class Counter:
    """SQL statements sent and aiosqlite thread hand-offs, while enabled."""

    def __init__(self, db: Database) -> None:
        self.statements = 0
        self.handoffs = 0
        event.listen(db.engine.sync_engine, "before_cursor_execute", self._statement)
        self._original: Callable[..., Any] | None = None
        if db.dialect == "sqlite":
            import aiosqlite.core

            original: Callable[..., Any] = aiosqlite.core.Connection._execute
            counter = self

            async def counted(self: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
                counter.handoffs += 1
                return await original(self, fn, *args, **kwargs)

            self._original = original
            aiosqlite.core.Connection._execute = counted  # type: ignore[method-assign]

    def _statement(self, *args: Any) -> None:
        self.statements += 1

    def reset(self) -> None:
        self.statements = self.handoffs = 0

    def close(self) -> None:
        if self._original is not None:
            import aiosqlite.core

            aiosqlite.core.Connection._execute = self._original  # type: ignore[method-assign]


@dataclass
class Checked:
    """What the quick mode found: updates, how many were done, replied and handled once."""

    updates: int
    done: int
    replied_once: int
    handled_once: int
    users: int
    users_in_order: int


async def check(db: Database, app: Liaison, payloads: list[dict[str, Any]]) -> Checked:
    """Counts updates done, users with one reply per update, and users handled in order."""
    async with db.read() as session:
        rows = await session.execute(select(InboxUpdate.update_id, InboxUpdate.state))
        states = {update_id: state for update_id, state in rows}
    ids = [int(item["update_id"]) for item in payloads]
    sent: dict[int, list[int]] = defaultdict(list)
    for item in payloads:
        sent[int(item["message"]["chat"]["id"])].append(int(item["update_id"]))
    begun: dict[int, list[int]] = defaultdict(list)
    for update_id, user_id in app.handled:
        begun[user_id].append(update_id)
    times: dict[int, int] = defaultdict(int)
    for update_id, _ in app.handled:
        times[update_id] += 1
    return Checked(
        updates=len(ids),
        done=sum(states.get(update_id) is InboxState.DONE for update_id in ids),
        replied_once=sum(len(app.replies.at[user]) == len(mine) for user, mine in sent.items()),
        handled_once=sum(times[update_id] == 1 for update_id in ids),
        users=len(sent),
        users_in_order=sum(begun[user] == sorted(mine) for user, mine in sent.items()),
    )


@dataclass
class Result:
    backend: str
    workers: int
    rate: float
    bare_rate: float
    p50: float
    p99: float
    statements: float
    handoffs: float
    checked: Checked | None = None


async def bench_backend(
    name: str, url: str, sizes: Sizes, tmp: Path, concurrency: int | None, quick: bool
) -> Result:
    db = await fresh(url, sizes.cadres)
    counter = Counter(db)
    checked = None
    try:
        async with Liaison(db, tmp / "data", concurrency) as liaison:
            warm = workload(50, sizes.cadres, 1, seed=1)
            await throughput(liaison, warm)
            burst = workload(sizes.burst, sizes.cadres, 1000, seed=2)
            counter.reset()
            rate = await throughput(liaison, burst)
            statements = counter.statements / len(burst)
            handoffs = counter.handoffs / len(burst)
            offered = workload(
                int(sizes.offered_rate * sizes.offered_seconds), sizes.cadres, 100_000, seed=3
            )
            p50, p99 = await latency(liaison, offered, sizes.offered_rate)
            if quick:
                per_user = [
                    payload(200_000 + i, FIRST_USER + i % (sizes.cadres // 4))
                    for i in range(sizes.per_user * (sizes.cadres // 4))
                ]
                liaison.handled.clear()
                await throughput(liaison, per_user)
                checked = await check(db, liaison, per_user)
            workers = getattr(liaison.app.bot_data.inbox, "concurrency", 1)
        async with Bare() as bare:
            await throughput(bare, workload(50, sizes.cadres, 1, seed=1))
            bare_rate = await throughput(bare, workload(sizes.burst, sizes.cadres, 1000, seed=2))
    finally:
        counter.close()
        await db.dispose()
    return Result(name, workers, rate, bare_rate, p50, p99, statements, handoffs, checked)


# start-to-ready and memory -----------------------------------------------------------------
async def start_to_ready(tmp: Path, cadres: int, burst: int) -> tuple[float, float, float]:
    """Seconds from exec of `liaison run` to its first getUpdates; its RSS then and its
    peak RSS after the burst (MB)."""
    from liaison.bot.sandbox.fake_bot_api import FakeBotApi

    data = tmp / "ready"
    data.mkdir()
    url = f"sqlite+aiosqlite:///{data / 'liaison.db'}"
    db = await fresh(url, cadres, migrated=True)
    await db.dispose()
    api = FakeBotApi()
    await api.start()
    try:
        env = {
            **os.environ,
            "LIAISON_BOT_TOKEN": FAKE_TOKEN,
            "LIAISON_DATABASE_URL": url,
            "LIAISON_DATA_DIR": str(data),
            "LIAISON_API_BASE_URL": api.base_url,
            "LIAISON_API_FILE_BASE_URL": api.file_base_url,
            "LIAISON_THROTTLE__BURST": "1000000000",
            "LIAISON_THROTTLE__RATE": "1000000000",
            "LIAISON_LOG_LEVEL": "WARNING",
        }
        liaison = ROOT / ".venv" / "bin" / "liaison"
        started = time.perf_counter()
        process = await asyncio.create_subprocess_exec(
            str(liaison), "run", env=env, stdout=asyncio.subprocess.DEVNULL
        )
        while not api.calls("getUpdates"):
            await asyncio.sleep(0.002)
            if process.returncode is not None:
                raise RuntimeError("liaison run stopped before it was ready")
        ready = time.perf_counter() - started
        at_ready = current_rss_mb(process.pid)
        api.feed(workload(burst, cadres, 1, seed=4))
        for _ in range(2400):  # at most two minutes
            if len(api.calls("sendMessage")) >= burst:
                break
            await asyncio.sleep(0.05)
        assert len(api.calls("sendMessage")) >= burst, len(api.calls("sendMessage"))
        rss = peak_rss_mb(process.pid)
        process.terminate()
        await process.wait()
    finally:
        await api.stop()
    return ready, at_ready, rss


def _status_mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mb(pid: int) -> float:
    return _status_mb(pid, "VmHWM:")


def current_rss_mb(pid: int) -> float:
    return _status_mb(pid, "VmRSS:")


# Running and reporting ------------------------------------------------------------------------
def table(
    results: list[Result],
    ready: float | None,
    rss: tuple[float, float] | None,
    sizes: Sizes,
) -> str:
    lines = [
        f"Written by `benchmarks/updates.py`; one run on {platform.machine()} with "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, "
        f"on {datetime.now(UTC):%Y-%m-%d}. {sizes.cadres:,} enrolled cadres send `/schedule`; "
        f"burst of {sizes.burst:,} accepted in batches of 100; latency at "
        f"{sizes.offered_rate:.0f} updates/s offered for {sizes.offered_seconds:.0f} s, "
        "rate limiter off, from accept to the reply's sendMessage on the recording transport.",
        "",
        "| backend | workers | Liaison (updates/s) | bare PTB (updates/s) | ratio "
        "| p50 (ms) | p99 (ms) | statements / update | thread hand-offs / update |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        handoffs = f"{r.handoffs:.1f}" if r.backend == "SQLite" else "–"
        lines.append(
            f"| {r.backend} | {r.workers} | {r.rate:,.0f} | {r.bare_rate:,.0f} "
            f"| {r.rate / r.bare_rate:.2f} | {r.p50:.1f} | {r.p99:.1f} "
            f"| {r.statements:.1f} | {handoffs} |"
        )
    lines.append("")
    if ready is not None and rss is not None:
        lines.append(
            f"Start to ready (`liaison run` against the fake Bot API, exec → first getUpdates): "
            f"{ready:.2f} s (target < {READY_TARGET_S:.0f} s). RSS of that process with "
            f"10,000 cadres: {rss[0]:.0f} MB when ready, peak {rss[1]:.0f} MB after a burst "
            f"of 1,000 updates (target < {RSS_TARGET_MB:.0f} MB)."
        )
        lines.append("")
    sqlite = [r for r in results if r.backend == "SQLite"]
    ok = all(r.p99 < P99_TARGET_MS for r in results) and all(
        r.rate >= THROUGHPUT_TARGET and r.rate / r.bare_rate >= RATIO_TARGET for r in sqlite
    )
    if ready is not None and rss is not None:
        ok = ok and ready < READY_TARGET_S and rss[1] < RSS_TARGET_MB
    lines.append(f"Result: {'all targets met' if ok else 'TARGET MISSED'}.")
    return "\n".join(lines)


def write_section(body: str) -> None:
    section = f"{START}\n## Incoming updates\n\n{body}\n{NOTES}{END}"
    replace_section(section, START, END, DOC)


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="correctness only, small sizes")
    parser.add_argument("--concurrency", type=int, default=None, help="inbox workers")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-process", action="store_true", help="skip start-to-ready/memory")
    parser.add_argument("--no-write", action="store_true", help="do not touch docs/")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    results: list[Result] = []
    ready: float | None = None
    rss: tuple[float, float] | None = None
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        backends: list[tuple[str, str]] = [("SQLite", f"sqlite+aiosqlite:///{tmp}/bench.db")]
        async with contextlib.AsyncExitStack() as stack:
            if not args.no_postgres and await reachable(POSTGRES_SERVER_URL):
                url = await stack.enter_async_context(own_database(POSTGRES_SERVER_URL))
                backends.append(("PostgreSQL", url))
            for name, url in backends:
                results.append(
                    await bench_backend(name, url, sizes, tmp, args.concurrency, args.quick)
                )
        if not args.quick and not args.no_process:
            ready, at_ready, peak = await start_to_ready(tmp, 10_000, 1000)
            rss = (at_ready, peak)
    body = table(results, ready, rss, sizes)
    print(body)  # noqa: T201 - a script's report
    if not args.quick and not args.no_write:
        write_section(body)
    wrong = 0
    for result in results:
        if result.checked is not None:
            print(f"{result.backend}: {result.checked}")  # noqa: T201
            c = result.checked
            wrong += len({c.updates, c.done, c.handled_once}) != 1
            wrong += len({c.users, c.replied_once, c.users_in_order}) != 1
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
