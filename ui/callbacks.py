"""Callback data codec: short, versioned, parsed in one place (never match on labels)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

MAX_BYTES = 64


class BadCallback(ValueError):
    """The button data is forged, stale, or from an older bot version."""


def _encode(*parts: str) -> str:
    data = ":".join(parts)
    if len(data.encode()) > MAX_BYTES:
        raise ValueError(f"callback data over {MAX_BYTES} bytes: {data!r}")
    return data


@dataclass(frozen=True)
class ScheduleButton:
    PREFIX = "sc1"
    view: str
    day: date

    def encode(self) -> str:
        return _encode(self.PREFIX, self.view, self.day.isoformat())

    @classmethod
    def decode(cls, data: str) -> ScheduleButton:
        try:
            prefix, view, day = data.split(":")
            if prefix != cls.PREFIX or view not in {"today", "week", "next", "day"}:
                raise BadCallback(data)
            return cls(view, date.fromisoformat(day))
        except ValueError as exc:
            raise BadCallback(data) from exc


@dataclass(frozen=True)
class LanguageButton:
    PREFIX = "lg1"
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
    PREFIX = "tz1"
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

    PREFIX = "sv1"
    run_id: int
    question: int
    action: str
    value: str = ""

    def encode(self) -> str:
        return _encode(self.PREFIX, str(self.run_id), str(self.question), self.action, self.value)

    @classmethod
    def decode(cls, data: str) -> CheckinButton:
        try:
            prefix, run, question, action, value = data.split(":")
            if prefix != cls.PREFIX or action not in {"g", "a", "s", "b", "c", "m", "e"}:
                raise BadCallback(data)
            return cls(int(run), int(question), action, value)
        except ValueError as exc:
            raise BadCallback(data) from exc


@dataclass(frozen=True)
class SubmissionButton:
    """p(ick) an assignment, s(ubmit), m(ore), c(ancel) a draft, or f(ile) to get back."""

    PREFIX = "sb1"
    action: str
    id: int

    def encode(self) -> str:
        return _encode(self.PREFIX, self.action, str(self.id))

    @classmethod
    def decode(cls, data: str) -> SubmissionButton:
        try:
            prefix, action, ident = data.split(":")
            if prefix != cls.PREFIX or action not in {"p", "s", "m", "c", "f"}:
                raise BadCallback(data)
            return cls(action, int(ident))
        except ValueError as exc:
            raise BadCallback(data) from exc


@dataclass(frozen=True)
class SelectionButton:
    """y (select) or n (not select) candidate ``id``, v(iew) their card, s(ummary),
    c(onfirm) or x (cancel) the walk; ``id`` is 0 where no one is meant."""

    PREFIX = "sl1"
    action: str
    id: int = 0

    def encode(self) -> str:
        return _encode(self.PREFIX, self.action, str(self.id))

    @classmethod
    def decode(cls, data: str) -> SelectionButton:
        try:
            prefix, action, ident = data.split(":")
            if prefix != cls.PREFIX or action not in {"y", "n", "v", "s", "c", "x"}:
                raise BadCallback(data)
            return cls(action, int(ident))
        except ValueError as exc:
            raise BadCallback(data) from exc


def _int_button(prefix: str, data: str) -> int:
    """The number after ``prefix:``; anything else is a forged or stale button."""
    head, _, value = data.partition(":")
    if head != prefix or not value.isdigit() or len(value) > 12:
        raise BadCallback(data)
    return int(value)


@dataclass(frozen=True)
class CohortButton:
    """A page of /cohort."""

    PREFIX = "co1"
    page: int

    def encode(self) -> str:
        return _encode(self.PREFIX, str(self.page))

    @classmethod
    def decode(cls, data: str) -> CohortButton:
        return cls(_int_button(cls.PREFIX, data))


@dataclass(frozen=True)
class PersonButton:
    """One person's dossier, chosen from a list of people a name matched."""

    PREFIX = "pe1"
    person_id: int

    def encode(self) -> str:
        return _encode(self.PREFIX, str(self.person_id))

    @classmethod
    def decode(cls, data: str) -> PersonButton:
        return cls(_int_button(cls.PREFIX, data))


@dataclass(frozen=True)
class ReviewButton:
    """o(pen) a submission, s(core) criterion ``a`` with ``b`` points, k (pick criterion a),
    a(ccept), r(evision: ask the due time), d(ue in ``a`` days), x (release), or f(ilter)
    the queue by assignment ``id``."""

    PREFIX = "rv1"
    ACTIONS = frozenset("oskardxf")
    action: str
    id: int
    a: int = 0
    b: int = 0

    def encode(self) -> str:
        return _encode(self.PREFIX, self.action, str(self.id), str(self.a), str(self.b))

    @classmethod
    def decode(cls, data: str) -> ReviewButton:
        try:
            prefix, action, ident, a, b = data.split(":")
            if prefix != cls.PREFIX or action not in cls.ACTIONS:
                raise BadCallback(data)
            return cls(action, int(ident), int(a), int(b))
        except ValueError as exc:
            raise BadCallback(data) from exc


@dataclass(frozen=True)
class ExportButton:
    """b(uild) an export, or m(ail) it to the organizer's own address."""

    PREFIX = "ex1"
    action: str
    kind: str

    def encode(self) -> str:
        return _encode(self.PREFIX, self.action, self.kind)

    @classmethod
    def decode(cls, data: str) -> ExportButton:
        parts = data.split(":")
        if len(parts) != 3 or parts[0] != cls.PREFIX or parts[1] not in {"b", "m"}:
            raise BadCallback(data)
        return cls(parts[1], parts[2])


@dataclass(frozen=True)
class BroadcastButton:
    """Composing a broadcast: a(udience kind c/p/z/n/s), p(hase id), z(one index),
    k (toggle "Got it"), y (confirm), x (cancel)."""

    PREFIX = "bc1"
    ACTIONS = frozenset("apzkyx")
    action: str
    id: int
    value: str = ""

    def encode(self) -> str:
        return _encode(self.PREFIX, self.action, str(self.id), self.value)

    @classmethod
    def decode(cls, data: str) -> BroadcastButton:
        try:
            prefix, action, ident, value = data.split(":")
            if prefix != cls.PREFIX or action not in cls.ACTIONS:
                raise BadCallback(data)
            return cls(action, int(ident), value)
        except ValueError as exc:
            raise BadCallback(data) from exc


@dataclass(frozen=True)
class AckButton:
    """A recipient's "Got it" under a broadcast."""

    PREFIX = "ba1"
    broadcast_id: int

    def encode(self) -> str:
        return _encode(self.PREFIX, str(self.broadcast_id))

    @classmethod
    def decode(cls, data: str) -> AckButton:
        return cls(_int_button(cls.PREFIX, data))
