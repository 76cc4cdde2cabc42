"""Names of stored codes in the reader's language: statuses, roles, review states."""

from __future__ import annotations

from liaison.storage.enums import PersonStatus, ReviewStatus, Role
from liaison.ui.i18n import N_, Translator

ROLES = {
    Role.CADRE: N_("cadre"),
    Role.ORGANIZER: N_("organizer"),
    Role.OBSERVER: N_("observer"),
}
STATUSES = {
    PersonStatus.CANDIDATE: N_("candidate"),
    PersonStatus.SHORTLISTED: N_("shortlisted"),
    PersonStatus.SELECTED: N_("selected"),
    PersonStatus.ACTIVE: N_("active"),
    PersonStatus.WITHDRAWN: N_("withdrawn"),
    PersonStatus.RETURNED: N_("returned home"),
}
REVIEWS = {
    ReviewStatus.PENDING: N_("awaiting review"),
    ReviewStatus.REVIEWED: N_("accepted"),
    ReviewStatus.RETURNED: N_("revision requested"),
}


def role_name(role: Role, t: Translator) -> str:
    return t(ROLES[role])


def status_name(status: PersonStatus, t: Translator) -> str:
    return t(STATUSES[status])


def review_name(status: ReviewStatus, t: Translator) -> str:
    return t(REVIEWS[status])


def score_text(score: float, t: Translator) -> str:
    """A score out of 100: "86.5/100"."""
    return t("{score}/100").format(score=t.number(score))
