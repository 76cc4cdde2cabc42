"""Domain errors: one class per case, each with a stable code the handlers translate."""

from __future__ import annotations


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


class AlreadyEnrolled(DomainError):
    """The roster entry is already linked to another Telegram account."""

    code = "already_enrolled"


class UnknownTimezone(DomainError):
    code = "unknown_timezone"


class UnknownLocale(DomainError):
    code = "unknown_locale"


class InvalidDate(DomainError):
    code = "invalid_date"


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
