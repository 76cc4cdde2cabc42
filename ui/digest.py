"""The organizers' daily digest as text, in the reader's language and zone."""

from __future__ import annotations

from liaison.services.digest import Digest
from liaison.services.people import Actor
from liaison.ui.i18n import Translator
from liaison.ui.selection_digest import render_selection_digest
from liaison.ui.text import escape


def render_digest(digest: Digest, reader: Actor, t: Translator) -> str:
    lines = [
        "📊 <b>"
        + escape(
            t("Daily digest, {since} – {until}").format(
                since=t.full(digest.since, reader.timezone),
                until=t.full(digest.until, reader.timezone),
            )
        )
        + "</b>",
        t("Submissions: {count} ({late} late)").format(
            count=digest.submissions, late=digest.late_submissions
        ),
    ]
    if digest.submitted_by:
        lines.append("   " + escape("、".join(digest.submitted_by)))
    lines.append(
        t("Check-ins: {completed} completed, {missed} missed, {escalated} escalated").format(
            completed=digest.checkins_completed,
            missed=digest.checkins_missed,
            escalated=digest.checkins_escalated,
        )
    )
    lines.append(t("Alerts: {count}").format(count=digest.alerts))
    if digest.overdue:
        lines.append(t("Overdue: {count}").format(count=len(digest.overdue)))
        lines.extend(
            f"   • {escape(name)} — {escape(t.pick(zh, en))}" for name, zh, en in digest.overdue
        )
    if digest.silent:
        lines.append(
            t("No completed check-in for 7 days: {names}").format(
                names=escape("、".join(digest.silent))
            )
        )
    if digest.unreachable:
        lines.append(
            t("Unreachable through the bot: {names}").format(
                names=escape("、".join(digest.unreachable))
            )
        )
    if digest.selection is not None:
        lines += render_selection_digest(digest.selection, reader, t)
    if digest.mail_delayed:
        lines.append(mail_delayed_text(digest.mail_delayed, t))
    return "\n".join(lines)


def mail_delayed_text(count: int, t: Translator) -> str:
    return "✉️ " + t.plural(
        "E-mail is delayed: {count} message is waiting for the mail server.",
        "E-mail is delayed: {count} messages are waiting for the mail server.",
        count,
    ).format(count=count)
