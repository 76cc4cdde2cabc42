"""/export for organizers: choose an export, watch it being built, get it as a document.

The exports: the Excel workbook, the results report (Word), the submitted files (ZIP)
and the calendar (.ics).

The build runs as a background task, one at a time per process (``ExportDesk``): the
update handler returns at once, so the bot keeps answering everyone while a large
archive is packed. The progress message is edited at each stage, and while files are
packed, every few seconds. Past Telegram's upload limit a file archive is split into
several ZIPs; anything else too large is offered by e-mail when the organizer has an
address. Every export is audited; its temporary folder is removed when it is sent.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from pathlib import Path

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from liaison.handlers.access import organizer_only
from liaison.handlers.replies import reply
from liaison.services.errors import DomainError
from liaison.services.exports.errors import UnknownExport
from liaison.services.exports.kinds import ExportKind, authorize_export, record_export
from liaison.services.exports.progress import Progress, Snapshot
from liaison.services.mail.requests import email_address, request_export_email
from liaison.services.people import Actor
from liaison.ui.callbacks import BadCallback, ExportButton, pattern
from liaison.ui.context import BotContext
from liaison.ui.errors import error_text
from liaison.ui.export_screens import (
    done_text,
    export_menu,
    failed_text,
    mail_button,
    mail_queued_text,
    progress_text,
    queued_text,
    too_large_text,
)
from liaison.ui.exports import Built, build_export, file_name

log = logging.getLogger(__name__)

# Bots may upload files of at most 50 MB to Telegram's servers.
UPLOAD_LIMIT = 50 * 1024 * 1024
UPLOAD_SECONDS = 600.0
# How often the progress message is refreshed while files are packed.
PROGRESS_EVERY = 3.0


@organizer_only
async def on_export(update: Update, context: BotContext) -> None:
    """/export: the menu of exports."""
    text, keyboard = export_menu(context.t)
    await reply(update, text, reply_markup=keyboard)


class _Progress:
    """The progress message: edited only when its text changes."""

    def __init__(self, message: Message) -> None:
        self.message = message
        self.shown = message.text or ""

    async def show(self, text: str, keyboard: InlineKeyboardMarkup | None = None) -> None:
        if text == self.shown and keyboard is None:
            return
        try:
            await self.message.edit_text(text, parse_mode=ParseMode.HTML, reply_markup=keyboard)
        except BadRequest as exc:  # "message is not modified" after a double edit
            log.debug("progress edit refused: %s", exc)
        self.shown = text


@organizer_only
async def on_export_button(update: Update, context: BotContext) -> None:
    """An export button: build it in the background, or queue it by e-mail."""
    query, actor, t = update.callback_query, context.actor, context.t
    if query is None or query.data is None or actor is None:
        return
    try:
        button = ExportButton.decode(query.data)
        if button.kind not in ExportKind._value2member_map_:
            raise UnknownExport(button.kind)
        kind = ExportKind(button.kind)
        if button.action == "m":
            address = await request_export_email(
                context.db,
                actor,
                kind,
                context.clock.now(),
                mail_enabled=context.bot_data.mail_enabled,
            )
            await query.answer()
            await reply(update, mail_queued_text(address, kind, t))
            return
        await authorize_export(context.db, actor, kind)
    except BadCallback:
        await query.answer(t("This button is no longer valid."), show_alert=True)
        return
    except DomainError as error:
        await query.answer(error_text(error, t), show_alert=True)
        return
    await query.answer()
    chat = update.effective_chat
    if chat is None:
        return
    desk = context.bot_data.exports
    # Told at once, in the first message, when another build holds the desk.
    first = queued_text(kind, t) if desk.busy else progress_text(kind, Progress().snapshot(), t)
    message = await context.bot.send_message(chat.id, first, parse_mode=ParseMode.HTML)
    task = context.application.create_task(
        _build_and_send(context, actor, kind, _Progress(message), chat.id), update=update
    )
    desk.track(task)


async def _build_and_send(
    context: BotContext, actor: Actor, kind: ExportKind, shown: _Progress, chat_id: int
) -> None:
    t, desk = context.t, context.bot_data.exports
    async with desk.turn():
        exports_dir = context.data_dir / "exports"
        await asyncio.to_thread(exports_dir.mkdir, parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="export-", dir=exports_dir) as folder:
            try:
                built = await _build(context, actor, kind, shown, Path(folder))
                await _send(context, actor, kind, built, shown, chat_id)
            except Exception:
                await shown.show(failed_text(t))
                raise


async def _build(
    context: BotContext, actor: Actor, kind: ExportKind, shown: _Progress, folder: Path
) -> Built:
    progress = Progress()
    now = context.clock.now()
    out = folder / file_name(actor.programme_id, kind, now)
    work = asyncio.ensure_future(
        build_export(
            context.db,
            kind,
            actor.programme_id,
            out,
            data_dir=context.data_dir,
            now=now,
            locale=context.t.locale,
            timezone=actor.timezone,
            progress=progress,
            part_limit=UPLOAD_LIMIT if kind is ExportKind.FILES else None,
        )
    )
    while not work.done():
        await asyncio.wait([work], timeout=PROGRESS_EVERY)
        await shown.show(progress_text(kind, progress.snapshot(), context.t))
    return work.result()


async def _send(
    context: BotContext,
    actor: Actor,
    kind: ExportKind,
    built: Built,
    shown: _Progress,
    chat_id: int,
) -> None:
    t = context.t
    sizes = [part.stat().st_size for part in built.parts]
    address = await email_address(context.db, actor.person_id)
    mail = context.bot_data.mail_enabled and address is not None
    if max(sizes) > UPLOAD_LIMIT:
        await shown.show(
            too_large_text(kind, sum(sizes), UPLOAD_LIMIT, t, mail),
            mail_button(kind, t) if mail else None,
        )
        await _audit(context, actor, kind, built, sent=False)
        return
    await shown.show(progress_text(kind, _sending(), t))
    for part in built.parts:
        with part.open("rb") as handle:
            # Up to 50 MB over a slow line: give the upload time.
            await context.bot.send_document(
                chat_id, handle, filename=part.name, write_timeout=UPLOAD_SECONDS
            )
    problems = [line.name for line in built.problems]
    await shown.show(
        done_text(kind, len(built.parts), sum(sizes), problems, t),
        mail_button(kind, t) if mail else None,
    )
    await _audit(context, actor, kind, built, sent=True)


def _sending() -> Snapshot:
    return Snapshot("send", 0, 0, "")


async def _audit(
    context: BotContext, actor: Actor, kind: ExportKind, built: Built, *, sent: bool
) -> None:
    await record_export(
        context.db,
        actor.programme_id,
        kind,
        context.clock.now(),
        actor=actor,
        details={
            "parts": len(built.parts),
            "bytes": built.size,
            "missing": len(built.problems),
            "sent": sent,
        },
    )


def register(app: Application) -> None:  # type: ignore[type-arg]
    app.add_handler(CommandHandler("export", on_export))
    app.add_handler(CallbackQueryHandler(on_export_button, pattern=pattern(ExportButton.PREFIX)))
