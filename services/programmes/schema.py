"""The programme definition file, as pydantic models: the contract organizers write against."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    field_validator,
)

from liaison.services.timezones import is_valid_timezone
from liaison.storage.enums import AssignmentKind, Audience, Location, QuestionKind, SessionKind

KEY_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
Key = Annotated[str, Field(pattern=KEY_PATTERN)]

LOCALES = ("zh_CN", "en")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_FORMATS = ["pdf", "docx", "doc", "xlsx", "pptx", "jpg", "png", "txt", "md"]

_DURATION = re.compile(r"^\s*(\d+)\s*([mhd])\s*$")


def _parse_duration(value: object) -> object:
    """Accepts "30m", "3h", "2d" or a number of minutes."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return timedelta(minutes=value)
    if isinstance(value, str):
        match = _DURATION.match(value)
        if not match:
            raise ValueError("expected a duration such as 30m, 3h or 2d")
        amount, unit = int(match.group(1)), match.group(2)
        return {"m": timedelta(minutes=amount), "h": timedelta(hours=amount)}.get(
            unit, timedelta(days=amount)
        )
    return value


def _check_timezone(value: str) -> str:
    if not is_valid_timezone(value):
        raise ValueError(f"unknown time zone {value!r} (expected a tz name like Asia/Shanghai)")
    return value


def _parse_end(value: object) -> datetime | time:
    """An end is a full date-time or, on the start's day, just HH:MM."""
    if isinstance(value, datetime | time):
        return value
    text = str(value).strip()
    try:
        if re.fullmatch(r"\d{1,2}:\d{2}", text):
            return time.fromisoformat(text.zfill(5))
        return datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("not a valid end (expected HH:MM or YYYY-MM-DD HH:MM)") from None


Duration = Annotated[timedelta, BeforeValidator(_parse_duration)]
EndTime = Annotated[datetime | time, PlainValidator(_parse_end)]
TimeZoneName = Annotated[str, BeforeValidator(lambda v: _check_timezone(str(v)))]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Text(Strict):
    """A text in Chinese and English; English falls back to Chinese when left out."""

    zh: str = Field(min_length=1)
    en: str | None = None

    def english(self) -> str:
        return self.en or self.zh


class ProgrammeInfo(Strict):
    id: Key
    title: Text
    home_timezone: TimeZoneName = "Asia/Shanghai"
    host_timezone: TimeZoneName
    default_locale: Literal["zh_CN", "en"] = "zh_CN"


class PhaseDef(Strict):
    key: Key
    title: Text
    location: Location
    start: date
    end: date
    # Whom the phase's sessions, assignments and check-ins address, unless they say;
    # left out: the default rule (docs/selection.md).
    audience: Audience | None = None


class SessionDef(Strict):
    key: Key
    phase: Key | None = None
    kind: SessionKind = SessionKind.LECTURE
    title: Text
    start: datetime
    end: EndTime
    timezone: TimeZoneName | None = None
    place: str | None = None
    audience: Audience | None = None


class CriterionDef(Strict):
    """One rubric criterion: scored with buttons from 1 to ``scale``, counted by ``weight``."""

    key: Key
    title: Text
    scale: int = Field(default=5, ge=2, le=10)
    weight: float = Field(default=1, gt=0, le=100)


class AssignmentDef(Strict):
    key: Key
    kind: AssignmentKind
    phase: Key | None = None
    title: Text
    description: Text | None = None
    opens: datetime | None = None
    due: datetime
    closes: datetime | None = None
    timezone: TimeZoneName | None = None
    formats: list[str] = Field(default_factory=lambda: list(DEFAULT_FORMATS))
    audience: Audience | None = None
    rubric: list[CriterionDef] = Field(default_factory=list)

    @field_validator("formats")
    @classmethod
    def _formats(cls, value: list[str]) -> list[str]:
        cleaned = [fmt.lower().lstrip(".") for fmt in value]
        for fmt in cleaned:
            if not re.fullmatch(r"[a-z0-9]{1,8}", fmt):
                raise ValueError(f"not a file extension: {fmt!r}")
        return cleaned


class ChoiceOption(Strict):
    key: Key
    zh: str = Field(min_length=1)
    en: str | None = None


class QuestionDef(Strict):
    key: Key
    kind: QuestionKind
    text: Text
    options: list[ChoiceOption] = Field(default_factory=list)
    optional: bool = False


class Schedule(Strict):
    weekdays: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = Field(min_length=1)
    at: time


class AlertRule(Strict):
    question: Key
    op: Literal["<", "<=", "==", "!=", ">=", ">"]
    value: int | str | bool


class SurveyDef(Strict):
    key: Key
    title: Text
    phases: list[Key] = Field(min_length=1)
    schedule: Schedule
    window: Duration = timedelta(hours=24)
    remind_after: Duration = timedelta(hours=3)
    escalate_after: Duration = timedelta(hours=20)
    questions: list[QuestionDef] = Field(min_length=1)
    alerts: list[AlertRule] = Field(default_factory=list)
    audience: Audience | None = None


class DigestDef(Strict):
    at: time = time(8, 0)
    timezone: TimeZoneName | None = None
    submissions: Literal["digest", "immediate"] = "digest"


class RemindersDef(Strict):
    before: list[Duration] = Field(
        default_factory=lambda: [timedelta(hours=72), timedelta(hours=24), timedelta(hours=2)]
    )
    overdue_days: int = Field(default=3, ge=0, le=60)


class LevelDef(Strict):
    """A level of a levelled test; the test lists them lowest first."""

    key: Key
    zh: str = Field(min_length=1)
    en: str | None = None


class TestDef(Strict):
    """A test candidates take: scored in a range, or graded in levels."""

    __test__ = False  # not a pytest class, whatever its name

    key: Key
    title: Text
    session: Key | None = None
    range: tuple[float, float] | None = None
    levels: list[LevelDef] = Field(default_factory=list)
    # The roster column this test's results may be imported from, and for english_score
    # the test_batch whose scores belong to this test.
    roster: Literal["english_score", "bft_level"] | None = None
    batch: int | None = Field(default=None, ge=1)


class SelectionDef(Strict):
    phase: Key | None = None
    places: int | None = Field(default=None, ge=1)
    tests: list[TestDef] = Field(default_factory=list)


class ProgrammeFile(Strict):
    programme: ProgrammeInfo
    phases: list[PhaseDef] = Field(min_length=1)
    sessions: list[SessionDef] = Field(default_factory=list)
    assignments: list[AssignmentDef] = Field(default_factory=list)
    surveys: list[SurveyDef] = Field(default_factory=list)
    digest: DigestDef = DigestDef()
    reminders: RemindersDef = RemindersDef()
    selection: SelectionDef = SelectionDef()
