"""/report, /paper, /research and /submissions: submitting work from a phone abroad.

The draft lives in the database (services.submissions); this module turns messages into
draft additions and renders the preview with Submit / Add more / Cancel.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from liaison.handlers.files import fetch_attachment
from liaison.handlers.replies import reply
from liaison.services.errors import DomainError
from liaison.services.files.archive import Incoming
from liaison.services.files.quota import quota_allows
from liaison.services.submissions.assignments import open_assignments
from liaison.services.submissions.drafts import (
    DraftView,
    add_text,
    discard,
    set_preview,
    start_draft,
)
from liaison.services.submissions.intake import add_file
from liaison.services.submissions.versions import my_submissions, own_file, submit
from liaison.storage.enums import DraftStep, Role
from liaison.ui.callbacks import BadCallback, SubmissionButton, pattern
from liaison.ui.context import BotContext
from liaison.ui.errors import error_text, too_large_text
from liaison.ui.labels import review_name, score_text
from liaison.ui.submissions import (
    CHOOSE,
    COMMAND_KINDS,
    NONE_OPEN,
    collect_prompt,
    due_line,
    preview,
    preview_keyboard,
    step_prompt,
)
from liaison.ui.text import escape

log = logging.getLogger(__name__)


async def on_list(update: Update, context: BotContext) -> None:
    """Lists this cadre's open assignments of one kind as buttons."""
    actor, message = context.actor, update.effective_message
    if actor is None or message is None or message.text is None:
        return
    t = context.t
    command = message.text.split()[0].lstrip("/").split("@")[0].lower()
    if actor.role is not Role.CADRE:
        await reply(update, t("Reports and papers are submitted by participants."))
        return
    now = context.clock.now()
    assignments = await open_assignments(context.db, actor, COMMAND_KINDS[command], now)
    if not assignments:
        await reply(update, t(NONE_OPEN[command]))
        return
    lines = [t(CHOOSE[command])]
    buttons = []
    for item in assignments:
        title = t.pick(item.title_zh, item.title_en)
        versions = (
            " " + t("(submitted: {count} versions)").format(count=item.versions)
            if item.versions
            else ""
        )
        lines.append(f"• <b>{escape(title)}</b> — {due_line(item, actor, t)}{versions}")
        buttons.append(
            [
                InlineKeyboardButton(
                    title[:60], callback_data=SubmissionButton("p", item.id).encode()
                )
            ]
        )
    await reply(update, "\n".join(lines), reply_markup=InlineKeyboardMarkup(buttons))


async def send_preview(
    update: Update, context: BotContext, draft: DraftView, *, replace: bool = False
) -> None:
    """Shows the draft preview; an album's later items update the same preview."""
    actor = context.actor
    chat = update.effective_chat
    assert actor is not None and chat is not None
    text = preview(draft, actor, context.t, context.clock.now())
    keyboard = preview_keyboard(draft, context.t)
    if replace and draft.preview_message_id is not None:
        try:
            await context.bot.edit_message_text(
                text,
                chat_id=chat.id,
                message_id=draft.preview_message_id,
                parse_mode=ParseMode.HTML,
                reply_markup=keyboard,
            )
            return
        except BadRequest as exc:
            if "not modified" in str(exc).lower():
                return
            log.info("could not update the preview, sending a new one: %s", exc)
    sent = await reply(update, text, reply_markup=keyboard)
    if sent is not None:
        await set_preview(context.db, actor.person_id, sent.message_id)


async def on_button(update: Update, context: BotContext) -> None:
    """Pick, Submit, Add more, Cancel and file buttons."""
    query, actor = update.callback_query, context.actor
    if query is None or actor is None or query.data is None:
        return
    t, now = context.t, context.clock.now()
    data_dir = context.data_dir
    try:
        button = SubmissionButton.decode(query.data)
    except BadCallback:
        await query.answer(t("This button is no longer valid."), show_alert=True)
        return
    try:
        if button.action == "p":
            draft = await start_draft(context.db, actor, button.id, now)
            await query.answer()
            prompt = step_prompt(draft, t)
            if prompt:
                await reply(update, prompt)
            else:
                await reply(update, collect_prompt(t))
                if draft.files or draft.text:
                    await send_preview(update, context, draft)
        elif button.action == "s":
            done = await submit(context.db, data_dir, actor.person_id, button.id, now)
            await query.answer()
            await _drop_keyboard(query.message)
            title = escape(t.pick(done.assignment.title_zh, done.assignment.title_en))
            text = t("Submitted: {title}, version {version}.").format(
                title=title, version=done.version
            )
            if done.is_late:
                text += "\n" + t("It was submitted after the due time and is marked late.")
            await reply(update, "✅ " + text)
        elif button.action == "m":
            await query.answer()
            await reply(update, collect_prompt(t))
        elif button.action == "c":
            dropped = await discard(context.db, data_dir, actor.person_id, now, draft_id=button.id)
            await query.answer()
            await _drop_keyboard(query.message)
            await reply(update, t("Draft discarded.") if dropped else t("Nothing to cancel."))
        else:
            own = await own_file(context.db, data_dir, actor.person_id, button.id)
            await query.answer()
            chat = update.effective_chat
            assert chat is not None
            await context.bot.send_document(chat.id, own.telegram_file_id, filename=own.name)
    except DomainError as error:
        await query.answer(error_text(error, t), show_alert=True)


async def _drop_keyboard(message: Any) -> None:
    if isinstance(message, Message):
        try:
            await message.edit_reply_markup(reply_markup=None)
        except BadRequest as exc:
            if "not modified" not in str(exc).lower():
                raise


def _origin(message: Message) -> dict[str, Any] | None:
    origin = message.forward_origin
    if origin is None:
        return None
    noted: dict[str, Any] = {"type": origin.type, "date": origin.date.isoformat()}
    for attribute in ("sender_user_name", "author_signature"):
        value = getattr(origin, attribute, None)
        if value:
            noted[attribute] = value
    sender = getattr(origin, "sender_user", None)
    if sender is not None:
        noted["sender_user_id"] = sender.id
    chat = getattr(origin, "chat", None) or getattr(origin, "sender_chat", None)
    if chat is not None:
        noted["chat_title"] = chat.title
    return noted


async def draft_input(update: Update, context: BotContext, draft: DraftView) -> None:
    """Adds one message (text, document, photo or voice) to the draft."""
    actor, message = context.actor, update.effective_message
    if actor is None or message is None:
        return
    t, now = context.t, context.clock.now()
    try:
        # A file is a file even when the message also carries an (empty) text.
        attachment: Any
        if message.document is not None:
            attachment, name, default = message.document, message.document.file_name, "bin"
            mime = message.document.mime_type
        elif message.photo:
            attachment, name, default, mime = message.photo[-1], None, "jpg", "image/jpeg"
        elif message.voice is not None:
            attachment, name, default = message.voice, None, "ogg"
            mime = message.voice.mime_type
        elif message.text:
            updated = await add_text(context.db, actor.person_id, message.text, now)
            prompt = step_prompt(updated, t)
            if prompt:
                await reply(update, prompt)
                return
            if draft.step is not DraftStep.COLLECT:
                await reply(update, collect_prompt(t))
                return
            await send_preview(update, context, updated)
            return
        else:
            await reply(update, t("Please send text, documents, photos or voice messages."))
            return
        if draft.step is not DraftStep.COLLECT:
            await reply(update, step_prompt(draft, t) or collect_prompt(t))
            return
        await quota_allows(context.db, actor.person_id, draft.id, attachment.file_size or 0, now)
        data = await fetch_attachment(update, context, attachment, too_large_text(t))
        if data is None:
            return
        added = await add_file(
            context.db,
            context.data_dir,
            actor.person_id,
            Incoming(
                data,
                attachment.file_id,
                attachment.file_unique_id,
                name,
                mime,
                _origin(message),
            ),
            default_extension=default,
            media_group_id=message.media_group_id,
            now=now,
            extra_formats=("ogg",) if message.voice is not None else (),
            caption=message.caption,
        )
    except DomainError as error:
        await reply(update, error_text(error, t))
        return
    if added.same_as_version is not None:
        await reply(
            update,
            t("This is the same file as in your version {version}.").format(
                version=added.same_as_version
            ),
        )
    album = message.media_group_id is not None and message.media_group_id == draft.media_group_id
    await send_preview(update, context, added.draft, replace=album)


async def on_submissions(update: Update, context: BotContext) -> None:
    """The cadre's own submissions, with versions, review and feedback, and their files."""
    actor = context.actor
    if actor is None:
        return
    t = context.t
    items = await my_submissions(context.db, actor.person_id)
    if not items:
        await reply(update, t("You have not submitted anything yet."))
        return
    heading = t("Your submissions")
    lines = [f"<b>{escape(heading)}</b>"]
    buttons = []
    for item in items:
        title = escape(t.pick(item.assignment_title_zh, item.assignment_title_en))
        parts = [
            t("version {version}").format(version=item.version),
            t.with_other_zone(item.submitted_at, actor.timezone, actor.home_timezone, full=True),
            review_name(item.review_status, t),
        ]
        if item.is_late:
            parts.append(t("late"))
        lines.append(f"• <b>{title}</b> — " + " · ".join(parts))
        if item.score is not None:
            lines.append("   " + t("Score: {score}").format(score=score_text(item.score, t)))
        if item.feedback:
            lines.append("   " + t("Feedback: {text}").format(text=escape(item.feedback)))
        for file in item.files:
            buttons.append(
                [
                    InlineKeyboardButton(
                        f"📎 v{item.version} {file.name}"[:60],
                        callback_data=SubmissionButton("f", file.id).encode(),
                    )
                ]
            )
    await reply(
        update, "\n".join(lines), reply_markup=InlineKeyboardMarkup(buttons) if buttons else None
    )


def register(app: Application) -> None:  # type: ignore[type-arg]
    app.add_handler(CommandHandler(list(COMMAND_KINDS), on_list))
    app.add_handler(CommandHandler("submissions", on_submissions))
    app.add_handler(CallbackQueryHandler(on_button, pattern=pattern(SubmissionButton.PREFIX)))
