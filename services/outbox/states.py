"""The one table of an outbox row's allowed moves, and the compare-and-set that applies them.

```mermaid
stateDiagram-v2
    [*] --> pending: planned (unique key)
    pending --> sending: claimed with a lease
    sending --> sending: lease ran out, claimed again (under a new claim token)
    sending --> sent
    sending --> pending: 429, 5xx, network error, timeout (retried later)
    sending --> failed: 400, an error rendering it, or too many attempts
    sending --> expired: too old to send
    sending --> skipped: no longer relevant
    pending --> unreachable: the person blocked the bot
    sending --> unreachable
```
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Update, bindparam, update
from sqlalchemy.ext.asyncio import AsyncSession

from liaison.storage.enums import OutboxState
from liaison.storage.models import OutboxMessage

TRANSITIONS: dict[OutboxState, frozenset[OutboxState]] = {
    OutboxState.PENDING: frozenset({OutboxState.SENDING, OutboxState.UNREACHABLE}),
    OutboxState.SENDING: frozenset(
        {
            OutboxState.SENDING,
            OutboxState.SENT,
            OutboxState.PENDING,
            OutboxState.FAILED,
            OutboxState.EXPIRED,
            OutboxState.SKIPPED,
            OutboxState.UNREACHABLE,
        }
    ),
    OutboxState.SENT: frozenset(),
    OutboxState.FAILED: frozenset(),
    OutboxState.EXPIRED: frozenset(),
    OutboxState.SKIPPED: frozenset(),
    OutboxState.UNREACHABLE: frozenset(),
}

FINAL = frozenset(state for state, targets in TRANSITIONS.items() if not targets)


def sources(target: OutboxState) -> tuple[OutboxState, ...]:
    return tuple(state for state, targets in TRANSITIONS.items() if target in targets)


def move_statement(target: OutboxState, *where: ColumnElement[bool], **values: Any) -> Update:
    """The one conditional UPDATE: rows matching ``where`` and in a state allowed to lead
    to ``target`` move there, with ``values`` written in the same statement.

    Leaving ``sending`` drops the claim token.
    """
    if target is not OutboxState.SENDING:
        values.setdefault("claim_token", None)
    return (
        update(OutboxMessage)
        .where(OutboxMessage.state.in_(sources(target)), *where)
        .values(state=target, **values)
        .execution_options(synchronize_session=False)
    )


async def move_row(
    session: AsyncSession,
    row_id: int,
    target: OutboxState,
    *,
    token: str | None = None,
    **values: Any,
) -> bool:
    """Moves one row to ``target`` if it is in a state allowed to lead there.

    With ``token`` the row must also still be held under that claim: a sender whose
    lease ran out and was taken over by another records nothing (a fencing token).
    """
    condition = [OutboxMessage.id == row_id]
    if token is not None:
        condition.append(OutboxMessage.claim_token == token)
    result = await session.execute(move_statement(target, *condition, **values))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def sent_many_statement() -> Update:
    """``move_statement(SENT, ...)`` for executemany, one parameter set per row: ``b_id``,
    ``b_token`` (the fence), ``b_chat``, ``b_at``, ``b_message``.

    executemany takes no expanding ``IN``, so the source state is compared with ``=``:
    sending is the only state that leads to sent.
    """
    (source,) = sources(OutboxState.SENT)
    return (
        update(OutboxMessage)
        .where(
            OutboxMessage.state == source,
            OutboxMessage.id == bindparam("b_id"),
            OutboxMessage.claim_token == bindparam("b_token"),
        )
        .values(
            state=OutboxState.SENT,
            claim_token=None,
            chat_id=bindparam("b_chat"),
            sent_at=bindparam("b_at"),
            telegram_message_id=bindparam("b_message"),
            lease_until=None,
            last_error=None,
        )
        .execution_options(synchronize_session=False)
    )
