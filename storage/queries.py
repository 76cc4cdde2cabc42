"""Query functions shared by services; they read within the caller's session, never commit."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from liaison.storage.enums import PersonStatus, Role
from liaison.storage.models import Person


async def reachable_staff(
    session: AsyncSession, programme_id: str, roles: Sequence[Role] = (Role.ORGANIZER,)
) -> list[Person]:
    """Enrolled, reachable people of these roles with access: who gets alerts and notices."""
    rows = await session.scalars(
        select(Person)
        .where(
            Person.programme_id == programme_id,
            Person.role.in_(roles),
            Person.telegram_chat_id.is_not(None),
            Person.unreachable_at.is_(None),
            Person.status != PersonStatus.WITHDRAWN,
        )
        .order_by(Person.id)
    )
    return list(rows)


def upsert_insert(dialect: str, model: type[Any]) -> Any:
    """An INSERT that can say ON CONFLICT DO NOTHING, in the dialect at hand."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(model)
