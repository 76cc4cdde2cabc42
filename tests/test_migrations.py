"""Migrations: every revision goes up, down and up again; models and migrations agree."""

from __future__ import annotations

import asyncio
import os
import sys
from asyncio.subprocess import PIPE
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from liaison.storage.base import Base
from liaison.storage.database import Database
from liaison.storage.migrate import alembic_config


@pytest.fixture
def url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """An empty database: a new SQLite file, or this run's PostgreSQL database emptied."""
    if backend == "postgresql":
        return str(request.getfixturevalue("postgres_empty_url"))
    return f"sqlite+aiosqlite:///{tmp_path / 'migrate.db'}"


async def _tables(url: str) -> set[str]:
    db = Database.from_url(url)
    try:
        async with db.engine.connect() as connection:
            return set(await connection.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        await db.dispose()


async def test_every_revision_upgrades_downgrades_and_upgrades_again(url: str) -> None:
    config = alembic_config(url)
    revisions = list(ScriptDirectory.from_config(config).walk_revisions("base", "heads"))
    for revision in reversed(revisions):
        await asyncio.to_thread(command.upgrade, config, revision.revision)
        down = revision.down_revision
        assert down is None or isinstance(down, str), "the history has no merges"
        await asyncio.to_thread(command.downgrade, config, down or "base")
        await asyncio.to_thread(command.upgrade, config, revision.revision)
    assert set(Base.metadata.tables) <= await _tables(url)
    await asyncio.to_thread(command.downgrade, config, "base")
    assert await _tables(url) <= {"alembic_version"}


async def test_models_and_migrations_do_not_drift(url: str) -> None:
    await asyncio.to_thread(command.upgrade, alembic_config(url), "head")
    db = Database.from_url(url)

    def diff(connection: Any) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))

    try:
        async with db.engine.connect() as connection:
            differences = await connection.run_sync(diff)
    finally:
        await db.dispose()
    assert differences == []


@pytest.mark.postgres
async def test_instances_upgrading_at_once_on_postgresql_take_turns(
    postgres_empty_url: str, tmp_path: Path
) -> None:
    url = postgres_empty_url
    env = {**os.environ, "LIAISON_DATABASE_URL": url, "LIAISON_DATA_DIR": str(tmp_path)}
    liaison = str(Path(sys.executable).parent / "liaison")

    async def upgrade() -> int:
        process = await asyncio.create_subprocess_exec(
            liaison, "db", "upgrade", env=env, stdout=PIPE, stderr=PIPE
        )
        await process.communicate()
        return process.returncode or 0

    assert list(await asyncio.gather(upgrade(), upgrade(), upgrade())) == [0, 0, 0]
    assert set(Base.metadata.tables) <= await _tables(url)
