"""Engine and unit of work: one short transaction per use case, or one per update.

Services open ``db.transaction()`` (commit on success, rollback on error) and
``db.read()``. Inside ``db.unit_of_work()`` (one incoming update: the handler's effects
and the inbox row's "done" mark) both join the unit's single transaction instead:
``transaction()`` becomes a SAVEPOINT, so a use case that fails still undoes only its own
work, and ``read()`` uses the same session; nothing is committed before the unit ends.
Services stay unchanged. The unit belongs to the task that opened it: a task started
from inside it (which inherits the context) gets sessions of its own.

SQLite: a unit of work switches pysqlite's own transaction handling off on its
connection (it would emit BEGIN late and break SAVEPOINT) and starts with an explicit
``BEGIN IMMEDIATE``, so the single writer serialises on the busy timeout instead of
failing later on a stale snapshot. Other sessions keep pysqlite's handling with
IMMEDIATE: a use case's transaction starts at its first write (taking the write lock or
waiting for it), and reads before it take no lock, as before.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import aiosqlite
from sqlalchemy import event
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
)
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from liaison.storage.nul import dumps_json, guard_engine

# Long enough for a writer to wait out another's transaction (a handler downloading a
# file holds the write lock; 20 MB from a local Bot API takes well under a second).
SQLITE_BUSY_TIMEOUT_MS = 30_000
_UNIT_OPTION = "liaison_unit_of_work"


class _OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """Runs a statement, fetches its rows and closes its cursor in ONE trip to aiosqlite's
    thread; SQLAlchemy's adapter makes three or four (cursor, execute, fetchall, close).

    Each trip is a hand-off between the event loop and that thread, and on a busy machine
    every hand-off waits for the scheduler: they were most of an update's cost on SQLite
    (docs/benchmarks.md). Results, errors and rowcount are as the adapter gives them.
    """

    __slots__ = ()

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        raw = self._connection._conn  # the sqlite3 connection, used only in its thread

        def run() -> tuple[Any, list[Any] | None, int | None, int]:
            cursor = raw.cursor()
            try:
                cursor.execute(operation, () if parameters is None else parameters)
                description = cursor.description
                rows = cursor.fetchall() if description else None
                return description, rows, cursor.lastrowid, cursor.rowcount
            finally:
                cursor.close()

        try:
            description, rows, lastrowid, rowcount = self.await_(self._connection._execute(run))
        except Exception as error:
            self._adapt_connection._handle_exception(error)
        if description:
            self.description = description
            self.lastrowid = self.rowcount = -1
            self._rows = deque(rows or ())
        else:
            self.description = None
            self.lastrowid, self.rowcount = lastrowid, rowcount


class _OneTripConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()

    def cursor(self, server_side: bool = False) -> AsyncAdapt_aiosqlite_cursor:
        if server_side:
            return super().cursor(server_side=True)
        return _OneTripCursor(self)


def _one_trip_fits() -> bool:
    """Whether the installed SQLAlchemy and aiosqlite have the internals _OneTripCursor uses;
    if a release renames them, SQLite falls back to the adapter's own cursor (slower, same)."""
    slots = set(AsyncAdapt_aiosqlite_cursor.__slots__)
    return {"_adapt_connection", "_connection", "await_", "_rows"} <= slots and all(
        hasattr(owner, name)
        for owner, name in (
            (aiosqlite.Connection, "_execute"),
            (AsyncAdapt_aiosqlite_connection, "_handle_exception"),
        )
    )


_ONE_TRIP = _one_trip_fits()


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    if _ONE_TRIP and type(dbapi_connection) is AsyncAdapt_aiosqlite_connection:
        dbapi_connection.__class__ = _OneTripConnection
    dbapi_connection.isolation_level = "IMMEDIATE"
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    # WAL lets readers work while the sender writes; NORMAL sync stays safe against an
    # application crash (only a power cut can lose the last commits) and makes commits cheap.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    """SQLAlchemy's documented recipe for units of work; pysqlite's own mode elsewhere."""
    unit = bool(connection.get_execution_options().get(_UNIT_OPTION))
    dbapi_connection = connection.connection.dbapi_connection
    wanted = None if unit else "IMMEDIATE"
    if dbapi_connection is not None and dbapi_connection.isolation_level != wanted:
        dbapi_connection.isolation_level = wanted
    if unit:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """Creates the async engine; on SQLite with foreign keys, WAL and explicit BEGIN."""
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"echo": echo, "json_serializer": dumps_json}
    if parsed.get_backend_name() == "postgresql":
        kwargs["pool_pre_ping"] = True
    engine = create_async_engine(url, **kwargs)
    guard_engine(engine)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_connect)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
    return engine


Hook = Callable[[], Awaitable[None]]


@dataclass
class UnitOfWork:
    """One transaction shared by everything an update does; hooks run after it ends."""

    db: Database
    session: AsyncSession
    task: asyncio.Task[Any] | None
    _after_commit: list[Hook] = field(default_factory=list)
    _after_rollback: list[Hook] = field(default_factory=list)

    def after_commit(self, hook: Hook) -> None:
        self._after_commit.append(hook)

    def after_rollback(self, hook: Hook) -> None:
        self._after_rollback.append(hook)


_current: ContextVar[UnitOfWork | None] = ContextVar("liaison_unit_of_work", default=None)


def current_unit_of_work() -> UnitOfWork | None:
    """The unit of work this task is inside, if any."""
    unit = _current.get()
    if unit is None or unit.task is not asyncio.current_task():
        return None
    return unit


class Database:
    """Holds the engine and hands out sessions; services own the transaction boundaries."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def from_url(cls, url: str) -> Database:
        return cls(create_engine(url))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def _ambient(self) -> AsyncSession | None:
        unit = current_unit_of_work()
        return unit.session if unit is not None and unit.db is self else None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """Yields a session inside one transaction: committed on success, rolled back on error.

        Inside a unit of work: a SAVEPOINT of the unit's transaction instead.
        """
        ambient = self._ambient()
        if ambient is not None:
            async with ambient.begin_nested():
                yield ambient
            return
        async with self._sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """Yields a session for reads; nothing is committed (inside a unit: the unit's)."""
        ambient = self._ambient()
        if ambient is not None:
            yield ambient
            return
        async with self._sessions() as session:
            yield session

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[UnitOfWork]:
        """One transaction for everything inside, committed at the end or rolled back.

        After-commit hooks run only after a commit, after-rollback hooks otherwise.
        """
        if self._ambient() is not None:
            raise RuntimeError("units of work do not nest")
        async with self._sessions() as session:
            unit = UnitOfWork(self, session, asyncio.current_task())
            token = _current.set(unit)
            committed = False
            try:
                async with session.begin():
                    if self.dialect == "sqlite":
                        await session.connection(execution_options={_UNIT_OPTION: True})
                    yield unit
                committed = True
            finally:
                _current.reset(token)
                for hook in unit._after_commit if committed else unit._after_rollback:
                    await hook()

    @asynccontextmanager
    async def outside_unit_of_work(self) -> AsyncIterator[None]:
        """Sessions of their own inside this block (e.g. to read while the unit has failed)."""
        token = _current.set(None)
        try:
            yield
        finally:
            _current.reset(token)

    async def dispose(self) -> None:
        await self.engine.dispose()
