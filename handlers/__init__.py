"""Telegram adapters, one module per feature; register_all sets their order."""

from __future__ import annotations

from telegram.ext import Application

from handlers import checkin, enrolment, fallback, help, organizer, preferences, schedule


def register_all(app: Application) -> None:  # type: ignore[type-arg]
    """Registers feature handlers in group 0; the order matters only for fallback."""
    # Enrolment first: /start and contacts are all a stranger may send.
    enrolment.register(app)
    help.register(app)
    schedule.register(app)
    preferences.register(app)
    organizer.register(app)
    # Check-ins take free text and voice: after every command handler, before fallback.
    checkin.register(app)
    # Fallback last: it catches what no feature handler claimed.
    fallback.register(app)
