"""A calendar (.ics) of sessions and deadlines, in the reader's language.

Each session keeps its own zone (a VTIMEZONE per zone used), so a phone shows a
Chapel Hill lecture at the right hour on both sides of a daylight-saving change, and
in Beijing time if that is where the phone is. Deadlines are all-day events on the due
date in the assignment's zone, with a reminder the day before and the exact due time in
the description. UIDs are stable: importing a newer calendar updates events in place.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from icalendar import Alarm, Calendar, Event

from liaison.services.exports.calendar import CalendarData, Deadline, session_uid
from liaison.services.exports.records import SessionRow
from liaison.services.timezones import zone
from liaison.ui.i18n import Translator, translator

PRODID = "-//Liaison//Programme calendar//EN"


def _session_event(s: SessionRow, data: CalendarData, t: Translator, now: datetime) -> Event:
    event = Event()
    event.add("uid", session_uid(data.programme.id, s.key))
    event.add("dtstamp", now)
    local = zone(s.timezone)
    event.add("dtstart", s.starts_at.astimezone(local))
    event.add("dtend", s.ends_at.astimezone(local))
    event.add("summary", t.pick(s.title_zh, s.title_en))
    if s.place:
        event.add("location", s.place)
    lines = [
        t("{local} ({city} time {other})").format(
            local=t.full(s.starts_at, s.timezone),
            city=t.city(data.programme.home_timezone),
            other=t.full(s.starts_at, data.programme.home_timezone),
        )
        if s.timezone != data.programme.home_timezone
        else t.full(s.starts_at, s.timezone)
    ]
    if s.phase_zh:
        lines.append(t.pick(s.phase_zh, s.phase_en))
    event.add("description", "\n".join(lines))
    return event


def _deadline_event(d: Deadline, data: CalendarData, t: Translator, now: datetime) -> Event:
    event = Event()
    event.add("uid", d.uid)
    event.add("dtstamp", now)
    local_day: date = d.due_at.astimezone(zone(d.timezone)).date()
    event.add("dtstart", local_day)
    event.add("dtend", local_day + timedelta(days=1))
    event.add("transp", "TRANSPARENT")
    title = t.pick(d.title_zh, d.title_en)
    if d.person_name is not None:
        summary = t("Due: {title} ({name}, extended)").format(title=title, name=d.person_name)
    else:
        summary = t("Due: {title}").format(title=title)
    event.add("summary", summary)
    event.add(
        "description",
        t("Due {when}.").format(
            when=t.with_other_zone(d.due_at, data.person_timezone, d.timezone, full=True)
        ),
    )
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", summary)
    alarm.add("trigger", timedelta(hours=-15))  # 09:00 the day before
    event.add_component(alarm)
    return event


def calendar_bytes(data: CalendarData, now: datetime, locale: str | None = None) -> bytes:
    """The .ics file for ``data``, texts in ``locale`` (the person's own by default)."""
    t = translator(locale or data.locale)
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    name = t.pick(data.programme.title_zh, data.programme.title_en)
    if data.person_name:
        name = f"{name} · {data.person_name}"
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", data.person_timezone)
    for s in data.sessions:
        calendar.add_component(_session_event(s, data, t, now))
    for d in data.deadlines:
        calendar.add_component(_deadline_event(d, data, t, now))
    instants = [s.starts_at for s in data.sessions] + [d.due_at for d in data.deadlines]
    if instants:
        first = min(instants).date().replace(month=1, day=1) - timedelta(days=1)
        last = max(instants).date().replace(month=12, day=31) + timedelta(days=1)
        calendar.add_missing_timezones(first_date=first, last_date=last)
    return bytes(calendar.to_ical())
