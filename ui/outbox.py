"""Texts of the messages the bot sends on its own, rendered at send time for the reader.

The outbox holds codes and ids only; here they become words in the recipient's language,
with times in the recipient's zone. None means "no longer worth sending".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from telegram import InlineKeyboardMarkup

from liaison.services import checkin_flow as flow
from liaison.services import submissions as sub
from liaison.services.digest import Digest, build_digest
from liaison.services.outbox import Claimed
from liaison.services.people import Actor, actor_by_id
from liaison.storage.database import Database
from liaison.storage.enums import OutboxKind
from liaison.ui.checkin import answer_text, greeting, start_keyboard
from liaison.ui.i18n import Translator, choose_locale, translator
from liaison.ui.submissions import KIND_COMMAND
from liaison.ui.text import escape


@dataclass(frozen=True)
class Rendered:
    chat_id: int
    text: str
    keyboard: InlineKeyboardMarkup | None = None


def _translator(actor: Actor) -> Translator:
    return translator(choose_locale(actor.locale, None, actor.programme_locale))


async def render(db: Database, row: Claimed, now: datetime) -> Rendered | None:
    if row.person_id is None:
        return None
    reader = await actor_by_id(db, row.person_id)
    if reader is None or reader.chat_id is None:
        return None
    chat_id = reader.chat_id
    t = _translator(reader)
    kind = OutboxKind(row.kind)
    if kind in (OutboxKind.CHECKIN_PROMPT, OutboxKind.CHECKIN_REMINDER):
        view = await flow.view_run(db, int(row.payload["run_id"]))
        if not view.is_open(now):
            return None
        if kind is OutboxKind.CHECKIN_PROMPT:
            return Rendered(chat_id, greeting(view, t), start_keyboard(view, t))
        answered = sum(1 for q in view.questions if q.key in view.answers)
        text = t(
            "Reminder: your check-in is waiting ({answered} of {count} answered). It closes {when}."
        ).format(
            answered=answered, count=len(view.questions), when=t.full(view.closes_at, view.timezone)
        )
        return Rendered(chat_id, text, start_keyboard(view, t, resume=answered > 0))
    if kind is OutboxKind.CHECKIN_ESCALATION:
        run_id = int(row.payload["run_id"])
        view = await flow.view_run(db, run_id)
        if view.state in ("completed",):
            return None
        cadre = await actor_by_id(db, view.person_id)
        if cadre is None:
            return None
        text = "\n".join(
            [
                "⚠️ "
                + t("{name} has not answered the check-in due {due}.").format(
                    name=escape(cadre.name),
                    due=t.with_other_zone(view.slot_at, reader.timezone, view.timezone, full=True),
                ),
                t("Their local time now: {now}.").format(
                    now=t.with_other_zone(now, view.timezone, reader.timezone)
                ),
                t("Phone: {phone}").format(phone=escape(cadre.phone)),
                t("After the call, tap /note_{run} to record your notes.").format(run=run_id),
            ]
        )
        return Rendered(chat_id, text)
    if kind is OutboxKind.CHECKIN_ALERT:
        run_id = int(row.payload["run_id"])
        view = await flow.view_run(db, run_id)
        cadre = await actor_by_id(db, view.person_id)
        if cadre is None:
            return None
        lines = [
            "🚨 "
            + t("Alert from {name}'s check-in of {due}:").format(
                name=escape(cadre.name), due=t.full(view.slot_at, reader.timezone)
            )
        ]
        questions = {q.key: q for q in view.questions}
        for triggered in await flow.alerts_of(db, run_id):
            question = questions[triggered.question_key]
            label = escape(t.pick(question.text_zh, question.text_en))
            lines.append(f"• {label} → {answer_text(view, question, t)}")
        lines.append(t("Phone: {phone}").format(phone=escape(cadre.phone)))
        lines.append(t("After the call, tap /note_{run} to record your notes.").format(run=run_id))
        return Rendered(chat_id, "\n".join(lines))
    if kind is OutboxKind.UNREACHABLE_REPORT:
        person = await actor_by_id(db, int(row.payload["person_id"]))
        if person is None:
            return None
        text = t(
            "{name} can no longer be reached through the bot (they blocked it or deleted the "
            "chat). Phone: {phone}"
        ).format(name=escape(person.name), phone=escape(person.phone))
        return Rendered(chat_id, "⚠️ " + text)
    if kind is OutboxKind.EXPIRED_REPORT:
        count = int(row.payload["count"])
        text = t.plural(
            "While the bot was offline, {count} scheduled message became too old and was not "
            "sent; check-ins concerned are recorded as missed.",
            "While the bot was offline, {count} scheduled messages became too old and were not "
            "sent; check-ins concerned are recorded as missed.",
            count,
        ).format(count=count)
        return Rendered(chat_id, "ℹ️ " + text)
    if kind in (OutboxKind.DEADLINE_REMINDER, OutboxKind.OVERDUE_REMINDER):
        return await _deadline(db, row, reader, t, chat_id, now)
    if kind in (OutboxKind.DRAFT_REMINDER, OutboxKind.DRAFT_DROPPED):
        return await _draft(db, row, t, chat_id)
    if kind is OutboxKind.SUBMISSION_NOTICE:
        info = await sub.submission_summary(db, int(row.payload["submission_id"]))
        text = t("{name} submitted {title}, version {version}.").format(
            name=escape(str(info["name"])),
            title=escape(t.pick(str(info["title_zh"]), str(info["title_en"]))),
            version=info["version"],
        )
        if info["late"]:
            text += " " + t("(late)")
        return Rendered(chat_id, "📥 " + text)
    if kind is OutboxKind.DIGEST:
        until = datetime.fromisoformat(str(row.payload["until"]))
        digest = await build_digest(db, str(row.payload["programme_id"]), until)
        return Rendered(chat_id, render_digest(digest, reader, t))
    return None


async def _deadline(
    db: Database, row: Claimed, reader: Actor, t: Translator, chat_id: int, now: datetime
) -> Rendered | None:
    assignment_id = int(row.payload["assignment_id"])
    if row.person_id is None or await sub.has_submitted(db, row.person_id, assignment_id):
        return None
    view = await sub.assignment_view(db, assignment_id, row.person_id)
    if view.due_at.isoformat() != row.payload["due_at"]:
        return None  # an extension moved the due time; its own reminders follow
    title = escape(t.pick(view.title_zh, view.title_en))
    command = "/" + KIND_COMMAND.get(view.kind, "report")
    when = t.with_other_zone(view.due_at, reader.timezone, reader.home_timezone, full=True)
    if OutboxKind(row.kind) is OutboxKind.DEADLINE_REMINDER:
        text = t("Reminder: {title} is due {when} ({relative}). Submit it with {command}.").format(
            title=title, when=when, relative=t.relative(view.due_at - now), command=command
        )
        return Rendered(chat_id, "⏰ " + text)
    text = t(
        "{title} was due {when} and has not been submitted yet. Late work is still accepted: "
        "send it with {command}."
    ).format(title=title, when=when, command=command)
    return Rendered(chat_id, "⚠️ " + text)


async def _draft(db: Database, row: Claimed, t: Translator, chat_id: int) -> Rendered | None:
    if OutboxKind(row.kind) is OutboxKind.DRAFT_REMINDER:
        draft = await sub.draft_exists(db, int(row.payload["draft_id"]))
        if draft is None:
            return None
        title = escape(t.pick(draft.assignment.title_zh, draft.assignment.title_en))
        text = t(
            "You have an unsent draft for {title}. Tap Submit on its preview, add more, or "
            "/cancel it. Unsent drafts are dropped two days after this reminder."
        ).format(title=title)
        return Rendered(chat_id, "📝 " + text)
    title = escape(t.pick(str(row.payload["title_zh"]), str(row.payload["title_en"])))
    text = t(
        "Your unsent draft for {title} was dropped after days without activity. Start again "
        "when you are ready."
    ).format(title=title)
    return Rendered(chat_id, "🗑 " + text)


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
    return "\n".join(lines)
