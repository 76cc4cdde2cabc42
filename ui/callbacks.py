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
