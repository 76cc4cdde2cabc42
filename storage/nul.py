"""No NUL character reaches the database: one guard on the engine, for every statement.

PostgreSQL refuses U+0000 in text and in JSONB (a cadre's message with one crashed the
insert); SQLite stores it and truncates it in places. Every string a statement carries,
from a handler, a roster file or a raw update, passes through here, so no service has to
remember; a NUL carries no meaning in anything this bot keeps.

The guard looks before it copies: only strings can hold a NUL, so ints, datetimes and
the like are passed over by type, and the parameters are rebuilt only when a string in
them has one. A planner tick's INSERT of 10,000 runs sends about 110,000 values, none
with a NUL: they go to the driver as they came.
"""

from __future__ import annotations

import json
import json.encoder
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

NUL = "\x00"
# Types that cannot hold a NUL character: skipped by one set lookup.
_SCALARS = frozenset(
    {int, float, bool, type(None), bytes, datetime, date, time, timedelta, Decimal}
)


def has_nul(value: Any) -> bool:
    """Whether a NUL is in any string of the value (lists, tuples, dicts too)."""
    kind = type(value)
    if kind is str:
        return NUL in value
    if kind in _SCALARS:
        return False
    if isinstance(value, (list, tuple)):
        for item in value:
            item_kind = type(item)
            if item_kind is str:
                if NUL in item:
                    return True
            elif item_kind not in _SCALARS and has_nul(item):
                return True
        return False
    if isinstance(value, dict):
        return any(has_nul(key) or has_nul(item) for key, item in value.items())
    if isinstance(value, str):  # str subclasses: StrEnum members and the like
        return NUL in value
    return False


def strip_nul(value: Any) -> Any:
    """The value with NUL removed from every string in it (lists, tuples, dicts too);
    the value itself, not a copy, when it has none."""
    if not has_nul(value):
        return value
    return _strip(value)


def _strip(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace(NUL, "") if NUL in value else value
    if isinstance(value, list):
        return [_strip(item) for item in value]
    if isinstance(value, tuple):
        return tuple(_strip(item) for item in value)
    if isinstance(value, dict):
        return {_strip(key): _strip(item) for key, item in value.items()}
    return value


def _one_shot_encoder() -> Any:
    """json.dumps's C encoder with json.dumps's defaults, made once: json.dumps makes a
    new one per call, which is most of the cost for the small documents of outbox
    payloads and audit details (tens of thousands per planner tick). None without the
    C accelerator; circular structures are not looked for (they recurse until Python's
    limit instead of a ValueError: none is ever stored)."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return None
    return make(
        None,
        json.JSONEncoder().default,
        json.encoder.encode_basestring_ascii,
        None,
        ": ",
        ", ",
        False,
        False,
        True,
    )


_ENCODE = _one_shot_encoder()


def _dumps(value: Any) -> str:
    if _ENCODE is None:
        return json.dumps(value)
    return "".join(_ENCODE(value, 0))


def dumps_json(value: Any) -> str:
    """JSON for JSON/JSONB columns, without NUL (json.dumps would write it as \\u0000);
    the same text as json.dumps with its defaults.

    Dumped first and cleaned only when the text shows an escaped NUL (rare: a string
    with a backslash before ``u0000`` shows it too, and is only cleaned for nothing)."""
    text = _dumps(value)
    if "\\u0000" not in text:
        return text
    return _dumps(strip_nul(value))


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
