"""/schedule and /next: sessions in the reader's zone, the other side's time beside them."""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache
from itertools import groupby

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from liaison.handlers.replies import reply, show_in_place
from liaison.services.dates import parse_day
from liaison.services.errors import DateProblem, InvalidDate
from liaison.services.people import Actor
from liaison.services.schedule import ScheduleResult, SessionView, View, schedule_for
from liaison.services.timezones import same_offset, zone
from liaison.storage.enums import Role
from liaison.ui.callbacks import BadCallback, ScheduleButton, pattern
from liaison.ui.context import BotContext
from liaison.ui.errors import error_text
from liaison.ui.i18n import Translator
from liaison.ui.text import escape

VIEW_WORDS = {
    "today": View.TODAY,
    "今天": View.TODAY,
    "今日": View.TODAY,
    "week": View.WEEK,
    "本周": View.WEEK,
    "周": View.WEEK,
    "这周": View.WEEK,
    "next": View.NEXT,
    "下一个": View.NEXT,
    "接下来": View.NEXT,
}


def parse_request(args: list[str], today: date) -> tuple[View, date | None]:
    """Reads "today", "week", "next", "2014-09-02", "9-2" or "9/2" (this year)."""
    if not args:
        return View.TODAY, None
    word = args[0].strip().lower()
    if word in VIEW_WORDS:
        return VIEW_WORDS[word], None
    return View.DAY, parse_day(word, today=today)


def other_zone(actor: Actor, item: SessionView) -> str:
    """Cadres abroad see home time beside theirs; people at home see the session's own zone."""
    return actor.home_timezone if actor.role is Role.CADRE else item.timezone


def session_lines(item: SessionView, actor: Actor, t: Translator) -> list[str]:
    reader = actor.timezone
    start = t.clock(item.starts_at, reader)
    end = t.clock(item.ends_at, reader)
    if (
        item.ends_at.astimezone(zone(reader)).date()
        != item.starts_at.astimezone(zone(reader)).date()
    ):
        end = t.full(item.ends_at, reader)
    line = t("{start}–{end} {title}").format(
        start=start, end=end, title=f"<b>{escape(t.pick(item.title_zh, item.title_en))}</b>"
    )
    other = other_zone(actor, item)
    lines = [f"• {line}"]
    if not same_offset(item.starts_at, reader, other):
        lines.append(
            "   "
            + t("{city} time: {when}").format(
                city=t.city(other), when=t.weekday_clock(item.starts_at, other)
            )
        )
    if item.place:
        lines.append("   " + t("Place: {place}").format(place=escape(item.place)))
    return lines


def render_schedule(result: ScheduleResult, actor: Actor, t: Translator) -> str:
    if result.view is View.WEEK:
        title = t("Schedule for the week {first} – {last}").format(
            first=t.short_day(result.first_day), last=t.short_day(result.last_day)
        )
    elif result.view is View.NEXT:
        title = t("Next sessions")
    else:
        title = t("Schedule for {day}").format(day=t.day(result.first_day))
    lines = [f"📅 <b>{escape(title)}</b>"]
    if result.phase is not None:
        lines.append(
            t("Current phase: {phase}").format(
                phase=escape(t.pick(result.phase.title_zh, result.phase.title_en))
            )
        )
    lines.append(t("Times in {zone}.").format(zone=escape(actor.timezone)))
    if not result.sessions:
        lines.append("")
        lines.append(
            {
                View.WEEK: t("No sessions this week."),
                View.NEXT: t("No upcoming sessions."),
            }.get(result.view, t("No sessions on this day."))
        )
        return "\n".join(lines)
    reader = zone(actor.timezone)
    for day, items in groupby(result.sessions, key=lambda s: s.starts_at.astimezone(reader).date()):
        lines.append("")
        lines.append(f"<b>{escape(t.day(day))}</b>")
        for item in items:
            lines.extend(session_lines(item, actor, t))
    return "\n".join(lines)


def _step_buttons(
    view: str, first_day: date, step: timedelta, back: str, forward: str
) -> list[InlineKeyboardButton]:
    return [
        InlineKeyboardButton(back, callback_data=ScheduleButton(view, first_day - step).encode()),
        InlineKeyboardButton(
            forward, callback_data=ScheduleButton(view, first_day + step).encode()
        ),
    ]


def navigation(result: ScheduleResult, today: date, t: Translator) -> InlineKeyboardMarkup:
    return _navigation(result.view, result.first_day, today, t)


@lru_cache(maxsize=1024)
def _navigation(view: View, first_day: date, today: date, t: Translator) -> InlineKeyboardMarkup:
    """Built once per view, day and language: PTB's objects are frozen, so one is shared."""
    rows = []
    if view is View.WEEK:
        rows.append(
            _step_buttons(
                "week", first_day, timedelta(days=7), t("◀ Previous week"), t("Next week ▶")
            )
        )
    elif view in (View.TODAY, View.DAY):
        rows.append(
            _step_buttons("day", first_day, timedelta(days=1), t("◀ Previous day"), t("Next day ▶"))
        )
    rows.append(
        [
            InlineKeyboardButton(t("Today"), callback_data=ScheduleButton("today", today).encode()),
            InlineKeyboardButton(t("Week"), callback_data=ScheduleButton("week", today).encode()),
            InlineKeyboardButton(t("Next"), callback_data=ScheduleButton("next", today).encode()),
        ]
    )
    return InlineKeyboardMarkup(rows)


async def _show(update: Update, context: BotContext, view: View, day: date | None) -> None:
    actor = context.actor
    if actor is None:
        return
    now = context.clock.now()
    today = now.astimezone(zone(actor.timezone)).date()
    result = await schedule_for(context.db, actor, now, view, day)
    await reply(
        update,
        render_schedule(result, actor, context.t),
        reply_markup=navigation(result, today, context.t),
    )


async def on_schedule(update: Update, context: BotContext) -> None:
    """Shows today, a week, the next sessions or a given date."""
    actor = context.actor
    if actor is None:
        return
    today = context.clock.now().astimezone(zone(actor.timezone)).date()
    try:
        view, day = parse_request(context.args or [], today)
    except InvalidDate as error:
        if error.problem is not DateProblem.UNREADABLE:
            await reply(update, error_text(error, context.t))
            return
        await reply(
            update,
            context.t(
                "I could not read {text!r} as a date. Try /schedule today, /schedule week, "
                "/schedule next or /schedule 2014-09-02."
            ).format(text=escape(str(error))),
        )
        return
    await _show(update, context, view, day)


async def on_next(update: Update, context: BotContext) -> None:
    """Shows the next few sessions."""
    await _show(update, context, View.NEXT, None)


async def on_schedule_button(update: Update, context: BotContext) -> None:
    """Switches the schedule message to another day, week or view in place."""
    query, actor = update.callback_query, context.actor
    if query is None or actor is None or query.data is None:
        return
    try:
        button = ScheduleButton.decode(query.data)
    except BadCallback:
        await query.answer(context.t("This button is no longer valid."), show_alert=True)
        return
    view = View(button.view)
    day = None if view is View.NEXT else button.day
    if view is View.TODAY:
        view, day = View.TODAY, None
    now = context.clock.now()
    today = now.astimezone(zone(actor.timezone)).date()
    result = await schedule_for(context.db, actor, now, view, day)
    text = render_schedule(result, actor, context.t)
    keyboard = navigation(result, today, context.t)
    await query.answer()
    await show_in_place(update, text, keyboard)


def register(app: Application) -> None:  # type: ignore[type-arg]
    app.add_handler(CommandHandler("schedule", on_schedule))
    app.add_handler(CommandHandler("next", on_next))
    app.add_handler(
        CallbackQueryHandler(on_schedule_button, pattern=pattern(ScheduleButton.PREFIX))
    )
