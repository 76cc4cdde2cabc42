"""/cohort as text: one line per cadre, those needing attention first, paged with buttons."""

from __future__ import annotations

from datetime import datetime

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from liaison.services.cohort import RunFact, Standing
from liaison.storage.enums import RunState
from liaison.ui.callbacks import CohortButton
from liaison.ui.digest import person_link
from liaison.ui.i18n import Translator
from liaison.ui.text import escape

PAGE_SIZE = 20


def pages(count: int) -> int:
    return max(1, -(-count // PAGE_SIZE))


def run_state(run: RunFact, now: datetime, t: Translator) -> str:
    """How a check-in went, in a word or two."""
    if run.state is RunState.COMPLETED:
        return t("answered late") if run.late else t("answered")
    if run.closes_at <= now:
        return t("missed")
    if run.escalated_at is not None:
        return t("escalated, still open")
    return t("open")


def flags(standing: Standing) -> str:
    marks = [
        ("🚨", standing.alert),
        ("⚠️", standing.escalated),
        ("📵", standing.unreachable),
        ("🔇", standing.silent is not None),
        ("🏖", standing.absent),
    ]
    return "".join(mark for mark, on in marks if on) or "•"


def cohort_line(standing: Standing, now: datetime, t: Translator) -> str:
    parts = [f"{flags(standing)} <b>{escape(standing.name)}</b> {person_link(standing.person_id)}"]
    parts.append(t.weekday_clock(now, standing.timezone))
    if standing.phase_zh:
        parts.append(escape(t.pick(standing.phase_zh, standing.phase_en)))
    run = standing.last_run
    if run is None:
        parts.append(t("no check-in yet"))
    else:
        last = t("last check-in {day}: {state}").format(
            day=t.short_day(run.slot_date), state=run_state(run, now, t)
        )
        if run.wellbeing is not None:
            last += " · " + t("wellbeing {value}").format(value=run.wellbeing)
        parts.append(last)
    if standing.open_work:
        work = t("open work {count}").format(count=standing.open_work)
        if standing.overdue_work:
            work += " " + t("({count} overdue)").format(count=standing.overdue_work)
        parts.append(work)
    if not standing.enrolled:
        parts.append(t("not enrolled in the bot"))
    return " · ".join(parts)


def cohort_page(
    standings: list[Standing], page: int, now: datetime, t: Translator
) -> tuple[str, InlineKeyboardMarkup | None]:
    total = pages(len(standings))
    page = min(max(page, 0), total - 1)
    attention = sum(s.needs_attention for s in standings)
    heading = t("Cohort: {count} cadres, {attention} needing attention").format(
        count=len(standings), attention=attention
    )
    if total > 1:
        heading += " " + t("(page {page} of {pages})").format(page=page + 1, pages=total)
    lines = [f"<b>{escape(heading)}</b>"]
    if not standings:
        lines.append(t("Nobody is in the cohort yet."))
    shown = standings[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    lines += [cohort_line(standing, now, t) for standing in shown]
    lines.append(t("Tap /p_… beside a name for the dossier."))
    buttons = []
    if page > 0:
        buttons.append(
            InlineKeyboardButton(t("◀ Previous"), callback_data=CohortButton(page - 1).encode())
        )
    if page < total - 1:
        buttons.append(
            InlineKeyboardButton(t("Next ▶"), callback_data=CohortButton(page + 1).encode())
        )
    return "\n".join(lines), InlineKeyboardMarkup([buttons]) if buttons else None
