"""A dossier as text: line-based, so a long record splits cleanly into several messages."""

from __future__ import annotations

from datetime import datetime

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from liaison.services.checkins.views import RunView
from liaison.services.cohort import local_day
from liaison.services.dossier import Dossier, PersonRef
from liaison.storage.enums import RunState
from liaison.ui.callbacks import PersonButton
from liaison.ui.checkin import answer_text
from liaison.ui.i18n import Translator
from liaison.ui.labels import review_name, role_name, score_text, status_name
from liaison.ui.text import escape

# The question as a label beside its answer: its first words are enough.
QUESTION_CHARS = 24
NOTE_CHARS = 600


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit].rstrip() + "…"


def _heading(text: str) -> str:
    return f"<b>{escape(text)}</b>"


def _checkin(view: RunView, now: datetime, t: Translator) -> list[str]:
    when = t.full(view.slot_at, view.timezone)
    if view.state is RunState.COMPLETED:
        state = t("answered")
    elif view.is_open(now):
        state = t("open")
    else:
        state = t("missed")
    if view.state is RunState.ESCALATED:
        state += " · " + t("escalated")
    lines = [f"• {when} — {state}"]
    answered = [
        f"{escape(_short(t.pick(q.text_zh, q.text_en), QUESTION_CHARS))} → "
        f"{answer_text(view, q, t, limit=120)}"
        for q in view.questions
        if q.key in view.answers
    ]
    lines += [f"   {line}" for line in answered]
    return lines


def render_dossier(found: Dossier, reader_zone: str, now: datetime, t: Translator) -> str:
    title = f"👤 <b>{escape(found.name)}</b>"
    where = " ".join(part for part in (found.unit, found.position) if part)
    if where:
        title += " · " + escape(where)
    lines = [
        title,
        " · ".join(
            [
                role_name(found.role, t),
                status_name(found.status, t),
                t("phone {phone}").format(phone=escape(found.phone)),
            ]
        ),
    ]
    selection = []
    if found.test_batch is not None:
        selection.append(t("test batch {batch}").format(batch=found.test_batch))
    if found.english_score is not None:
        selection.append(t("English {score}").format(score=t.number(found.english_score)))
    if found.bft_level:
        selection.append(t("BFT {level}").format(level=escape(found.bft_level)))
    if selection:
        lines.append(t("Selection: {details}").format(details=" · ".join(selection)))
    if found.enrolled_at is None:
        lines.append(t("Not enrolled in the bot yet."))
    else:
        lines.append(
            t("Enrolled {day}.").format(day=t.short_day(local_day(found.enrolled_at, reader_zone)))
        )
    if found.unreachable_at is not None:
        lines.append(
            "📵 "
            + t("Unreachable through the bot since {day}.").format(
                day=t.short_day(local_day(found.unreachable_at, reader_zone))
            )
        )
    lines.append(
        t("Local time now: {time}").format(time=t.with_other_zone(now, found.timezone, reader_zone))
    )
    if found.roster_notes:
        lines.append(t("Roster notes: {notes}").format(notes=escape(found.roster_notes)))

    if found.checkins:
        lines += ["", _heading(t("Recent check-ins"))]
        for view in found.checkins:
            lines += _checkin(view, now, t)
    if found.work:
        lines += ["", _heading(t("Work"))]
        for work in found.work:
            due = t.with_other_zone(work.due_at, reader_zone, work.timezone, full=True)
            head = f"• <b>{escape(t.pick(work.title_zh, work.title_en))}</b> — " + t(
                "due {when}"
            ).format(when=due)
            if work.extended:
                head += " " + t("(extended)")
            lines.append(head)
            if not work.versions:
                lines.append("   " + t("nothing submitted"))
            for version in work.versions:
                parts = [
                    t("version {version}").format(version=version.version),
                    t.full(version.submitted_at, reader_zone),
                    review_name(version.status, t),
                ]
                if version.late:
                    parts.append(t("late"))
                if version.score is not None:
                    parts.append(score_text(version.score, t))
                if version.in_review_by:
                    parts.append(
                        t("being reviewed by {name}").format(name=escape(version.in_review_by))
                    )
                lines.append("   " + " · ".join(parts))
    if found.notes:
        lines += ["", _heading(t("Call notes"))]
        for note in found.notes:
            lines.append(
                "• "
                + t("check-in of {when}:").format(when=t.full(note.slot_at, note.timezone))
                + " "
                + escape(_short(note.notes.replace("\n", " / "), NOTE_CHARS))
            )
    if found.absences:
        lines += ["", _heading(t("Absences"))]
        for absence in found.absences:
            span = f"{t.short_day(absence.starts_on)} – {t.short_day(absence.ends_on)}"
            lines.append(f"• {span}" + (f": {escape(absence.reason)}" if absence.reason else ""))
    return "\n".join(lines)


def choices(people: list[PersonRef], t: Translator) -> tuple[str, InlineKeyboardMarkup]:
    """Several people fit the name: one button each."""
    text = t("Several people match. Whose dossier?")
    buttons = [
        [
            InlineKeyboardButton(
                " · ".join(p for p in (ref.name, ref.unit or "", role_name(ref.role, t)) if p)[:60],
                callback_data=PersonButton(ref.id).encode(),
            )
        ]
        for ref in people[:20]
    ]
    return text, InlineKeyboardMarkup(buttons)
