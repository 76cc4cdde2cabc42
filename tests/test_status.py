"""Health as `liaison status` and the monitors see it: heartbeats, backlog, schema."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from liaison.bot.cli import main
from liaison.bot.jobs import beating
from liaison.services.clock import FakeClock
from liaison.services.health import Expectations, Problem, check_health, record_heartbeat
from liaison.services.outbox.payloads import ExpiredPayload
from liaison.services.outbox.queue import Planned, enqueue
from liaison.storage.database import Database
from liaison.storage.enums import OutboxKind
from liaison.storage.migrate import alembic_config
from liaison.storage.models import Heartbeat
from tests.test_outbox import make_people

NOW = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)
EXPECT = Expectations(
    stale_after={"plan": timedelta(minutes=2), "send": timedelta(minutes=1)},
    stuck_after=timedelta(minutes=10),
)


async def migrated(db: Database) -> Database:
    """check_health reads the schema revision: stamp the create_all schema as head."""
    from alembic import command

    url = db.engine.url.render_as_string(hide_password=False)
    await asyncio.to_thread(command.stamp, alembic_config(url), "heads")
    return db


async def test_fresh_heartbeats_and_no_backlog_are_healthy(db: Database) -> None:
    await migrated(db)
    await record_heartbeat(db, "plan", NOW - timedelta(seconds=20), 0.05)
    await record_heartbeat(db, "send", NOW - timedelta(seconds=1), 0.01)
    health = await check_health(db, NOW, EXPECT)
    assert health.healthy, health.findings
    assert {b.name for b in health.beats} == {"plan", "send"}


async def test_a_heartbeat_is_one_row_per_job_keeping_the_last_error(db: Database) -> None:
    await record_heartbeat(db, "send", NOW, 0.2, "NetworkError: boom")
    await record_heartbeat(db, "send", NOW + timedelta(seconds=2), 0.1)
    async with db.read() as session:
        (row,) = list(await session.scalars(select(Heartbeat)))
    assert row.ok and row.at == NOW + timedelta(seconds=2)
    assert row.last_error == "NetworkError: boom" and row.last_error_at == NOW


async def test_stale_failing_and_missing_jobs_and_a_stuck_outbox_are_findings(
    db: Database,
) -> None:
    await migrated(db)
    await record_heartbeat(db, "plan", NOW - timedelta(minutes=5), 0.05)
    (person,) = await make_people(db, 1)
    async with db.transaction() as session:
        await enqueue(
            session,
            Planned(
                "old",
                person,
                OutboxKind.EXPIRED_REPORT,
                ExpiredPayload(count=1),
                NOW - timedelta(minutes=30),
            ),
        )
    health = await check_health(db, NOW, EXPECT)
    problems = {(f.problem, f.detail) for f in health.findings}
    assert (Problem.JOB_STALE, "plan") in problems
    assert (Problem.JOB_NEVER_RAN, "send") in problems
    assert (Problem.OUTBOX_STUCK, "30 min") in problems
    assert health.oldest_due_age == timedelta(minutes=30)
    await record_heartbeat(db, "send", NOW, 0.1, "TimedOut")
    health = await check_health(db, NOW, EXPECT)
    assert (Problem.JOB_FAILING, "send") in {(f.problem, f.detail) for f in health.findings}


async def test_an_unmigrated_database_is_reported_not_crashed_on(db: Database) -> None:
    health = await check_health(db, NOW, EXPECT)
    assert [f.problem for f in health.findings] == [Problem.SCHEMA_OUTDATED]


async def test_an_unreachable_database_is_a_finding(tmp_path: Path) -> None:
    db = Database.from_url("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    try:
        health = await check_health(db, NOW, EXPECT)
    finally:
        await db.dispose()
    assert not health.database
    assert [f.problem for f in health.findings] == [Problem.DATABASE_UNREACHABLE]


async def test_a_tick_leaves_its_heartbeat_even_when_it_fails(db: Database) -> None:
    clock = FakeClock(NOW)

    async def fails() -> None:
        raise RuntimeError("planner broke")

    with pytest.raises(RuntimeError):
        await beating(db, clock, "plan", fails)
    async with db.read() as session:
        row = await session.get_one(Heartbeat, "plan")
    assert not row.ok and row.last_error == "RuntimeError: planner broke"


def test_status_command_exits_1_when_unhealthy_and_0_when_well(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    env = {"LIAISON_DATA_DIR": str(tmp_path / "data"), "LIAISON_DATABASE_URL": ""}
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"], env=env).exit_code == 0
    result = runner.invoke(main, ["status"], env=env)
    assert result.exit_code == 1
    assert "problem: job_never_ran: plan" in result.output
    result = runner.invoke(main, ["status", "--no-jobs", "--json"], env=env)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["healthy"] is True and report["database"] is True
