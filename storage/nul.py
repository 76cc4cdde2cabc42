"""No NUL character reaches the database: one guard on the engine, for every statement.

PostgreSQL refuses U+0000 in text and in JSONB (a cadre's message with one crashed the
insert); SQLite stores it and truncates it in places. Every string a statement carries,
from a handler, a roster file or a raw update, passes through here, so no service has to
remember; a NUL carries no meaning in anything this bot keeps.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

NUL = "\x00"


def strip_nul(value: Any) -> Any:
    """The value with NUL removed from every string in it (lists, tuples, dicts too)."""
    if isinstance(value, str):
        return value.replace(NUL, "") if NUL in value else value
    if isinstance(value, list):
        return [strip_nul(item) for item in value]
    if isinstance(value, tuple):
        return tuple(strip_nul(item) for item in value)
    if isinstance(value, dict):
        return {strip_nul(key): strip_nul(item) for key, item in value.items()}
    return value


def dumps_json(value: Any) -> str:
    """JSON for JSON/JSONB columns, without NUL (json.dumps would write it as \\u0000)."""
    return json.dumps(strip_nul(value))


def _clean_parameters(
    conn: Any,
    cursor: Any,
    statement: str,
    parameters: Any,
    context: Any,
    executemany: bool,
) -> tuple[str, Any]:
    return statement, strip_nul(parameters)


def guard_engine(engine: AsyncEngine) -> None:
    """Strips NUL from the parameters of every statement this engine runs."""
    event.listen(engine.sync_engine, "before_cursor_execute", _clean_parameters, retval=True)
