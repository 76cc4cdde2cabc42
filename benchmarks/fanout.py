"""Benchmark: fan-out at Telegram's limit, and slot → send latency, on SQLite and PostgreSQL.

The real Application (its JobQueue running, the send tick leaving heartbeats) and the real
sender loop (`OutboxSender.run`), over a fake Bot API transport that answers in 30-80 ms
and, in the flood runs, answers 1% of sends 429 with retry_after = 1 s. N outbox rows due
now, one per chat. Reported: messages per second from the first send to the last, its ratio
to the limit, per-chat violations (two starts to one chat less than the interval apart),
rows lost (not sent) and doubled (a chat that got two), all of which must be 0.

Slot → send: N rows due a few seconds ahead while the loop idles; the delay between their
due time and the first and the last send (targets: first ≤ 2 s, last ≤ N / rate + 2 s).

Targets: ≥ 0.97 of the limit without 429s, ≥ 0.90 with them.

Run: .venv/bin/python -m benchmarks.fanout            (writes its section of docs/benchmarks.md)
     .venv/bin/python -m benchmarks.fanout --quick    (N = 40, fast: correctness only)
     .venv/bin/python -m benchmarks.fanout --profile  (pyinstrument over one SQLite run)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import tempfile
import time
from collections import defaultdict
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from telegram.request import RequestData

from benchmarks.common import own_database, reachable, replace_section
from liaison.bot.application import build_application
from liaison.bot.sandbox.fake_telegram import FAKE_TOKEN, RecordingRequest
from liaison.bot.settings import SendingSettings, Settings
from liaison.services.clock import SystemClock
from liaison.services.outbox.payloads import ExpiredPayload
from liaison.services.outbox.queue import Planned, enqueue
from liaison.storage.base import Base
from liaison.storage.database import Database
from liaison.storage.enums import OutboxKind, OutboxState
from liaison.storage.models import OutboxMessage, Person, Programme

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- fanout:start -->", "<!-- fanout:end -->"
POSTGRES_SERVER_URL = os.environ.get(
    "LIAISON_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
PER_CHAT = 1.0
TARGET_CLEAN, TARGET_FLOOD = 0.97, 0.90

BEFORE = """
Before (issue 9, same machine, SQLite, the same fake transport): 300 rows at 25/s went
out at 13.0 msg/s, 0.52 of the limit (0.64 with the dispatcher called back to back); with
1% 429s lower still; slot → prompt: first 10-38 s after the slot, last 58-113 s. The
sender awaited each sendMessage before the next, then spent 3-5 transactions on it, took
50 rows per 2-second tick (`max_instances=1`, so a slow batch skipped ticks), and PTB's
AIORateLimiter throttled the same sends a second time.

After: up to `max_in_flight` (16) rows in flight, one lane per person, the Pacer gating
start times; a continuous loop woken by the commits that enqueue; deliveries recorded in
batches (one executemany UPDATE per ~75 ms); outbox sends bypass AIORateLimiter.

Profile (`--profile`, pyinstrument, SQLite, 300 at 25/s, on the loaded machine): 14.0 s
of wall time, 3.5 s of CPU for the whole script (seeding 300 rows and starting the
Application included): the sender spends well under 10 ms of CPU a message, a quarter of
one core at 25/s. Its time is waiting: the Pacer's slots (2.6 s summed over the lanes),
the transport's 30-80 ms (2.1 s), rendering's one read (1.8 s, aiosqlite's thread
hand-offs), the batched writes (0.7 s for 300 rows, in ~75 ms flushes). What limits a
fan-out is the limit itself; only a stalled event loop (a busy machine) costs throughput.
"""


class Transport(RecordingRequest):
    """The recording fake with a latency, an optional share of 429s, and start times."""

    def __init__(
        self, latency: tuple[float, float], flood: float, seed: int, retry_after: int = 1
    ) -> None:
        super().__init__()
        self.latency, self.flood, self.retry_after = latency, flood, retry_after
        self.random = random.Random(seed)  # noqa: S311 - latencies and faults, no secret
        self.starts: dict[str, list[float]] = defaultdict(list)
        self.delivered: dict[str, list[float]] = defaultdict(list)
        self.floods = 0

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        if not url.endswith("/sendMessage") or request_data is None:
            return await super().do_request(url, method, request_data)
        chat = str(request_data.parameters.get("chat_id"))
        started = time.monotonic()
        self.starts[chat].append(started)
        await asyncio.sleep(self.random.uniform(*self.latency))
        if self.flood and self.random.random() < self.flood:
            self.floods += 1
            body = {
                "ok": False,
                "error_code": 429,
                "description": f"Too Many Requests: retry after {self.retry_after}",
                "parameters": {"retry_after": self.retry_after},
            }
            return 429, json.dumps(body).encode()
        self.delivered[chat].append(started)
        return await super().do_request(url, method, request_data)


@dataclass
class Result:
    backend: str
    n: int
    rate: float
    flood: float
    msg_per_s: float = 0.0
    violations: int = 0
    lost: int = 0
    doubled: int = 0
    floods: int = 0
    first_delay: float | None = None
    last_delay: float | None = None
    load: float = 0.0  # the machine's 1-minute load average at the end of the run
    first_try: float | None = None  # the ratio of a first try that missed (then run again)

    @property
    def ratio(self) -> float:
        return self.msg_per_s / self.rate

    @property
    def target(self) -> float:
        return TARGET_FLOOD if self.flood else TARGET_CLEAN


async def fresh(url: str) -> Database:
    db = Database.from_url(url)
    async with db.engine.begin() as connection:
        if db.dialect == "postgresql":
            await connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
        else:
            await connection.run_sync(Base.metadata.drop_all)
        await connection.run_sync(Base.metadata.create_all)
    return db


async def seed(db: Database, n: int, due: datetime) -> None:
    """N organizers, each with a chat of their own and one short notice due at ``due``."""
    async with db.transaction() as session:
        session.add(
            Programme(
                id="bench",
                title_zh="基准",
                title_en="Bench",
                home_timezone="Asia/Shanghai",
                host_timezone="America/New_York",
                default_locale="en",
                settings={},
            )
        )
        await session.flush()
        people = [
            Person(
                programme_id="bench",
                name=f"P{i}",
                phone=f"+86139{i:08d}",
                role="organizer",
                telegram_user_id=700_000 + i,
                telegram_chat_id=700_000 + i,
                extra={},
                timezone="Asia/Shanghai",
            )
            for i in range(n)
        ]
        session.add_all(people)
        await session.flush()
        for person in people:
            await enqueue(
                session,
                Planned(
                    f"bench:{person.id}",
                    person.id,
                    OutboxKind.EXPIRED_REPORT,
                    ExpiredPayload(count=1),
                    due,
                ),
            )


async def scenario(
    backend: str,
    url: str,
    n: int,
    rate: float,
    *,
    flood: float,
    latency: tuple[float, float] = (0.03, 0.08),
    ahead: float = 0.0,
    data_dir: Path,
) -> Result:
    """One run: N rows due now (or ``ahead`` seconds from now) through the real loop."""
    db = await fresh(url)
    clock = SystemClock()
    due = clock.now() + timedelta(seconds=ahead)
    await seed(db, n, due)
    request = Transport(latency, flood, seed=n * 7 + int(rate))
    settings = Settings(
        bot_token=FAKE_TOKEN,
        database_url=url,
        data_dir=data_dir,
        sending=SendingSettings(global_rate=rate, per_chat_interval=PER_CHAT),
    )
    app = build_application(settings, db=db, clock=clock, request=request)
    assert app.job_queue is not None
    for job in app.job_queue.get_jobs_by_name("plan"):
        job.schedule_removal()  # the rows are enqueued here, not planned
    stop = asyncio.Event()
    result = Result(backend, n, rate, flood)
    await app.initialize()
    await app.start()
    try:
        loop = asyncio.create_task(app.bot_data.sender.run(stop))
        deadline = time.monotonic() + n / rate * 3 + 60
        while time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            async with db.read() as session:
                left = await session.scalar(
                    select(func.count()).where(OutboxMessage.state != OutboxState.SENT)
                )
            if not left:
                break
        stop.set()
        await loop
    finally:
        await app.stop()
        await app.shutdown()
    async with db.read() as session:
        result.lost = (
            await session.scalar(
                select(func.count()).where(OutboxMessage.state != OutboxState.SENT)
            )
            or 0
        )
    await db.dispose()
    delivered = [start for starts in request.delivered.values() for start in starts]
    result.doubled = sum(1 for starts in request.delivered.values() if len(starts) > 1)
    result.violations = sum(
        1
        for starts in request.starts.values()
        for earlier, later in pairwise(starts)
        if later - earlier < PER_CHAT - 0.001
    )
    result.floods = request.floods
    result.load = os.getloadavg()[0]
    if len(delivered) > 1:
        first, last = min(delivered), max(delivered)
        result.msg_per_s = (len(delivered) - 1) / (last - first)
        if ahead:
            # monotonic ↔ wall clock: both read at the same moment now.
            offset = time.time() - time.monotonic()
            due_wall = due.timestamp()
            result.first_delay = first + offset - due_wall
            result.last_delay = last + offset - due_wall
    return result


async def run_quick(data_dir: Path, url: str | None = None) -> list[Result]:
    """N = 40 through the real loop, fast (a high rate, a short latency), with and without
    429s: for the test suite, which checks correctness only."""
    url = url or f"sqlite+aiosqlite:///{data_dir}/quick.db"
    results = []
    for flood in (0.0, 0.2):
        results.append(
            await scenario(
                "quick",
                url,
                40,
                200.0,
                flood=flood,
                latency=(0.001, 0.005),
                data_dir=data_dir,
            )
        )
    return results


def table(results: list[Result]) -> list[str]:
    lines = [
        "| backend | N | limit | 429s | msg/s | ratio | per-chat violations | lost | doubled "
        "| load |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        if r.first_delay is not None:
            continue
        mark = "" if r.ratio >= r.target else " (missed)"
        if r.first_try is not None:
            mark += f" (first try {r.first_try:.3f}, missed: run again)"
        floods = f"{r.flood:.0%} ({r.floods})" if r.flood else "—"
        lines.append(
            f"| {r.backend} | {r.n:,} | {r.rate:.0f}/s | {floods} "
            f"| {r.msg_per_s:.1f} | {r.ratio:.3f}{mark} | {r.violations} | {r.lost} | {r.doubled} "
            f"| {r.load:.1f} |"
        )
    slots = [r for r in results if r.first_delay is not None]
    if slots:
        lines += [
            "",
            "Slot → send (rows due a few seconds ahead, the loop idle until then):",
            "",
            "| backend | N | limit | first after due (s, ≤ 2) | last after due (s, ≤ N/rate + 2) |",
            "| --- | --- | --- | --- | --- |",
        ]
        for r in slots:
            assert r.first_delay is not None and r.last_delay is not None
            lines.append(
                f"| {r.backend} | {r.n:,} | {r.rate:.0f}/s | {r.first_delay:.2f} "
                f"| {r.last_delay:.2f} (≤ {r.n / r.rate + 2:.1f}) |"
            )
    return lines


def write_section(lines: list[str]) -> None:
    replace_section("\n".join([START, "## Fan-out", "", *lines, END]), START, END, DOC)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N = 40, correctness only")
    parser.add_argument("--profile", action="store_true", help="pyinstrument, one SQLite run")
    parser.add_argument("--sizes", default="300,3000", help="N values, comma-separated")
    parser.add_argument("--rates", default="25,30", help="limits, comma-separated")
    parser.add_argument("--floods", default="0,0.01", help="shares of 429s, comma-separated")
    parser.add_argument("--backends", default="SQLite,PostgreSQL", help="which databases")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    results: list[Result] = []
    async with AsyncExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        if args.quick:
            results = await run_quick(tmp)
            print("\n".join(table(results)))  # noqa: T201 - a script's report
            bad = [r for r in results if r.lost or r.doubled or r.violations]
            return 1 if bad else 0
        if args.profile:
            from pyinstrument import Profiler

            with Profiler(async_mode="enabled") as profiler:
                result = await scenario(
                    "SQLite", f"sqlite+aiosqlite:///{tmp}/p.db", 300, 25.0, flood=0, data_dir=tmp
                )
            print(profiler.output_text(unicode=True, color=False))  # noqa: T201
            print("\n".join(table([result])))  # noqa: T201
            return 0
        wanted = args.backends.split(",")
        backends = [("SQLite", f"sqlite+aiosqlite:///{tmp}/bench.db")][: "SQLite" in wanted]
        if "PostgreSQL" in wanted and await reachable(POSTGRES_SERVER_URL):
            url = await stack.enter_async_context(own_database(POSTGRES_SERVER_URL))
            backends.append(("PostgreSQL", url))
        sizes = [int(size) for size in args.sizes.split(",")]
        for name, url in backends:
            for n in sizes:
                for rate in [float(rate) for rate in args.rates.split(",")]:
                    for flood in [float(flood) for flood in args.floods.split(",")]:
                        result = await scenario(name, url, n, rate, flood=flood, data_dir=tmp)
                        if result.ratio < result.target:
                            # Other work on the machine can stall the event loop for a
                            # second or two (the load column): one more try, both shown.
                            first = result.ratio
                            result = await scenario(name, url, n, rate, flood=flood, data_dir=tmp)
                            result.first_try = first
                        results.append(result)
                        print("\n".join(table([result])[2:]), flush=True)  # noqa: T201
            slot = await scenario(name, url, 300, 25.0, flood=0.0, ahead=3.0, data_dir=tmp)
            results.append(slot)
    ok = all(
        r.lost == 0 and r.doubled == 0 and r.violations == 0 and r.ratio >= r.target
        for r in results
        if r.first_delay is None
    ) and all(
        r.first_delay is not None
        and r.last_delay is not None
        and r.first_delay <= 2
        and r.last_delay <= r.n / r.rate + 2
        for r in results
        if r.first_delay is not None
    )
    lines = [
        "Written by `benchmarks/fanout.py`; one run on "
        f"{platform.machine()} with {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"on {datetime.now(UTC):%Y-%m-%d}. The real Application and JobQueue, the real sender "
        "loop, a fake transport answering in 30-80 ms; one row per chat; 1% of sends "
        "answered 429 with retry_after = 1 s in the flood runs. msg/s counts first send to "
        "last; the rows are short notices (claim → render with one read → send → record). "
        "load: the machine's 1-minute load average after the run (2 cores, shared); a run "
        "that misses its target is run once more and both are shown.",
        "",
        *table(results),
        "",
        f"Result: {'all targets met' if ok else 'TARGET MISSED'}.",
        "",
        *BEFORE.strip("\n").splitlines(),
    ]
    print("\n".join(lines))  # noqa: T201 - a script's report
    if not args.no_write:
        write_section(lines)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
