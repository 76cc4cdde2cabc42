"""How much one person may send: files and bytes per draft, and per person per day.

A draft once accepted 120 files. These caps bound what one account can put on the
server's disk and through the bot's bandwidth. They are constants, not settings: they
protect the installation, not a programme's rules, and a legitimate submission stays far
below them (a stage report is a document and a few photos; an album holds ten). Voice
answers to check-ins count toward the daily caps too.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from liaison.services.errors import DomainError
from liaison.storage.database import Database
from liaison.storage.models import StoredFile

MB = 1024 * 1024
MAX_FILES_PER_DRAFT = 20
MAX_BYTES_PER_DRAFT = 100 * MB
MAX_FILES_PER_DAY = 60
MAX_BYTES_PER_DAY = 300 * MB
DAY = timedelta(hours=24)  # a rolling day: the same for a cadre abroad and the server


class Cap(StrEnum):
    DRAFT_FILES = "draft_files"
    DRAFT_BYTES = "draft_bytes"
    DAY_FILES = "day_files"
    DAY_BYTES = "day_bytes"


LIMITS = {
    Cap.DRAFT_FILES: MAX_FILES_PER_DRAFT,
    Cap.DRAFT_BYTES: MAX_BYTES_PER_DRAFT,
    Cap.DAY_FILES: MAX_FILES_PER_DAY,
    Cap.DAY_BYTES: MAX_BYTES_PER_DAY,
}


class QuotaReached(DomainError):
    """One more file (of this size) would pass a cap; ``cap`` says which, ``limit`` its value."""

    code = "quota_reached"

    def __init__(self, cap: Cap) -> None:
        super().__init__(cap.value)
        self.cap, self.limit = cap, LIMITS[cap]


async def check_quota(
    session: AsyncSession, person_id: int, draft_id: int | None, size: int, now: datetime
) -> None:
    """Raises QuotaReached if one more file of ``size`` bytes would pass a cap."""
    day_files, day_bytes = (
        await session.execute(
            select(func.count(), func.coalesce(func.sum(StoredFile.size), 0)).where(
                StoredFile.person_id == person_id, StoredFile.created_at > now - DAY
            )
        )
    ).one()
    if day_files + 1 > MAX_FILES_PER_DAY:
        raise QuotaReached(Cap.DAY_FILES)
    if day_bytes + size > MAX_BYTES_PER_DAY:
        raise QuotaReached(Cap.DAY_BYTES)
    if draft_id is None:
        return
    draft_files, draft_bytes = (
        await session.execute(
            select(func.count(), func.coalesce(func.sum(StoredFile.size), 0)).where(
                StoredFile.draft_id == draft_id
            )
        )
    ).one()
    if draft_files + 1 > MAX_FILES_PER_DRAFT:
        raise QuotaReached(Cap.DRAFT_FILES)
    if draft_bytes + size > MAX_BYTES_PER_DRAFT:
        raise QuotaReached(Cap.DRAFT_BYTES)


async def quota_allows(
    db: Database, person_id: int, draft_id: int | None, size: int, now: datetime
) -> None:
    """The same check before a download, so a file over a cap is never fetched."""
    async with db.read() as session:
        await check_quota(session, person_id, draft_id, size, now)
