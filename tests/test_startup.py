"""Start-up: the schema check without Alembic, and what `liaison run` imports."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from click.testing import CliRunner
from sqlalchemy import text

from liaison.bot import runner
from liaison.bot.cli import main
from liaison.bot.sandbox.fake_telegram import FAKE_TOKEN
from liaison.storage import migrate
from liaison.storage.database import Database
from liaison.storage.migrate import alembic_config
from liaison.storage.schema import HEAD_REVISION, at_head


@pytest.fixture
def url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """An empty database: a new SQLite file, or this run's PostgreSQL database emptied."""
    if backend == "postgresql":
        return str(request.getfixturevalue("postgres_empty_url"))
    return f"sqlite+aiosqlite:///{tmp_path / 'start.db'}"


def test_the_head_constant_is_alembics_head() -> None:
    """Adding a migration without updating storage/schema.py fails here."""
    heads = ScriptDirectory.from_config(alembic_config("")).get_heads()
    assert heads == [HEAD_REVISION]


async def _stamp(url: str, revision: str) -> None:
    db = Database.from_url(url)
    try:
        async with db.engine.begin() as connection:
            await connection.execute(
                text("UPDATE alembic_version SET version_num = :r"), {"r": revision}
            )
    finally:
        await db.dispose()


async def test_at_head_only_when_the_database_is_exactly_at_the_head(url: str) -> None:
    assert not await at_head(url)  # never migrated: no alembic_version at all
    config = alembic_config(url)
    await asyncio.to_thread(command.upgrade, config, "head")
    assert await at_head(url)
    await asyncio.to_thread(command.downgrade, config, "-1")
    assert not await at_head(url)  # behind
    await asyncio.to_thread(command.upgrade, config, "head")
    await _stamp(url, "9999_from_the_future")
    assert not await at_head(url)  # ahead: a newer release migrated it


def _run(url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, list[str]]:
    """`liaison run` up to serving (which returns at once); the upgrades it asked for."""
    upgrades: list[str] = []
    real_upgrade = migrate.upgrade

    def upgrade(database_url: str, revision: str = "head") -> None:
        upgrades.append(revision)
        real_upgrade(database_url, revision)

    async def serve(app: Any, settings: Any) -> None:
        return None

    monkeypatch.setattr(migrate, "upgrade", upgrade)
    monkeypatch.setattr(runner, "serve", serve)
    env = {
        "LIAISON_DATA_DIR": str(tmp_path / "data"),
        "LIAISON_DATABASE_URL": url,
        "LIAISON_BOT_TOKEN": FAKE_TOKEN,
    }
    result = CliRunner().invoke(main, ["run"], env=env)
    gc.unfreeze()  # `run` freezes what start-up built; this process goes on with other tests
    return result, upgrades


def test_run_upgrades_only_a_database_behind_and_refuses_one_ahead(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'run.db'}"
    result, upgrades = _run(url, tmp_path, monkeypatch)
    assert result.exit_code == 0, result.output
    assert upgrades == ["head"]  # empty: upgraded by Alembic
    assert asyncio.run(at_head(url))
    result, upgrades = _run(url, tmp_path, monkeypatch)
    assert result.exit_code == 0 and upgrades == []  # current: Alembic not asked
    asyncio.run(_stamp(url, "9999_from_the_future"))
    result, upgrades = _run(url, tmp_path, monkeypatch)
    # Ahead: Alembic is asked, and stops the start as before, naming the revision.
    assert upgrades == ["head"]
    assert result.exit_code != 0
    assert "9999_from_the_future" in str(result.exception)


HEAVY = {
    "alembic",
    "aiosmtplib",
    "docx",
    "filetype",
    "icalendar",
    "matplotlib",
    "numpy",
    "openpyxl",
    "phonenumbers",
    "puremagic",
    "starlette",
    "uvicorn",
    "yaml",
}

PROBE = """
import json, sys
import liaison.bot.cli
from liaison.bot.application import build_application
from liaison.bot.logging_setup import configure_logging
from liaison.bot.runner import serve
from liaison.bot.settings import load_settings

build_application(load_settings())
loaded = {m for m in sys.modules if m.split(".")[0] in set(json.loads(sys.argv[1]))}
loaded |= {m for m in sys.modules if m.startswith("babel.messages")}
print(json.dumps(sorted(loaded)))
"""


def test_running_imports_no_heavy_module_it_does_not_need(tmp_path: Path) -> None:
    """What `liaison run` loads before it is ready, with polling and no SMTP server:
    none of the modules only some paths need (each is imported where it is used)."""
    env = {
        **os.environ,
        "LIAISON_DATA_DIR": str(tmp_path),
        "LIAISON_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'probe.db'}",
        "LIAISON_BOT_TOKEN": FAKE_TOKEN,
    }
    out = subprocess.run(  # noqa: S603 - this interpreter, our own probe
        [sys.executable, "-c", PROBE, json.dumps(sorted(HEAVY))],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert json.loads(out) == []
