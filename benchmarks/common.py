"""What every benchmark shares: its section of docs/benchmarks.md, and a PostgreSQL
database of its own on the tests' server.

The scripts import this as `benchmarks.common`, so they run as modules from the
checkout: `.venv/bin/python -m benchmarks.planner`.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
# The server the tests use; each benchmark works in a database of its own there.
POSTGRES_SERVER_URL = os.environ.get(
    "LIAISON_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)


def markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def replace_section(section: str, start: str, end: str, doc: Path = DOC) -> None:
    """Puts ``section`` (which begins with ``start`` and ends with ``end``) in place of the
    one between those markers, leaving the rest of the file as it is; appended if absent."""
    current = doc.read_text(encoding="utf-8") if doc.exists() else "# Benchmarks\n"
    if start in current and end in current:
        before, rest = current.split(start, 1)
        updated = before + section + rest.split(end, 1)[1]
    else:
        updated = current.rstrip("\n") + "\n\n" + section + "\n"
    doc.write_text(updated, encoding="utf-8")


@asynccontextmanager
async def own_database(server_url: str = POSTGRES_SERVER_URL) -> AsyncIterator[str]:
    """A database of the benchmark's own on the server, dropped afterwards: two runs on
    one server never meet."""
    name = f"liaison_t_bench_{secrets.token_hex(4)}"
    maintenance = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        async with maintenance.connect() as connection:
            await connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
        finally:
            async with maintenance.connect() as connection:
                await connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await maintenance.dispose()


async def reachable(url: str = POSTGRES_SERVER_URL) -> bool:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.execute(text("select 1"))
        return True
    except Exception:
        return False
    finally:
        await engine.dispose()
