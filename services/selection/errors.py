"""Why a selection step was refused; ui/errors.py says it in the reader's language."""

from __future__ import annotations

from liaison.services.errors import DomainError
from liaison.storage.enums import PersonStatus


class UnknownTest(DomainError):
    """No test with this key in the programme file; carries the keys there are."""

    code = "unknown_test"

    def __init__(self, key: str, keys: list[str]) -> None:
        super().__init__(key)
        self.key, self.keys = key, keys


class ScoreOutOfRange(DomainError):
    """Not a number, or outside the test's range."""

    code = "score_out_of_range"

    def __init__(self, value: str, title_zh: str, title_en: str, low: float, high: float) -> None:
        super().__init__(value)
        self.value, self.title_zh, self.title_en = value, title_zh, title_en
        self.low, self.high = low, high


class UnknownLevel(DomainError):
    """Not one of a levelled test's levels; carries their names in both languages."""

    code = "unknown_level"

    def __init__(
        self, value: str, title_zh: str, title_en: str, levels: list[tuple[str, str]]
    ) -> None:
        super().__init__(value)
        self.value, self.title_zh, self.title_en, self.levels = value, title_zh, title_en, levels


class NotACandidate(DomainError):
    """The person is not (or no longer) in the selection: staff, or a cadre past it."""

    code = "not_a_candidate"

    def __init__(self, name: str, status: PersonStatus | None = None) -> None:
        super().__init__(name)
        self.name, self.status = name, status


class NothingToConfirm(DomainError):
    """Confirm with no decision that changes anything (a second tap, say)."""

    code = "nothing_to_confirm"


class NotInTheWalk(DomainError):
    """A button for someone who is not in this organizer's programme (forged or stale)."""

    code = "not_in_the_walk"
