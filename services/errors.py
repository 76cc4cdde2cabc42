"""Domain errors: one class per case, each with a stable code the handlers translate."""

from __future__ import annotations

from enum import StrEnum


class DomainError(Exception):
    code = "error"


class ContactNotOwn(DomainError):
    code = "contact_not_own"


class PhoneNotOnRoster(DomainError):
    code = "phone_not_on_roster"


class CodeInvalid(DomainError):
    code = "code_invalid"


class CodeUsed(DomainError):
    code = "code_used"


class CodeExpired(DomainError):
    code = "code_expired"


class CodeAttemptsLocked(DomainError):
    """Too many refused codes from one Telegram account: no code is tried for a while."""

    code = "code_attempts_locked"

    def __init__(self, minutes: int) -> None:
        super().__init__(str(minutes))
        self.minutes = minutes


class AlreadyEnrolled(DomainError):
    """The roster entry is already linked to another Telegram account."""

    code = "already_enrolled"


class UnknownTimezone(DomainError):
    code = "unknown_timezone"


class UnknownLocale(DomainError):
    code = "unknown_locale"


class DateProblem(StrEnum):
    """Why a typed date or time was refused; ui/errors.py words each one."""

    UNREADABLE = "unreadable"  # not a date at all ("tomorrow", "2026-1-1-1")
    NO_SUCH_DAY = "no_such_day"  # 2026-02-30, 2026-13-01
    OUT_OF_RANGE = "out_of_range"  # 9999-12-31, 0001-01-01
    NO_SUCH_TIME = "no_such_time"  # 25:00, 9h
    SKIPPED_BY_DST = "skipped_by_dst"  # 02:30 on the night clocks jump forward
    END_BEFORE_START = "end_before_start"  # /absent with the last day before the first


class InvalidDate(DomainError):
    """A date or time that cannot be used: ``text`` is what was written, ``problem`` why.

    ``str(error)`` is the text (or ``detail``, an explanation for logs and the CLI);
    ``other`` is the second date of a pair, e.g. the start an end came before.
    """

    code = "invalid_date"

    def __init__(
        self,
        text: str,
        problem: DateProblem = DateProblem.UNREADABLE,
        *,
        other: str | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(detail or text)
        self.text, self.problem, self.other = text, problem, other


class AccessEnded(DomainError):
    """The person was withdrawn from the programme: their access has ended."""

    code = "access_ended"


class NotAllowed(DomainError):
    """The actor's role may not do this."""

    code = "not_allowed"


class StaffOnly(NotAllowed):
    """Organizers and observers may read this; cadres may not."""

    code = "staff_only"


class PersonNotFound(DomainError):
    code = "person_not_found"


class AmbiguousName(DomainError):
    code = "ambiguous_name"
