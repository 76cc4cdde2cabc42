"""Writing audit events inside the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from liaison.storage.models import AuditEvent


async def record(
    session: AsyncSession,
    action: str,
    *,
    programme_id: str | None = None,
    actor_person_id: int | None = None,
    telegram_user_id: int | None = None,
    details: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> None:
    session.add(
        AuditEvent(
            action=action,
            programme_id=programme_id,
            actor_person_id=actor_person_id,
            telegram_user_id=telegram_user_id,
            details=details or {},
            **({"at": at} if at is not None else {}),
        )
    )
