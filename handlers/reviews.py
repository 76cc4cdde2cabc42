"""/review: the queue, the submission with its files, scoring buttons, feedback, decision.

The review's state lives in the database (services/reviews); the organizer's next text or
voice message is its feedback (or, after "Request revision", the new due date).
"""

from __future__ import annotations

import logging

from telegram import Message, Update
from telegram.error import TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from liaison.handlers.access import organizer_only
from liaison.handlers.replies import reply, show_in_place
from liaison.services.dates import looks_like_day, parse_clock, parse_day
from liaison.services.errors import DomainError, InvalidDate
from liaison.services.files.archive import MAX_DOWNLOAD_BYTES, Incoming
from liaison.services.people import set_awaiting
from liaison.services.reviews import review as reviews
from liaison.services.reviews.queue import review_queue
from liaison.services.reviews.review import ReviewView, RevisionDue
from liaison.storage.enums import MediaKind, ReviewDecision
from liaison.ui.callbacks import BadCallback, ReviewButton, pattern
from liaison.ui.context import BotContext
from liaison.ui.errors import error_text
from liaison.ui.reviews import card, decided_text, queue_message, submission_text

log = logging.getLogger(__name__)


@organizer_only
async def on_review(update: Update, context: BotContext) -> None:
    """/review [ASSIGNMENT]: unreviewed submissions, oldest first."""
    actor = context.actor
    assert actor is not None
    key = context.args[0] if context.args else None
    try:
        queue = await review_queue(context.db, actor, context.clock.now(), assignment_key=key)
    except DomainError as error:
        await reply(update, error_text(error, context.t))
        return
    text, keyboard = queue_message(queue, actor, context.t)
    await reply(update, text, reply_markup=keyboard)


async def _send_files(update: Update, context: BotContext, view: ReviewView) -> None:
    """The cadre's files, sent again by file_id: nothing is uploaded from the archive."""
    chat = update.effective_chat
    assert chat is not None
    for file in view.files:
        try:
            if file.kind is MediaKind.PHOTO:
                await context.bot.send_photo(chat.id, file.telegram_file_id)
            elif file.kind is MediaKind.VOICE:
                await context.bot.send_voice(chat.id, file.telegram_file_id)
            else:
                await context.bot.send_document(chat.id, file.telegram_file_id, filename=file.name)
        except TelegramError as exc:
            log.warning("could not send file %s again: %s", file.id, exc)
            await reply(
                update,
                context.t("The file {name} could not be sent again.").format(name=file.name),
            )


async def show_card(update: Update, context: BotContext, view: ReviewView) -> Message | None:
    text, keyboard = card(view, context.t)
    return await reply(update, text, reply_markup=keyboard)


@organizer_only
async def on_button(update: Update, context: BotContext) -> None:
    """Every review button: open, score, pick a criterion, accept, revision, due, release."""
    query, actor, t = update.callback_query, context.actor, context.t
    assert query is not None and actor is not None
    now, db = context.clock.now(), context.db
    try:
        button = ReviewButton.decode(query.data or "")
    except BadCallback:
        await query.answer(t("This button is no longer valid."), show_alert=True)
        return
    sid = button.id
    try:
        if button.action == "f":
            queue = await review_queue(db, actor, now, assignment_id=sid)
            await query.answer()
            await show_in_place(update, *queue_message(queue, actor, t))
        elif button.action == "o":
            view = await reviews.claim(db, actor, sid, now)
            await query.answer()
            await reply(update, submission_text(view, actor, t))
            await _send_files(update, context, view)
            await show_card(update, context, view)
        elif button.action == "s":
            view = await reviews.score(db, actor, sid, button.a, button.b, now)
            await query.answer()
            await show_in_place(update, *card(view, t))
        elif button.action == "k":
            view = await reviews.view(db, actor, sid, now)
            await query.answer()
            await show_in_place(update, *card(view, t, criterion=button.a))
        elif button.action == "a":
            decided = await reviews.decide(db, actor, sid, ReviewDecision.ACCEPTED, now)
            await query.answer()
            await show_in_place(update, decided_text(decided.view, actor, t), None)
        elif button.action == "r":
            view = await reviews.view(db, actor, sid, now)
            await set_awaiting(db, actor.person_id, {"review": sid, "due": True})
            await query.answer()
            await show_in_place(update, *card(view, t, asking_due=True))
        elif button.action == "d":
            decided = await reviews.decide(
                db,
                actor,
                sid,
                ReviewDecision.REVISION,
                now,
                RevisionDue(in_days=min(max(button.a, 1), 60)),
            )
            await query.answer()
            await show_in_place(update, decided_text(decided.view, actor, t), None)
        else:
            await reviews.release(db, actor, sid, now)
            await query.answer()
            await show_in_place(
                update, t("Left for later: another organizer may take it now."), None
            )
    except DomainError as error:
        await query.answer(error_text(error, t), show_alert=True)


async def review_input(update: Update, context: BotContext, awaiting: dict[str, object]) -> None:
    """The message an organizer owes a review: feedback (text or voice), or the due date."""
    actor, message, t = context.actor, update.effective_message, context.t
    assert actor is not None and message is not None
    sid = int(str(awaiting["review"]))
    now = context.clock.now()
    try:
        if awaiting.get("due"):
            words = (message.text or "").split()
            if not words or not looks_like_day(words[0]) or len(words) > 2:
                await reply(update, t("Please send the date as YYYY-MM-DD [HH:MM], or /cancel."))
                return
            revision = RevisionDue(
                day=parse_day(words[0]), at=parse_clock(words[1]) if len(words) > 1 else None
            )
            decided = await reviews.decide(
                context.db, actor, sid, ReviewDecision.REVISION, now, revision
            )
            await reply(update, decided_text(decided.view, actor, t))
            return
        if message.voice is not None:
            voice = message.voice
            if voice.file_size and voice.file_size > MAX_DOWNLOAD_BYTES:
                await reply(
                    update, t("This voice message is too large; please send a shorter one.")
                )
                return
            data = bytes(await (await voice.get_file()).download_as_bytearray())
            incoming = Incoming(data, voice.file_id, voice.file_unique_id, None, voice.mime_type)
            view = await reviews.set_feedback(
                context.db, context.data_dir, actor, sid, now, voice=incoming
            )
        elif message.text:
            view = await reviews.set_feedback(
                context.db, context.data_dir, actor, sid, now, text=message.text
            )
        else:
            await reply(update, t("Please send the feedback as text or a voice message."))
            return
    except InvalidDate:
        await reply(update, t("Please send the date as YYYY-MM-DD [HH:MM], or /cancel."))
        return
    except DomainError as error:
        await set_awaiting(context.db, actor.person_id, None)
        await reply(update, error_text(error, t))
        return
    await reply(update, t("Feedback saved."))
    await show_card(update, context, view)


def register(app: Application) -> None:  # type: ignore[type-arg]
    app.add_handler(CommandHandler("review", on_review))
    app.add_handler(CallbackQueryHandler(on_button, pattern=pattern(ReviewButton.PREFIX)))
