"""What a log line is about: the update, outbox row or person being worked on.

``about(update_id=...)`` sets context variables for the block; ``ContextFilter`` (in the
logging set-up) copies them onto every record made inside it, so a line logged deep in a
handler or a service carries the id without anyone passing it along. Context variables
follow asyncio tasks, so concurrent work never mixes its ids.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Concatenate, ParamSpec, Protocol, TypeVar

FIELDS = ("update_id", "outbox_id", "person_id")

_update_id: ContextVar[int | None] = ContextVar("liaison_log_update_id", default=None)
_outbox_id: ContextVar[int | None] = ContextVar("liaison_log_outbox_id", default=None)
_person_id: ContextVar[int | None] = ContextVar("liaison_log_person_id", default=None)
_VARS = {"update_id": _update_id, "outbox_id": _outbox_id, "person_id": _person_id}


@contextmanager
def about(
    *, update_id: int | None = None, outbox_id: int | None = None, person_id: int | None = None
) -> Iterator[None]:
    """Within the block, log records carry the given ids (None leaves an outer one as is)."""
    given = {"update_id": update_id, "outbox_id": outbox_id, "person_id": person_id}
    # Every variable is set (to the outer value when not given) so that ``set_person`` inside
    # the block is undone at its end too.
    tokens = [
        (var, var.set(var.get() if given[name] is None else given[name]))
        for name, var in _VARS.items()
    ]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


def set_person(person_id: int | None) -> None:
    """Names the person for the rest of the current block (once the guard knows who it is)."""
    if person_id is not None:
        _person_id.set(person_id)


def current() -> dict[str, int]:
    """The ids set here and now, without the unset ones."""
    found = {name: var.get() for name, var in _VARS.items()}
    return {name: value for name, value in found.items() if value is not None}


class _Row(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def person_id(self) -> int | None: ...


S = TypeVar("S")
R = TypeVar("R")
P = ParamSpec("P")
RowT = TypeVar("RowT", bound=_Row)


def for_outbox_row(
    method: Callable[Concatenate[S, RowT, P], Awaitable[R]],
) -> Callable[Concatenate[S, RowT, P], Awaitable[R]]:
    """Decorates ``async def _one(self, row, ...)``: its log lines carry the row and person."""

    @functools.wraps(method)
    async def wrapper(self: S, row: RowT, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with about(outbox_id=row.id, person_id=row.person_id):
            return await method(self, row, *args, **kwargs)

    return wrapper
