"""A programme's settings as stored with it, read back typed (never as loose dicts).

The programme file's `digest`, `reminders` and `selection` sections are resolved at load
time (the digest's zone defaults to the home zone) and stored as JSON; every reader goes
through ``settings_of``, so a misspelt field is an error here, not a silent default
elsewhere.
"""

from __future__ import annotations

from datetime import time, timedelta
from enum import StrEnum
from typing import Literal

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


class LevelSettings(_Stored):
    """One level of a levelled test (e.g. the BFT's 高级), lowest first in the test's list."""

    key: str
    zh: str
    en: str


# Roster columns that carry test results, kept from the roster format before tests existed.
RosterColumn = Literal["english_score", "bft_level"]


class TestSettings(_Stored):
    """A declared test: a score in [low, high], or one of its levels."""

    __test__ = False  # not a pytest class, whatever its name

    key: str
    title_zh: str
    title_en: str
    session: str | None = None
    low: float | None = None
    high: float | None = None
    levels: list[LevelSettings] = Field(default_factory=list)
    roster_column: RosterColumn | None = None
    batch: int | None = None

    @property
    def is_levelled(self) -> bool:
        return bool(self.levels)


class SelectionSettings(_Stored):
    """The selection phase, the places to fill and the tests; all optional."""

    phase: str | None = None
    places: int | None = None
    tests: list[TestSettings] = Field(default_factory=list)

    def test(self, key: str) -> TestSettings | None:
        return next((test for test in self.tests if test.key == key), None)


class ProgrammeSettings(_Stored):
    digest: DigestSettings = DigestSettings()
    reminders: ReminderSettings = ReminderSettings()
    selection: SelectionSettings = SelectionSettings()

    def stored(self) -> dict[str, object]:
        return self.model_dump(mode="json")


def settings_of(programme: Programme) -> ProgrammeSettings:
    return ProgrammeSettings.model_validate(programme.settings or {})
