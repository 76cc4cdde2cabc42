"""Telegram adapters, one module per feature; register_all sets their order."""

from __future__ import annotations

from telegram.ext import Application

from liaison.handlers import (
    broadcasts,
    calendar,
    checkin,
    digest,
    enrolment,
    exports,
    fallback,
    free_input,
    help,
    organizer,
    people,
    preferences,
    reviews,
    schedule,
    selection,
    submissions,
)


def register_all(app: Application) -> None:  # type: ignore[type-arg]
    """Registers feature handlers in group 0; the order matters only for fallback."""
    # Enrolment first: /start and contacts are all a stranger may send.
    enrolment.register(app)
    help.register(app)
    schedule.register(app)
    preferences.register(app)
    organizer.register(app)
    selection.register(app)
    exports.register(app)
    calendar.register(app)
    digest.register(app)
    people.register(app)
    reviews.register(app)
    broadcasts.register(app)
    submissions.register(app)
    checkin.register(app)
    # Free text, files and voice: after every command handler, before fallback.
    free_input.register(app)
    # Fallback last: it catches what no feature handler claimed.
    fallback.register(app)
