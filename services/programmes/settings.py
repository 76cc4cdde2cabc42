"""A programme's settings as stored with it, read back typed (never as loose dicts).

The programme file's `digest` and `reminders` sections are resolved at load time (the
digest's zone defaults to the home zone) and stored as JSON; every reader goes through
``settings_of``, so a misspelt field is an error here, not a silent default elsewhere.
"""

from __future__ import annotations

from datetime import time, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from liaison.storage.models import Programme


class SubmissionNotices(StrEnum):
    """Organizers hear of submissions in the daily digest, or also at once."""

    DIGEST = "digest"
    IMMEDIATE = "immediate"


class _Stored(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DigestSettings(_Stored):
    at: time = time(8, 0)
    timezone: str | None = None
    submissions: SubmissionNotices = SubmissionNotices.DIGEST


class ReminderSettings(_Stored):
    before_minutes: list[int] = Field(default_factory=lambda: [4320, 1440, 120])
    overdue_days: int = 3

    @property
    def before(self) -> list[timedelta]:
        """Offsets before the due time, largest first."""
        return sorted((timedelta(minutes=m) for m in self.before_minutes), reverse=True)


class ProgrammeSettings(_Stored):
    digest: DigestSettings = DigestSettings()
    reminders: ReminderSettings = ReminderSettings()

    def stored(self) -> dict[str, object]:
        return self.model_dump(mode="json")


def settings_of(programme: Programme) -> ProgrammeSettings:
    return ProgrammeSettings.model_validate(programme.settings or {})
