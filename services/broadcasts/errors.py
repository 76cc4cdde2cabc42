"""Why a broadcast step was refused; ui/errors.py says it in the reader's language."""

from __future__ import annotations

from liaison.services.errors import DomainError


class NoSuchBroadcast(DomainError):
    """Not a draft of this organizer (already sent, cancelled, or forged button data)."""

    code = "no_such_broadcast"


class EmptyAudience(DomainError):
    code = "empty_audience"


class EmptyBroadcast(DomainError):
    code = "empty_broadcast"


class NotARecipient(DomainError):
    code = "not_a_recipient"


class UnknownNames(DomainError):
    """Names that fit nobody, or several people; carries them."""

    code = "unknown_names"

    def __init__(self, names: list[str]) -> None:
        super().__init__(", ".join(names))
        self.names = names
