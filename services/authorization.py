"""Who may do what: one place every organizer use case asks, whatever the handler did.

Each check is of the actor's role, of the programme concerned, and of access itself: a
withdrawn organizer keeps the role on the roster but may no longer change anything.
"""

from __future__ import annotations

from liaison.services.errors import AccessEnded, NotAllowed, StaffOnly
from liaison.services.people import Actor
from liaison.storage.enums import Role


def require_access(actor: Actor) -> None:
    """Anyone acting must still have access (not withdrawn)."""
    if not actor.has_access:
        raise AccessEnded()


def require_organizer(actor: Actor, programme_id: str | None = None) -> None:
    """Only an organizer, and only of the programme concerned, may change its records."""
    require_access(actor)
    if actor.role is not Role.ORGANIZER:
        raise NotAllowed()
    if programme_id is not None and programme_id != actor.programme_id:
        raise NotAllowed()


def require_staff(actor: Actor, programme_id: str | None = None) -> None:
    """Organizers and observers may read the cohort's records; cadres may not."""
    require_access(actor)
    if actor.role not in (Role.ORGANIZER, Role.OBSERVER):
        raise StaffOnly()
    if programme_id is not None and programme_id != actor.programme_id:
        raise StaffOnly()
