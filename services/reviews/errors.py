"""Why a review step was refused; ui/errors.py says it in the reader's language."""

from __future__ import annotations

from liaison.services.errors import DomainError


class NoSuchSubmission(DomainError):
    """Not a submission of the reviewer's programme (or forged button data)."""

    code = "no_such_submission"


class ReviewTaken(DomainError):
    """Another organizer holds this review; carries their name."""

    code = "review_taken"

    def __init__(self, holder: str) -> None:
        super().__init__(holder)
        self.holder = holder


class ReviewDecided(DomainError):
    """The review was already decided, or a newer version came in since."""

    code = "review_decided"


class ScoreOutOfRange(DomainError):
    """Points outside the criterion's scale, or a criterion the rubric does not have."""

    code = "score_out_of_range"


class RubricIncomplete(DomainError):
    """Accepting needs every criterion scored."""

    code = "rubric_incomplete"


class RevisionDueInPast(DomainError):
    code = "revision_due_in_past"
