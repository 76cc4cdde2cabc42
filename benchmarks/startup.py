"""Start to ready: `liaison run` from exec to its first getUpdates, and the menus it sets.

    .venv/bin/python -m benchmarks.startup [--runs 3] [--cadres 100 10000]
        [--before DIR] [--no-write]

Each run starts `liaison run` (this checkout's console script) against the fake Bot API
(bot/sandbox/fake_bot_api.py) on a migrated SQLite database with the test programme and N
enrolled cadres whose menus were set by an earlier start, and records the seconds from exec
to the first getUpdates, then how many per-person menus (setMyCommands with a chat scope)
it sets in the following seconds. ``--before DIR`` measures another tree the same way: DIR
holds a ``liaison`` folder whose bot/, services/ ... link to the other checkout's folders,
put first on PYTHONPATH (the code before issue 9's start-up changes, for example). Writes its
section of docs/benchmarks.md between the startup markers.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, insert, select, update

from benchmarks.common import replace_section
from liaison.bot.sandbox.fake_bot_api import FakeBotApi
from liaison.bot.sandbox.fake_telegram import FAKE_TOKEN
from liaison.services.programmes.loading import load_programme
from liaison.storage.database import Database
from liaison.storage.enums import PersonStatus, Role
from liaison.storage.models import Person, Programme

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
PROGRAMME = ROOT / "tests" / "data" / "programme.yaml"
LIAISON = ROOT / ".venv" / "bin" / "liaison"
START, END = "<!-- startup:start -->", "<!-- startup:end -->"
FIRST_USER = 700_000
READY_TARGET_S = 1.0
WATCH_S = 3.0  # how long after ready the menus set are counted

NOTES = """
"before" is the code at commit 5c10ba2 (the merge of the update path), run alternately with
this checkout in the same minutes. What changed, found with `python -X importtime` and
/proc's CPU counters:

- the schema check: `liaison run` asked Alembic to upgrade to head at every start, which
  walks migrations/versions and imports every revision (about 0.35 s); the head revision is
  now a constant (storage/schema.py, a test compares it with Alembic's head) compared with
  alembic_version in one query. Alembic runs only when they differ, so a database behind is
  upgraded and one ahead refused as before;
- imports only some paths need moved into the functions that use them: uvicorn and
  Starlette (webhook mode or the health port), phonenumbers (enrolment, rosters), Babel's
  catalog compiler (first catalog), aiosmtplib (an SMTP server configured), PyYAML (the
  programme commands), filetype/puremagic (uploads). matplotlib, python-docx, openpyxl,
  icalendar and Alembic were already lazy; tests/test_startup.py checks all of them.
  prometheus_client (12 ms) stays: its counters are incremented everywhere;
- the cycle collector is off while `liaison run` builds, then what it built is frozen: its
  passes over long-lived objects were about a tenth of the start's CPU;
- menus: every start set every enrolled person's menu again (one setMyCommands each,
  10,000 at 10,000 cadres, about 400 s at the rate limit, in the background). Each person's
  row now records a signature of the menu last set (role, language, the texts sent) and a
  start sets only those that differ, found in one query: none at a plain restart. The
  three guest menus (one per language) are still sent at each start.

What is left before ready is importing python-telegram-bot, SQLAlchemy with the models,
pydantic-settings, Babel and the handlers' modules (about 0.9 s of CPU here; SQLAlchemy's
share is the largest), then PTB's initialize and the inbox's recovery pass. Below 1 s on
this shared machine needs the handlers' modules imported at their first update, which this
change does not do.
"""


@dataclass
class Case:
    label: str
    cadres: int
    ready: list[float]
    cpu: list[float]
    menus: list[int]


def environment(pythonpath: Path | None, url: str, data: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "LIAISON_BOT_TOKEN": FAKE_TOKEN,
        "LIAISON_DATABASE_URL": url,
        "LIAISON_DATA_DIR": str(data),
        "LIAISON_LOG_LEVEL": "WARNING",
    }
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    return env


async def prepare(tree: Path | None, tmp: Path, cadres: int) -> tuple[str, Path]:
    """A database migrated by the tree under test, with ``cadres`` enrolled cadres."""
    data = tmp / f"{'before' if tree else 'after'}-{cadres}"
    data.mkdir()
    url = f"sqlite+aiosqlite:///{data / 'liaison.db'}"
    process = await asyncio.create_subprocess_exec(
        str(LIAISON), "db", "upgrade", env=environment(tree, url, data)
    )
    if await process.wait() != 0:
        raise RuntimeError("the migration failed")
    db = Database.from_url(url)
    try:
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
                            "enrolled_at": enrolled,
                        }
                        for i in range(start, min(cadres, start + 5000))
                    ],
                )
            if tree is None:  # as an earlier start left them: every menu set and recorded
                from liaison.handlers.menu import all_signatures

                locale = (
                    select(Programme.default_locale)
                    .where(Programme.id == Person.programme_id)
                    .scalar_subquery()
                )
                for (role, language), signature in all_signatures().items():
                    await session.execute(
                        update(Person)
                        .where(
                            Person.role == role, func.coalesce(Person.locale, locale) == language
                        )
                        .values(menu_signature=signature)
                    )
    finally:
        await db.dispose()
    return url, data


def cpu_seconds(pid: int) -> float:
    """User + system CPU the process has used so far (less sensitive to a busy machine)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def one_start(tree: Path | None, url: str, data: Path) -> tuple[float, float, int]:
    api = FakeBotApi()
    await api.start()
    try:
        env = environment(tree, url, data)
        env["LIAISON_API_BASE_URL"] = api.base_url
        env["LIAISON_API_FILE_BASE_URL"] = api.file_base_url
        started = time.perf_counter()
        process = await asyncio.create_subprocess_exec(
            str(LIAISON), "run", env=env, stdout=asyncio.subprocess.DEVNULL
        )
        while not api.calls("getUpdates"):
            await asyncio.sleep(0.002)
            if process.returncode is not None:
                raise RuntimeError("liaison run stopped before it was ready")
        ready = time.perf_counter() - started
        cpu = cpu_seconds(process.pid)
        await asyncio.sleep(WATCH_S)
        menus = sum(
            1 for call in api.calls("setMyCommands") if call.params["scope"].get("type") == "chat"
        )
        process.terminate()
        await process.wait()
    finally:
        await api.stop()
    return ready, cpu, menus


async def measure(trees: list[Path | None], sizes: list[int], runs: int) -> list[Case]:
    """Runs of the trees alternate, so a machine busy for a while weighs on each alike."""
    cases = []
    with tempfile.TemporaryDirectory() as tmp:
        for cadres in sizes:
            prepared = [(tree, *await prepare(tree, Path(tmp), cadres)) for tree in trees]
            here = [Case("before" if tree else "after", cadres, [], [], []) for tree in trees]
            for _ in range(runs):
                for case, (tree, url, data) in zip(here, prepared, strict=True):
                    ready, cpu, menus = await one_start(tree, url, data)
                    case.ready.append(ready)
                    case.cpu.append(cpu)
                    case.menus.append(menus)
            cases += here
    return cases


def table(cases: list[Case], runs: int) -> str:
    lines = [
        f"Written by `benchmarks/startup.py`; {runs} starts per row on {platform.machine()} "
        f"with {os.cpu_count()} cores, Python {platform.python_version()}, on "
        f"{datetime.now(UTC):%Y-%m-%d}, load average {os.getloadavg()[0]:.1f} at the end. "
        "SQLite, `liaison run` against the fake Bot API, exec → first getUpdates; the menus "
        f"are the per-person setMyCommands calls in the {WATCH_S:.0f} s after ready "
        "(every menu already set by an earlier start); CPU is the process's user + system "
        "time at ready, which a busy machine inflates less than the wall time.",
        "",
        "| code | cadres | ready median (s) | ready min (s) | CPU until ready, median (s) "
        "| menus set after ready |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for case in cases:
        lines.append(
            f"| {case.label} | {case.cadres:,} | {statistics.median(case.ready):.2f} | "
            f"{min(case.ready):.2f} | {statistics.median(case.cpu):.2f} | {max(case.menus):,} |"
        )
    after = [c for c in cases if c.label == "after"]
    ok = all(statistics.median(c.ready) < READY_TARGET_S for c in after)
    lines += ["", f"Result: {'target met' if ok else 'TARGET MISSED'} (< {READY_TARGET_S:.0f} s)."]
    return "\n".join(lines)


def write_section(body: str) -> None:
    replace_section(f"{START}\n## Start to ready\n\n{body}\n{NOTES}{END}", START, END, DOC)


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cadres", type=int, nargs="+", default=[100, 10_000])
    parser.add_argument("--before", type=Path, default=None, help="PYTHONPATH of older code")
    parser.add_argument("--no-write", action="store_true", help="do not touch docs/")
    args = parser.parse_args(argv)
    trees: list[Path | None] = [args.before] if args.before is not None else []
    cases = await measure([*trees, None], args.cadres, args.runs)
    body = table(cases, args.runs)
    print(body)  # noqa: T201 - a script's report
    if not args.no_write:
        write_section(body)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
