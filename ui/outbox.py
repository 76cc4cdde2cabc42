"""Texts of the messages the bot sends on its own, rendered at send time for the reader.

The outbox holds typed codes and ids only (services/outbox/payloads.py); here they
become words in the recipient's language, with times in the recipient's zone. One
renderer per kind; None means "no longer worth sending".
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from telegram import InlineKeyboardMarkup

from liaison.services.broadcasts.delivery import delivery
from liaison.services.checkins.alerts import alerts_of
from liaison.services.checkins.planning import run_wanted
from liaison.services.checkins.views import view_run
from liaison.services.digest import build_digest
from liaison.services.outbox.payloads import (
    BroadcastPayload,
    DeadlinePayload,
    DigestPayload,
    DraftPayload,
    DroppedDraftPayload,
    EmailRefusedPayload,
    ExpiredPayload,
    ReviewPayload,
    RunPayload,
    SelectionOutcomePayload,
    SubmissionPayload,
    UnreachablePayload,
    as_payload,
)
from liaison.services.outbox.queue import Claimed
from liaison.services.people import Actor, actor_by_id
from liaison.services.reviews.review import outcome
from liaison.services.selection.outcome import outcome_view
from liaison.services.submissions.assignments import assignment_view
from liaison.services.submissions.drafts import draft_exists
from liaison.services.submissions.versions import has_submitted, submission_summary
from liaison.storage.database import Database
from liaison.storage.enums import MediaKind, OutboxKind, RunState
from liaison.ui.broadcasts import notice, progress, report
from liaison.ui.checkin import answer_text, greeting, start_keyboard
from liaison.ui.digest import render_digest
from liaison.ui.digest_chart import chart_png
from liaison.ui.i18n import Translator, choose_locale, translator
from liaison.ui.media import Media
from liaison.ui.reviews import outcome_text
from liaison.ui.selection import render_outcome
from liaison.ui.submissions import KIND_COMMAND
from liaison.ui.text import escape


@dataclass(frozen=True)
class Shown:
    """What a renderer returns when a text and keyboard are not enough: a file to send
    before the text (a chart, a voice note), or a message of the reader's to edit."""

    text: str
    keyboard: InlineKeyboardMarkup | None = None
    media: Media | None = None
    edit_message_id: int | None = None


@dataclass(frozen=True)
class Rendered:
    chat_id: int
    text: str
    keyboard: InlineKeyboardMarkup | None = None
    media: Media | None = None
    edit_message_id: int | None = None


@dataclass(frozen=True)
class Reading:
    """Who reads the message, in which language, and when it is being sent."""

    db: Database
    row: Claimed
    reader: Actor
    t: Translator
    now: datetime


Renderer = Callable[[Reading], Awaitable[tuple[str, InlineKeyboardMarkup | None] | Shown | None]]


async def _checkin_prompt(r: Reading) -> tuple[str, InlineKeyboardMarkup | None] | None:
    run_id = as_payload(r.row.payload, RunPayload).run_id
    # Planned up to an hour ahead: judged again now (absence, status, zone, survey).
    if not await run_wanted(r.db, run_id, r.now):
        return None
    view = await view_run(r.db, run_id)
    if not view.is_open(r.now):
        return None
    return greeting(view, r.t), start_keyboard(view, r.t)


async def _checkin_reminder(r: Reading) -> tuple[str, InlineKeyboardMarkup | None] | None:
    run_id = as_payload(r.row.payload, RunPayload).run_id
    # Planned with the prompt: dropped when the run was answered, closed, dropped, or is
    # no longer for this person.
    if not await run_wanted(r.db, run_id, r.now, reminder=True):
        return None
    view = await view_run(r.db, run_id)
    if not view.is_open(r.now):
        return None
    t = r.t
    answered = sum(1 for q in view.questions if q.key in view.answers)
    text = t(
        "Reminder: your check-in is waiting ({answered} of {count} answered). It closes {when}."
    ).format(
        answered=answered, count=len(view.questions), when=t.full(view.closes_at, view.timezone)
    )
    return text, start_keyboard(view, t, resume=answered > 0)


async def _escalation(r: Reading) -> tuple[str, InlineKeyboardMarkup | None] | None:
    run_id = as_payload(r.row.payload, RunPayload).run_id
    view = await view_run(r.db, run_id)
    if view.state is RunState.COMPLETED:
        return None
    cadre = await actor_by_id(r.db, view.person_id)
    if cadre is None:
        return None
    t, reader = r.t, r.reader
    text = "\n".join(
        [
            "⚠️ "
            + t("{name} has not answered the check-in due {due}.").format(
                name=escape(cadre.name),
                due=t.with_other_zone(view.slot_at, reader.timezone, view.timezone, full=True),
            ),
            t("Their local time now: {now}.").format(
                now=t.with_other_zone(r.now, view.timezone, reader.timezone)
            ),
            t("Phone: {phone}").format(phone=escape(cadre.phone)),
            t("After the call, tap /note_{run} to record your notes.").format(run=run_id),
        ]
    )
    return text, None


async def _alert(r: Reading) -> tuple[str, InlineKeyboardMarkup | None] | None:
    run_id = as_payload(r.row.payload, RunPayload).run_id
    view = await view_run(r.db, run_id)
    cadre = await actor_by_id(r.db, view.person_id)
    if cadre is None:
        return None
    t = r.t
    lines = [
        "🚨 "
        + t("Alert from {name}'s check-in of {due}:").format(
            name=escape(cadre.name), due=t.full(view.slot_at, r.reader.timezone)
        )
    ]
    questions = {q.key: q for q in view.questions}
    for triggered in await alerts_of(r.db, run_id):
        question = questions[triggered.question_key]
        label = escape(t.pick(question.text_zh, question.text_en))
        lines.append(f"• {label} → {answer_text(view, question, t)}")
    lines.append(t("Phone: {phone}").format(phone=escape(cadre.phone)))
    lines.append(t("After the call, tap /note_{run} to record your notes.").format(run=run_id))
    return "\n".join(lines), None


async def _unreachable(r: Reading) -> tuple[str, InlineKeyboardMarkup | None] | None:
    person = await actor_by_id(r.db, as_payload(r.row.payload, UnreachablePayload).person_id)
    if person is None:
        return None
    text = r.t(
        "{name} can no longer be reached through the bot (they blocked it or deleted the "
        "chat). Phone: {phone}"
    ).format(name=escape(person.name), phone=escape(person.phone))
    return "⚠️ " + text, None


async def _expired(r: Reading) -> tuple[str, InlineKeyboardMarkup | None] | None:
    count = as_payload(r.row.payload, ExpiredPayload).count
    text = r.t.plural(
        "While the bot was offline, {count} scheduled message became too old and was not "
        "sent; check-ins concerned are recorded as missed.",
        "While the bot was offline, {count} scheduled messages became too old and were not "
        "sent; check-ins concerned are recorded as missed.",
        count,
    ).format(count=count)
    return "ℹ️ " + text, None


async def _submission_notice(r: Reading) -> tuple[str, InlineKeyboardMarkup | None] | None:
    info = await submission_summary(
        r.db, as_payload(r.row.payload, SubmissionPayload).submission_id
    )
    t = r.t
    text = t("{name} submitted {title}, version {version}.").format(
        name=escape(info.name),
        title=escape(t.pick(info.title_zh, info.title_en)),
        version=info.version,
    )
    if info.late:
        text += " " + t("(late)")
    return "📥 " + text, None


async def _deadline(r: Reading) -> tuple[str, InlineKeyboardMarkup | None] | None:
    payload = as_payload(r.row.payload, DeadlinePayload)
    person_id = r.reader.person_id
    if await has_submitted(r.db, person_id, payload.assignment_id):
        return None
    view = await assignment_view(r.db, payload.assignment_id, person_id)
    if view.due_at != payload.due_at:
        return None  # an extension moved the due time; its own reminders follow
    t = r.t
    title = escape(t.pick(view.title_zh, view.title_en))
    command = "/" + KIND_COMMAND.get(view.kind, "report")
    when = t.with_other_zone(view.due_at, r.reader.timezone, r.reader.home_timezone, full=True)
    if r.row.kind is OutboxKind.DEADLINE_REMINDER:
        text = t("Reminder: {title} is due {when} ({relative}). Submit it with {command}.").format(
            title=title, when=when, relative=t.relative(view.due_at - r.now), command=command
        )
        return "⏰ " + text, None
    text = t(
        "{title} was due {when} and has not been submitted yet. Late work is still accepted: "
        "send it with {command}."
    ).format(title=title, when=when, command=command)
    return "⚠️ " + text, None


async def _draft_reminder(r: Reading) -> tuple[str, InlineKeyboardMarkup | None] | None:
    draft = await draft_exists(r.db, as_payload(r.row.payload, DraftPayload).draft_id)
    if draft is None:
        return None
    t = r.t
    title = escape(t.pick(draft.assignment.title_zh, draft.assignment.title_en))
    text = t(
        "You have an unsent draft for {title}. Tap Submit on its preview, add more, or "
        "/cancel it. Unsent drafts are dropped two days after this reminder."
    ).format(title=title)
    return "📝 " + text, None


async def _draft_dropped(r: Reading) -> tuple[str, InlineKeyboardMarkup | None] | None:
    payload = as_payload(r.row.payload, DroppedDraftPayload)
    title = escape(r.t.pick(payload.title_zh, payload.title_en))
    text = r.t(
        "Your unsent draft for {title} was dropped after days without activity. Start again "
        "when you are ready."
    ).format(title=title)
    return "🗑 " + text, None


async def _digest(r: Reading) -> Shown | None:
    payload = as_payload(r.row.payload, DigestPayload)
    digest = await build_digest(r.db, payload.programme_id, payload.until)
    media = None
    if digest.has_chart and not digest.quiet:
        media = Media(MediaKind.PHOTO, await chart_png(digest, r.t), "digest.png")
    return Shown(render_digest(digest, r.reader, r.t), media=media)


async def _review_outcome(r: Reading) -> Shown | None:
    found = await outcome(r.db, as_payload(r.row.payload, ReviewPayload).review_id)
    if found is None:
        return None
    command = "/" + KIND_COMMAND.get(found.view.assignment_kind, "report")
    media = Media(MediaKind.VOICE, found.voice_file_id) if found.voice_file_id else None
    return Shown(outcome_text(found.view, r.reader, r.t, command), media=media)


async def _broadcast(r: Reading) -> Shown | None:
    found = await delivery(
        r.db, as_payload(r.row.payload, BroadcastPayload).broadcast_id, counts=False
    )
    if found is None:
        return None
    media = None
    if found.file_id is not None and found.file_kind is not None:
        media = Media(found.file_kind, found.file_id, found.file_name)
    text, keyboard = notice(found, r.t)
    return Shown(text, keyboard, media)


async def _broadcast_progress(r: Reading) -> Shown | None:
    found = await delivery(r.db, as_payload(r.row.payload, BroadcastPayload).broadcast_id)
    if found is None or found.status_message_id is None:
        return None
    return Shown(progress(found, r.t), edit_message_id=found.status_message_id)


async def _broadcast_report(r: Reading) -> tuple[str, InlineKeyboardMarkup | None] | None:
    found = await delivery(r.db, as_payload(r.row.payload, BroadcastPayload).broadcast_id)
    return (report(found, r.t), None) if found is not None else None


async def _selection_outcome(r: Reading) -> tuple[str, InlineKeyboardMarkup | None] | None:
    decision = as_payload(r.row.payload, SelectionOutcomePayload).decision
    view = await outcome_view(r.db, r.reader.person_id, r.now)
    if view.status is not decision:
        return None  # the decision was changed before this went out; its own notice follows
    return render_outcome(view, r.t), None


async def _email_refused(r: Reading) -> tuple[str, InlineKeyboardMarkup | None] | None:
    payload = as_payload(r.row.payload, EmailRefusedPayload)
    person = await actor_by_id(r.db, payload.person_id)
    if person is None:
        return None
    text = r.t(
        "The mail server refused the e-mail address of {name} ({address}): {reason}. "
        "Please correct it in the roster and import it again."
    ).format(
        name=escape(person.name), address=escape(payload.address), reason=escape(payload.reason)
    )
    return "⚠️ " + text, None


RENDERERS: dict[OutboxKind, Renderer] = {
    OutboxKind.CHECKIN_PROMPT: _checkin_prompt,
    OutboxKind.CHECKIN_REMINDER: _checkin_reminder,
    OutboxKind.CHECKIN_ESCALATION: _escalation,
    OutboxKind.CHECKIN_ALERT: _alert,
    OutboxKind.UNREACHABLE_REPORT: _unreachable,
    OutboxKind.EXPIRED_REPORT: _expired,
    OutboxKind.SUBMISSION_NOTICE: _submission_notice,
    OutboxKind.DEADLINE_REMINDER: _deadline,
    OutboxKind.OVERDUE_REMINDER: _deadline,
    OutboxKind.DRAFT_REMINDER: _draft_reminder,
    OutboxKind.DRAFT_DROPPED: _draft_dropped,
    OutboxKind.DIGEST: _digest,
    OutboxKind.SELECTION_OUTCOME: _selection_outcome,
    OutboxKind.EMAIL_REFUSED_REPORT: _email_refused,
    OutboxKind.REVIEW_OUTCOME: _review_outcome,
    OutboxKind.BROADCAST: _broadcast,
    OutboxKind.BROADCAST_PROGRESS: _broadcast_progress,
    OutboxKind.BROADCAST_REPORT: _broadcast_report,
}


def _translator(actor: Actor) -> Translator:
    return translator(choose_locale(actor.locale, None, actor.programme_locale))


async def render(db: Database, row: Claimed, now: datetime) -> Rendered | None:
    """The message for one claimed row, for its recipient as they are now."""
    if row.person_id is None:
        return None
    reader = await actor_by_id(db, row.person_id)
    if reader is None or reader.chat_id is None or not reader.has_access:
        return None
    shown = await RENDERERS[row.kind](Reading(db, row, reader, _translator(reader), now))
    if shown is None:
        return None
    if isinstance(shown, Shown):
        return Rendered(
            reader.chat_id, shown.text, shown.keyboard, shown.media, shown.edit_message_id
        )
    text, keyboard = shown
    return Rendered(reader.chat_id, text, keyboard)
