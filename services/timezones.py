"""Time-zone names checked against the tz database, and local↔UTC conversion without DST gaps."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones


@cache
def _all_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def is_valid_timezone(name: str) -> bool:
    return name in _all_zones()


def canonical_timezone(name: str) -> str | None:
    """Finds a zone by exact or case-insensitive name ("america/new_york" → "America/New_York")."""
    cleaned = name.strip().replace(" ", "_")
    if is_valid_timezone(cleaned):
        return cleaned
    lowered = cleaned.lower()
    for zone in _all_zones():
        if zone.lower() == lowered:
            return zone
    return None


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


def same_offset(instant: datetime, first: str, second: str) -> bool:
    """Whether two zones show the same wall-clock time at this instant."""
    return (
        first == second
        or instant.astimezone(zone(first)).utcoffset()
        == instant.astimezone(zone(second)).utcoffset()
    )


class NonexistentLocalTime(ValueError):
    """The wall-clock time falls in a daylight-saving gap and never happens."""


def local_to_utc(naive: datetime, zone_name: str) -> datetime:
    """Interprets a wall-clock time in a zone; refuses times skipped by a DST change.

    An ambiguous time (the repeated hour in autumn) takes its first occurrence.
    """
    if naive.tzinfo is not None:
        return naive.astimezone(UTC)
    tz = zone(zone_name)
    aware = naive.replace(tzinfo=tz, fold=0)
    round_trip = aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
    if round_trip != naive:
        raise NonexistentLocalTime(
            f"{naive:%Y-%m-%d %H:%M} does not exist in {zone_name} (daylight-saving change)"
        )
    return aware.astimezone(UTC)
