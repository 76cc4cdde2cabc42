"""/schedule and /next through the bot, in the reader's zone, across daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, date, datetime

from liaison.ui.callbacks import ScheduleButton
from liaison.ui.i18n import translator
from tests.conftest import ORGANIZER_CHEN, WANG, ZHANG, Harness

ZH = translator("zh_CN")
EN = translator("en")
BEIJING = "Asia/Shanghai"


def line(t: object, start: str, end: str, title: str) -> str:
    assert callable(t)
    return str(t("{start}–{end} {title}")).format(start=start, end=end, title=f"<b>{title}</b>")


def beside(t: object, city: str, when: str) -> str:
    assert callable(t)
    return str(t("{city} time: {when}")).format(city=city, when=when)


async def test_today_shows_local_time_with_beijing_time_beside(harness: Harness) -> None:
    await harness.enrol(ZHANG)
    await harness.send(harness.updates.command(ZHANG, "/schedule"))
    text = harness.last_text(ZHANG)
    assert ZH("Schedule for {day}").format(day=ZH.day(date(2026, 10, 30))) in text
    assert line(ZH, "09:00", "11:30", "现代服务业概论") in text
    assert beside(ZH, ZH.city(BEIJING), "周五 21:00") in text
    assert ZH("Current phase: {phase}").format(phase="海外理论学习") in text
    assert ZH("Place: {place}").format(place="UNC Chapel Hill") in text


async def test_week_crossing_the_november_change_keeps_each_local_time(harness: Harness) -> None:
    await harness.enrol(WANG)  # English reader in New York
    await harness.send(harness.updates.command(WANG, "/schedule week"))
    text = harness.last_text(WANG)
    assert (
        EN("Schedule for the week {first} – {last}").format(
            first=EN.short_day(date(2026, 10, 26)), last=EN.short_day(date(2026, 11, 1))
        )
        in text
    )
    # Friday before the change: 09:00 EDT is 21:00 in Beijing.
    assert line(EN, "09:00", "11:30", "Introduction to the modern service industry") in text
    assert beside(EN, EN("Beijing"), "Fri 21:00") in text
    # Sunday after the change: 10:00 EST is 23:00 in Beijing, not 22:00.
    assert line(EN, "10:00", "12:00", "Community volunteering") in text
    assert beside(EN, EN("Beijing"), "Sun 23:00") in text
    # 23:30 on Sunday local is still this week, though it is Monday in Beijing.
    assert "Sunday evening review" in text
    assert beside(EN, EN("Beijing"), "Mon 12:30") in text
    # Monday's session belongs to the next week.
    assert "Regional economy case study" not in text


async def test_next_week_button_moves_past_the_change(harness: Harness) -> None:
    await harness.enrol(WANG)
    data = ScheduleButton("week", date(2026, 11, 2)).encode()
    await harness.send(harness.updates.callback(WANG, data))
    edited = harness.request.sent("editMessageText")[-1]["text"]
    assert line(EN, "09:00", "12:00", "Regional economy case study") in edited
    assert beside(EN, EN("Beijing"), "Mon 22:00") in edited
    assert "Community volunteering" not in edited


async def test_week_crossing_the_march_change(harness: Harness) -> None:
    await harness.enrol(WANG)
    await harness.send(harness.updates.command(WANG, "/schedule 2027-03-12"))
    day_text = harness.last_text(WANG)
    assert beside(EN, EN("Beijing"), "Fri 22:00") in day_text
    harness.clock.set(datetime(2027, 3, 10, 15, 0, tzinfo=UTC))
    await harness.send(harness.updates.command(WANG, "/schedule week"))
    text = harness.last_text(WANG)
    assert line(EN, "09:00", "17:00", "County government placement") in text
    assert beside(EN, EN("Beijing"), "Fri 22:00") in text
    # After clocks spring forward, 09:00 local is 21:00 in Beijing.
    assert line(EN, "09:00", "12:00", "Research Triangle Park visit") in text
    assert beside(EN, EN("Beijing"), "Sun 21:00") in text


async def test_organizer_sees_the_cohort_in_beijing_time_with_local_time_beside(
    harness: Harness,
) -> None:
    await harness.enrol(ORGANIZER_CHEN)
    await harness.send(harness.updates.command(ORGANIZER_CHEN, "/schedule week"))
    text = harness.last_text(ORGANIZER_CHEN)
    assert line(ZH, "21:00", "23:30", "现代服务业概论") in text
    new_york = ZH.city("America/New_York")
    assert beside(ZH, new_york, "周五 09:00") in text
    assert line(ZH, "23:00", "01:00", "社区志愿活动") not in text
    # Sunday 10:00 EST ends at Monday 01:00 Beijing: the end shows its date.
    assert "社区志愿活动" in text
    # Sunday 23:30 in New York is Monday noon in Beijing: next week for the organizer.
    assert "周日晚间复盘" not in text


async def test_next_lists_upcoming_sessions_in_order(harness: Harness) -> None:
    await harness.enrol(WANG)
    await harness.send(harness.updates.command(WANG, "/next"))
    text = harness.last_text(WANG)
    titles = [
        "Introduction to the modern service industry",
        "Community volunteering",
        "Sunday evening review",
        "Regional economy case study",
        "County government placement",
    ]
    positions = [text.index(title) for title in titles]
    assert positions == sorted(positions)
    assert "Pre-departure lecture" not in text


async def test_day_without_sessions_says_so(harness: Harness) -> None:
    await harness.enrol(WANG)
    await harness.send(harness.updates.command(WANG, "/schedule 2026-10-28"))
    assert EN("No sessions on this day.") in harness.last_text(WANG)


async def test_unreadable_date_gets_a_hint(harness: Harness) -> None:
    await harness.enrol(WANG)
    await harness.send(harness.updates.command(WANG, "/schedule someday"))
    assert harness.last_text(WANG) == EN(
        "I could not read {text!r} as a date. Try /schedule today, /schedule week, "
        "/schedule next or /schedule 2014-09-02."
    ).format(text="someday")


async def test_chinese_view_words_are_understood(harness: Harness) -> None:
    await harness.enrol(ZHANG)
    await harness.send(harness.updates.command(ZHANG, "/schedule 本周"))
    assert "社区志愿活动" in harness.last_text(ZHANG)


async def test_double_tap_on_a_schedule_button_is_harmless(harness: Harness) -> None:
    from liaison.bot.sandbox.fake_telegram import Fault

    await harness.enrol(WANG)
    data = ScheduleButton("week", date(2026, 11, 2)).encode()
    await harness.send(harness.updates.callback(WANG, data))
    harness.request.fail(Fault.NOT_MODIFIED, method="editMessageText")
    await harness.send(harness.updates.callback(WANG, data))
    assert len(harness.request.sent("answerCallbackQuery")) == 2
