"""Texts of the messages the bot sends on its own, rendered at send time for the reader.

The outbox holds codes and ids only; here they become words in the recipient's language,
with times in the recipient's zone. None means "no longer worth sending".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from telegram import InlineKeyboardMarkup

from bot.i18n import Translator, choose_locale, translator
from handlers.checkin_views import answer_text, greeting, start_keyboard
from handlers.replies import escape
from services import checkin_flow as flow
from services.outbox import Claimed, Kind
from services.people import Actor, actor_by_id, chat_of
from storage.database import Database


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
    chat_id = await chat_of(db, row.person_id)
    if reader is None or chat_id is None:
        return None
    t = _translator(reader)
    kind = Kind(row.kind)
    if kind in (Kind.CHECKIN_PROMPT, Kind.CHECKIN_REMINDER):
        run_id = int(row.payload["run_id"])
        if not await flow.run_is_open(db, run_id, now):
            return None
        view = await flow.view_run(db, run_id)
        if kind is Kind.CHECKIN_PROMPT:
            return Rendered(chat_id, greeting(view, t), start_keyboard(view, t))
        answered = sum(1 for q in view.questions if q.key in view.answers)
        text = t(
            "Reminder: your check-in is waiting ({answered} of {count} answered). It closes {when}."
        ).format(
            answered=answered, count=len(view.questions), when=t.full(view.closes_at, view.timezone)
        )
        return Rendered(chat_id, text, start_keyboard(view, t, resume=answered > 0))
    if kind is Kind.CHECKIN_ESCALATION:
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
    if kind is Kind.CHECKIN_ALERT:
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
    if kind is Kind.UNREACHABLE_REPORT:
        person = await actor_by_id(db, int(row.payload["person_id"]))
        if person is None:
            return None
        text = t(
            "{name} can no longer be reached through the bot (they blocked it or deleted the "
            "chat). Phone: {phone}"
        ).format(name=escape(person.name), phone=escape(person.phone))
        return Rendered(chat_id, "⚠️ " + text)
    if kind is Kind.EXPIRED_REPORT:
        count = int(row.payload["count"])
        text = t.plural(
            "While the bot was offline, {count} scheduled message became too old and was not "
            "sent; check-ins concerned are recorded as missed.",
            "While the bot was offline, {count} scheduled messages became too old and were not "
            "sent; check-ins concerned are recorded as missed.",
            count,
        ).format(count=count)
        return Rendered(chat_id, "ℹ️ " + text)
    return None
