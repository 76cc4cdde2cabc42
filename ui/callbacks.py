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


@dataclass(frozen=True)
class SelectionButton:
    """y (select) or n (not select) candidate ``id``, v(iew) their card, s(ummary),
    c(onfirm) or x (cancel) the walk; ``id`` is 0 where no one is meant."""

    PREFIX: ClassVar[str] = "sl1"
    ACTIONS: ClassVar[frozenset[str]] = frozenset({"y", "n", "v", "s", "c", "x"})
    action: str
    id: int = 0

    def encode(self) -> str:
        return _encode(self.PREFIX, self.action, str(self.id))

    @classmethod
    def decode(cls, data: str) -> SelectionButton:
        parts = data.split(":")
        if len(parts) != 3 or parts[0] != cls.PREFIX or parts[1] not in cls.ACTIONS:
            raise BadCallback(data)
        return cls(parts[1], parse_id(parts[2], minimum=0))


def _one_number(prefix: str, data: str, *, minimum: int = 1) -> int:
    """The number after ``prefix:``; anything else is a forged or stale button."""
    head, _, value = data.partition(":")
    if head != prefix:
        raise BadCallback(data)
    return parse_id(value, minimum=minimum)


@dataclass(frozen=True)
class CohortButton:
    """A page of /cohort."""

    PREFIX: ClassVar[str] = "co1"
    ACTIONS: ClassVar[frozenset[str]] = frozenset()
    page: int

    def encode(self) -> str:
        return _encode(self.PREFIX, str(self.page))

    @classmethod
    def decode(cls, data: str) -> CohortButton:
        return cls(_one_number(cls.PREFIX, data, minimum=0))


@dataclass(frozen=True)
class PersonButton:
    """One person's dossier, chosen from a list of people a name matched."""

    PREFIX: ClassVar[str] = "pe1"
    ACTIONS: ClassVar[frozenset[str]] = frozenset()
    person_id: int

    def encode(self) -> str:
        return _encode(self.PREFIX, str(self.person_id))

    @classmethod
    def decode(cls, data: str) -> PersonButton:
        return cls(_one_number(cls.PREFIX, data))


@dataclass(frozen=True)
class ReviewButton:
    """o(pen) a submission, s(core) criterion ``a`` with ``b`` points, k (pick criterion a),
    a(ccept), r(evision: ask the due time), d(ue in ``a`` days), x (release), or f(ilter)
    the queue by assignment ``id``."""

    PREFIX: ClassVar[str] = "rv1"
    ACTIONS: ClassVar[frozenset[str]] = frozenset("oskardxf")
    action: str
    id: int
    a: int = 0
    b: int = 0

    def encode(self) -> str:
        return _encode(self.PREFIX, self.action, str(self.id), str(self.a), str(self.b))

    @classmethod
    def decode(cls, data: str) -> ReviewButton:
        parts = data.split(":")
        if len(parts) != 5 or parts[0] != cls.PREFIX or parts[1] not in cls.ACTIONS:
            raise BadCallback(data)
        small = {"minimum": 0, "maximum": MAX_QUESTION}
        return cls(
            parts[1],
            parse_id(parts[2], minimum=0),
            parse_id(parts[3], **small),
            parse_id(parts[4], **small),
        )


@dataclass(frozen=True)
class ExportButton:
    """b(uild) an export, or m(ail) it to the organizer's own address."""

    PREFIX: ClassVar[str] = "ex1"
    ACTIONS: ClassVar[frozenset[str]] = frozenset({"b", "m"})
    action: str
    kind: str

    def encode(self) -> str:
        return _encode(self.PREFIX, self.action, self.kind)

    @classmethod
    def decode(cls, data: str) -> ExportButton:
        parts = data.split(":")
        if len(parts) != 3 or parts[0] != cls.PREFIX or parts[1] not in cls.ACTIONS:
            raise BadCallback(data)
        return cls(parts[1], parts[2])


@dataclass(frozen=True)
class BroadcastButton:
    """Composing a broadcast: a(udience kind c/p/z/n/s), p(hase id), z(one index),
    k (toggle "Got it"), y (confirm), x (cancel)."""

    PREFIX: ClassVar[str] = "bc1"
    ACTIONS: ClassVar[frozenset[str]] = frozenset("apzkyx")
    action: str
    id: int
    value: str = ""

    def encode(self) -> str:
        return _encode(self.PREFIX, self.action, str(self.id), self.value)

    @classmethod
    def decode(cls, data: str) -> BroadcastButton:
        parts = data.split(":")
        if len(parts) != 4 or parts[0] != cls.PREFIX or parts[1] not in cls.ACTIONS:
            raise BadCallback(data)
        return cls(parts[1], parse_id(parts[2], minimum=0), parts[3])


@dataclass(frozen=True)
class AckButton:
    """A recipient's "Got it" under a broadcast."""

    PREFIX: ClassVar[str] = "ba1"
    ACTIONS: ClassVar[frozenset[str]] = frozenset()
    broadcast_id: int

    def encode(self) -> str:
        return _encode(self.PREFIX, str(self.broadcast_id))

    @classmethod
    def decode(cls, data: str) -> AckButton:
        return cls(_one_number(cls.PREFIX, data))


# Every codec a button can carry, by prefix (the authorization matrix walks this).
Codec = (
    type[ScheduleButton]
    | type[LanguageButton]
    | type[TimezoneButton]
    | type[CheckinButton]
    | type[SubmissionButton]
    | type[SelectionButton]
    | type[CohortButton]
    | type[PersonButton]
    | type[ReviewButton]
    | type[ExportButton]
    | type[BroadcastButton]
    | type[AckButton]
)
CODECS: tuple[Codec, ...] = (
    ScheduleButton,
    LanguageButton,
    TimezoneButton,
    CheckinButton,
    SubmissionButton,
    SelectionButton,
    CohortButton,
    PersonButton,
    ReviewButton,
    ExportButton,
    BroadcastButton,
    AckButton,
)
