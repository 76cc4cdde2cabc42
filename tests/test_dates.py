"""The one parser of typed dates and times."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from liaison.services.dates import (
    local_instant,
    looks_like_day,
    parse_clock,
    parse_day,
    parse_day_and_clock,
)
from liaison.services.errors import InvalidDate


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2014-09-02", date(2014, 9, 2)),
        ("2014-9-2", date(2014, 9, 2)),
        ("2014/09/02", date(2014, 9, 2)),
        ("2014年9月2日", date(2014, 9, 2)),
    ],
)
def test_full_dates_are_read_in_the_forms_people_type(text: str, expected: date) -> None:
    assert parse_day(text) == expected
    assert looks_like_day(text)


def test_short_dates_need_today_and_take_its_year() -> None:
    today = date(2014, 10, 28)
    assert parse_day("9-2", today=today) == date(2014, 9, 2)
    assert parse_day("9月2日", today=today) == date(2014, 9, 2)
    with pytest.raises(InvalidDate):
        parse_day("9-2")
    assert not looks_like_day("9-2")


@pytest.mark.parametrize("text", ["2026-02-30", "2026-13-01", "tomorrow", "", "2026-1-1-1"])
def test_impossible_or_unreadable_dates_are_refused_naming_the_text(text: str) -> None:
    with pytest.raises(InvalidDate) as caught:
        parse_day(text)
    assert str(caught.value) == text.strip()


def test_clock_and_day_with_clock() -> None:
    assert parse_clock("9:05") == time(9, 5)
    assert parse_day_and_clock("2026-11-10 22:00") == (date(2026, 11, 10), time(22, 0))
    assert parse_day_and_clock("2026-11-10") == (date(2026, 11, 10), None)
    with pytest.raises(InvalidDate):
        parse_clock("25:00")


def test_a_local_time_skipped_by_daylight_saving_is_refused() -> None:
    assert local_instant(date(2026, 11, 10), time(22, 0), "America/New_York") == datetime(
        2026, 11, 11, 3, 0, tzinfo=UTC
    )
    with pytest.raises(InvalidDate, match="daylight-saving"):
        local_instant(date(2027, 3, 14), time(2, 30), "America/New_York")
