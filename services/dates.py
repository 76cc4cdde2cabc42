"""The one parser of dates and times people type: in commands, rosters and programme rows.

Local wall-clock times are turned into UTC instants here too, refusing the times a
daylight-saving change skips, so every caller treats "2026-03-08 02:30" the same way.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time

from liaison.services.errors import InvalidDate
from liaison.services.timezones import NonexistentLocalTime, local_to_utc

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
    Raises InvalidDate naming the text otherwise, including for 2026-02-30.
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
    try:
        return date(*parts)
    except ValueError:
        raise InvalidDate(cleaned) from None


def parse_clock(text: str) -> time:
    """Reads HH:MM (or H:MM)."""
    match = _CLOCK.match(text.strip())
    if not match:
        raise InvalidDate(text.strip())
    try:
        return time(int(match.group(1)), int(match.group(2)))
    except ValueError:
        raise InvalidDate(text.strip()) from None


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
        raise InvalidDate(str(exc)) from None
