"""The one parser of dates and times people type: in commands, rosters and programme rows.

Local wall-clock times are turned into UTC instants here too, refusing the times a
daylight-saving change skips, so every caller treats "2026-03-08 02:30" the same way.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time

from liaison.services.errors import DateProblem, InvalidDate
from liaison.services.timezones import NonexistentLocalTime, local_to_utc

# Days anyone could mean in this bot. Outside them date arithmetic (a week later, the
# day before) overflows Python's calendar, so 9999-12-31 is refused here, not by a crash.
EARLIEST = date(1970, 1, 1)
LATEST = date(2100, 12, 31)

_FULL = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$")
# Without a year: "9-2", "9/2", "9.2", "9月2日" (this year, in the reader's zone).
_SHORT = re.compile(r"^(\d{1,2})[-/.月](\d{1,2})日?$")
_FULL_CN = re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$")
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")


def looks_like_day(text: str) -> bool:
    """Whether a word is meant as a full date (to split commands like /absent NAME FROM TO)."""
    return bool(_FULL.match(text.strip()) or _FULL_CN.match(text.strip()))


def parse_day(text: str, *, today: date | None = None) -> date:
    """Reads 2014-09-02 (also with / or . and without leading zeros, or 2014年9月2日).

    With ``today``, "9-2", "9/2" and "9月2日" are read as that date in today's year.
    Raises InvalidDate naming the text and the problem otherwise: unreadable, a day the
    month does not have (2026-02-30), or a year outside EARLIEST–LATEST.
    """
    cleaned = text.strip()
    match = _FULL.match(cleaned) or _FULL_CN.match(cleaned)
    parts: tuple[int, int, int] | None = None
    if match:
        parts = (int(match.group(1)), int(match.group(2)), int(match.group(3)))
    elif today is not None and (short := _SHORT.match(cleaned)):
        parts = (today.year, int(short.group(1)), int(short.group(2)))
    if parts is None:
        raise InvalidDate(cleaned)
    if not EARLIEST.year <= parts[0] <= LATEST.year:
        raise InvalidDate(cleaned, DateProblem.OUT_OF_RANGE)
    try:
        return date(*parts)
    except ValueError:
        raise InvalidDate(cleaned, DateProblem.NO_SUCH_DAY) from None


def in_range(day: date) -> bool:
    """Whether a date (e.g. from a button) lies in the span this bot works with."""
    return EARLIEST <= day <= LATEST


def check_span(first: date, last: date) -> None:
    """Refuses a span whose last day comes before its first (e.g. /absent)."""
    if last < first:
        raise InvalidDate(last.isoformat(), DateProblem.END_BEFORE_START, other=first.isoformat())


def parse_clock(text: str) -> time:
    """Reads HH:MM (or H:MM)."""
    match = _CLOCK.match(text.strip())
    if not match:
        raise InvalidDate(text.strip(), DateProblem.NO_SUCH_TIME)
    try:
        return time(int(match.group(1)), int(match.group(2)))
    except ValueError:
        raise InvalidDate(text.strip(), DateProblem.NO_SUCH_TIME) from None


def parse_day_and_clock(text: str) -> tuple[date, time | None]:
    """Reads "YYYY-MM-DD" or "YYYY-MM-DD HH:MM" (a T between them works too)."""
    day_text, _, clock_text = text.strip().replace("T", " ").partition(" ")
    day = parse_day(day_text)
    return day, parse_clock(clock_text) if clock_text.strip() else None


def local_instant(day: date, at: time, zone_name: str) -> datetime:
    """The UTC instant of a wall-clock time in a zone; a time skipped by DST is refused."""
    try:
        return local_to_utc(datetime.combine(day, at), zone_name)
    except NonexistentLocalTime as exc:
        raise InvalidDate(
            f"{day.isoformat()} {at:%H:%M}", DateProblem.SKIPPED_BY_DST, detail=str(exc)
        ) from None
