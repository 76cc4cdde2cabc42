"""Callback data codec: short, versioned, parsed in one place (never match on labels).

Button data comes back from the client and can be forged: every decoder bounds every
number and date it reads (an id of a hundred digits, the year 9999), so a forged button
is a BadCallback, answered "no longer valid", never an OverflowError or a database error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import ClassVar

from liaison.services.dates import in_range

MAX_BYTES = 64
# Row ids are 64-bit in the database; no real id comes near this, a forged one may.
MAX_ID = 2**53
# More questions than any check-in has; a forged index beyond it is refused.
MAX_QUESTION = 999
_DIGITS = re.compile(r"[0-9]{1,16}")


class BadCallback(ValueError):
    """The button data is forged, stale, or from an older bot version."""


def _encode(*parts: str) -> str:
    data = ":".join(parts)
    if len(data.encode()) > MAX_BYTES:
        raise ValueError(f"callback data over {MAX_BYTES} bytes: {data!r}")
    return data


def parse_id(text: str, *, maximum: int = MAX_ID, minimum: int = 1) -> int:
    """A row id (or index) typed or carried by a button: ASCII digits within bounds.

    ``str.isdigit`` accepts "²" and int() accepts "1_000"; neither is an id here.
    """
    if not _DIGITS.fullmatch(text):
        raise BadCallback(text)
    value = int(text)
    if not minimum <= value <= maximum:
        raise BadCallback(text)
    return value


def parse_date(text: str) -> date:
    """An ISO date carried by a button, inside the span dates are worked with."""
    try:
        day = date.fromisoformat(text)
    except ValueError as exc:
        raise BadCallback(text) from exc
    if not in_range(day):
        raise BadCallback(text)
    return day


@dataclass(frozen=True)
class ScheduleButton:
    PREFIX: ClassVar[str] = "sc1"
    ACTIONS: ClassVar[frozenset[str]] = frozenset({"today", "week", "next", "day"})
    view: str
    day: date

    def encode(self) -> str:
        return _encode(self.PREFIX, self.view, self.day.isoformat())

    @classmethod
    def decode(cls, data: str) -> ScheduleButton:
        parts = data.split(":")
        if len(parts) != 3 or parts[0] != cls.PREFIX or parts[1] not in cls.ACTIONS:
            raise BadCallback(data)
        return cls(parts[1], parse_date(parts[2]))


@dataclass(frozen=True)
class LanguageButton:
    PREFIX: ClassVar[str] = "lg1"
    ACTIONS: ClassVar[frozenset[str]] = frozenset()
    locale: str

    def encode(self) -> str:
        return _encode(self.PREFIX, self.locale)

    @classmethod
    def decode(cls, data: str) -> LanguageButton:
        prefix, _, locale = data.partition(":")
        if prefix != cls.PREFIX or not locale:
            raise BadCallback(data)
        return cls(locale)


@dataclass(frozen=True)
class TimezoneButton:
    PREFIX: ClassVar[str] = "tz1"
    ACTIONS: ClassVar[frozenset[str]] = frozenset()
    zone: str

    def encode(self) -> str:
        return _encode(self.PREFIX, self.zone)

    @classmethod
    def decode(cls, data: str) -> TimezoneButton:
        prefix, _, zone = data.partition(":")
        if prefix != cls.PREFIX or not zone:
            raise BadCallback(data)
        return cls(zone)


def pattern(prefix: str) -> str:
    return f"^{prefix}:"


@dataclass(frozen=True)
class CheckinButton:
    """A check-in action: g(o), a(nswer) with an option index, s(kip), b(ack), c(onfirm),
    m (edit menu) or e(dit) question ``question``."""

    PREFIX: ClassVar[str] = "sv1"
    ACTIONS: ClassVar[frozenset[str]] = frozenset({"g", "a", "s", "b", "c", "m", "e"})
    run_id: int
    question: int
    action: str
    value: str = ""

    def encode(self) -> str:
        return _encode(self.PREFIX, str(self.run_id), str(self.question), self.action, self.value)

    @classmethod
    def decode(cls, data: str) -> CheckinButton:
        parts = data.split(":")
        if len(parts) != 5 or parts[0] != cls.PREFIX or parts[3] not in cls.ACTIONS:
            raise BadCallback(data)
        _, run, question, action, value = parts
        return cls(
            parse_id(run), parse_id(question, maximum=MAX_QUESTION, minimum=0), action, value
        )


@dataclass(frozen=True)
class SubmissionButton:
    """p(ick) an assignment, s(ubmit), m(ore), c(ancel) a draft, or f(ile) to get back."""

    PREFIX: ClassVar[str] = "sb1"
    ACTIONS: ClassVar[frozenset[str]] = frozenset({"p", "s", "m", "c", "f"})
    action: str
    id: int

    def encode(self) -> str:
        return _encode(self.PREFIX, self.action, str(self.id))

    @classmethod
    def decode(cls, data: str) -> SubmissionButton:
        parts = data.split(":")
        if len(parts) != 3 or parts[0] != cls.PREFIX or parts[1] not in cls.ACTIONS:
            raise BadCallback(data)
        return cls(parts[1], parse_id(parts[2]))


# Every codec a button can carry, by prefix (the authorization matrix walks this).
CODECS: tuple[
    type[ScheduleButton]
    | type[LanguageButton]
    | type[TimezoneButton]
    | type[CheckinButton]
    | type[SubmissionButton],
    ...,
] = (ScheduleButton, LanguageButton, TimezoneButton, CheckinButton, SubmissionButton)
