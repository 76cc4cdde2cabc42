"""Why a submission step was refused; ui/errors.py says it in the reader's language."""

from __future__ import annotations

from liaison.services.errors import DomainError


class NotYourAssignment(DomainError):
    code = "not_your_assignment"


class UnknownAssignment(DomainError):
    """No assignment with this key in the programme; carries the keys there are."""

    code = "unknown_assignment"

    def __init__(self, key: str, keys: list[str]) -> None:
        super().__init__(key)
        self.key, self.keys = key, keys


class AssignmentClosed(DomainError):
    code = "assignment_closed"


class NoDraft(DomainError):
    code = "no_draft"


class DraftElsewhere(DomainError):
    """A draft for another assignment is open; carries its titles."""

    code = "draft_elsewhere"

    def __init__(self, title_zh: str, title_en: str) -> None:
        super().__init__(title_zh)
        self.title_zh, self.title_en = title_zh, title_en


class EmptyDraft(DomainError):
    code = "empty_draft"


class FileRefused(DomainError):
    """``reason`` is empty, too_large, content_mismatch or not_accepted."""

    code = "file_refused"

    def __init__(self, reason: str, accepted: list[str]) -> None:
        super().__init__(reason)
        self.reason, self.accepted = reason, accepted


class DuplicateFile(DomainError):
    code = "duplicate_file"
