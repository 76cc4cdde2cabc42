"""The daily digest: the cadres' previous local day, who needs attention, work by assignment,
the chart, at 08:00 in each reader's zone on both sides of a daylight-saving change."""

from __future__ import annotations

import re
import warnings
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from liaison.services.digest import ChartRow, DayMark, Digest, WorkGroup, build_digest
from liaison.services.people import actor_by_id
from liaison.storage.enums import OutboxKind
from liaison.storage.models import OutboxMessage, Person
from liaison.ui.digest import render_digest
from liaison.ui.digest_chart import render_chart
from liaison.ui.i18n import translator
from liaison.ui.text import LIMIT, split_html
from tests.conftest import LI, ORGANIZER_CHEN, ORGANIZER_LIU, PROGRAMME_ID, WANG, ZHANG, Harness
from tests.organizers import (
    OBSERVER_ZHAO,
    answer_checkin,
    enrol_observer,
    person_id,
    submit_report,
)

ZH = translator("zh_CN")
EN = translator("en")
FRIDAY_SLOT = datetime(2026, 10, 31, 0, 0, tzinfo=UTC)  # Fri 30 Oct 20:00 EDT
SUNDAY_8_BEIJING = datetime(2026, 11, 1, 0, 0, tzinfo=UTC)  # Sat 31 Oct 20:00 EDT
TUESDAY_SLOT = datetime(2026, 11, 4, 1, 0, tzinfo=UTC)  # Tue 3 Nov 20:00 EST
THURSDAY_8_BEIJING = datetime(2026, 11, 5, 0, 0, tzinfo=UTC)  # Wed 4 Nov 19:00 EST
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def digests(h: Harness, user: object) -> list[str]:
    return [t for t in h.texts(user) if t.startswith("📊")]  # type: ignore[arg-type]


def headline(t: object, day: date, answered: int, due: int, alerts: int, esc: int, sub: int) -> str:
    tr = t  # a Translator
    rate = f"{round(100 * answered / due)}%"
    parts = [
        tr("check-ins {answered}/{due} ({rate})").format(answered=answered, due=due, rate=rate)  # type: ignore[operator]
        if due
        else tr("no check-in due"),  # type: ignore[operator]
        tr("alerts {count}").format(count=alerts),  # type: ignore[operator]
        tr("escalations {count}").format(count=esc),  # type: ignore[operator]
        tr("submissions {count}").format(count=sub),  # type: ignore[operator]
    ]
    return f"📊 <b>{tr.day(day)}</b> · " + " · ".join(parts)  # type: ignore[attr-defined]


async def friday(h: Harness) -> None:
    """Three cadres, two organizers and the observer; Friday 30 October's check-in:
    Zhang answers with wellbeing 2 (an alert) and gets a call, Wang answers after the
    reminder, Li never answers and is escalated. Zhang hands in the stage report."""
    for user in (ZHANG, LI, WANG, ORGANIZER_CHEN, ORGANIZER_LIU):
        await h.enrol(user)
    await enrol_observer(h)
    await submit_report(h, ZHANG)  # Fri 30 Oct 08:00 in New York
    h.clock.set(FRIDAY_SLOT)
    await h.tick()
    run = await answer_checkin(h, ZHANG, "张伟", wellbeing=2)
    await h.send(h.updates.command(ORGANIZER_CHEN, f"/note {run.id} 已电话沟通，情绪好转"))
    h.clock.set(FRIDAY_SLOT + timedelta(hours=4))
    await h.tick()
    await answer_checkin(h, WANG, "Wang Fang", wellbeing=4)
    h.clock.set(FRIDAY_SLOT + timedelta(hours=21))
    await h.tick()


async def test_digest_at_8_beijing_counts_the_cadres_friday_in_both_languages(
    harness: Harness,
) -> None:
    h = harness
    await friday(h)
    h.request.clear()
    h.clock.set(SUNDAY_8_BEIJING - timedelta(minutes=10))
    await h.tick()
    assert digests(h, ORGANIZER_CHEN) == []
    h.clock.set(SUNDAY_8_BEIJING)
    h.request.clear()
    await h.tick()

    zh = digests(h, ORGANIZER_CHEN)[-1]
    assert zh.splitlines()[0] == headline(ZH, date(2026, 10, 30), 2, 3, 1, 1, 1)
    assert ZH("Needs attention") in zh
    zhang, li = await person_id(h, "张伟"), await person_id(h, "李娜")
    alert_line = next(line for line in zh.splitlines() if line.startswith("🚨"))
    assert f"/p_{zhang}" in alert_line and "您最近状态如何？ → 2" in alert_line
    assert "已电话沟通，情绪好转" in alert_line
    escalation = next(line for line in zh.splitlines() if line.startswith("⚠️"))
    assert f"/p_{li}" in escalation and ZH("no call notes yet") in escalation
    assert ZH("Handed in: {names}").format(names="张伟") in zh

    en = digests(h, ORGANIZER_LIU)[-1]
    assert en.splitlines()[0] == headline(EN, date(2026, 10, 30), 2, 3, 1, 1, 1)
    assert "How are you doing? → 2" in en
    assert len(digests(h, OBSERVER_ZHAO)) == 1

    # The chart goes first, as a photo, to each reader.
    methods = [c.method for c in h.request.calls if c.params.get("chat_id") == ORGANIZER_CHEN.id]
    assert methods.index("sendPhoto") < methods.index("sendMessage")
    await h.tick()
    assert len(digests(h, ORGANIZER_CHEN)) == 1


async def test_digest_stays_at_8_beijing_after_the_us_clock_change(harness: Harness) -> None:
    h = harness
    await friday(h)
    h.clock.set(TUESDAY_SLOT)
    await h.tick()
    await answer_checkin(h, WANG, "Wang Fang", wellbeing=5)
    h.clock.set(THURSDAY_8_BEIJING - timedelta(minutes=10))
    await h.tick()
    h.request.clear()
    h.clock.set(THURSDAY_8_BEIJING)
    await h.tick()
    zh = digests(h, ORGANIZER_CHEN)[-1]
    # Tuesday 3 November in New York (EST now): one of three answered; Zhang and Li's
    # check-ins are still open, escalated at 20 hours.
    assert zh.splitlines()[0] == headline(ZH, date(2026, 11, 3), 1, 3, 0, 2, 0)
    # The stage report is due within 72 hours, grouped on one line.
    due_line = next(line for line in zh.splitlines() if "第一阶段报告" in line)
    assert ZH("{submitted}/{expected} submitted").format(submitted=1, expected=3) in due_line
    assert ZH("missing: {names}").format(names="李娜、Wang Fang") in due_line
    async with h.db.read() as session:
        rows = list(
            await session.scalars(
                select(OutboxMessage).where(
                    OutboxMessage.kind == OutboxKind.DIGEST,
                    OutboxMessage.person_id == await person_id(h, "陈组织"),
                )
            )
        )
    local = [row.due_at.astimezone(ZH_ZONE).strftime("%m-%d %H:%M") for row in rows]
    # Before the change (EDT, 12 hours behind Beijing) and after it (EST, 13 hours).
    assert local == ["10-31 08:00", "11-04 08:00", "11-05 08:00"]


ZH_ZONE = __import__("zoneinfo").ZoneInfo("Asia/Shanghai")


async def test_a_reader_in_new_york_gets_it_at_8_there_on_both_sides_of_the_change(
    harness: Harness,
) -> None:
    h = harness
    await h.enrol(ORGANIZER_LIU)
    await h.send(h.updates.command(ORGANIZER_LIU, "/timezone America/New_York"))
    sent = []
    for day in (datetime(2026, 10, 31, 12, tzinfo=UTC), datetime(2026, 11, 2, 13, tzinfo=UTC)):
        # 08:00 EDT on Saturday is 12:00 UTC; 08:00 EST on Monday is 13:00 UTC.
        h.clock.set(day - timedelta(minutes=5))
        await h.tick()
        before = len(digests(h, ORGANIZER_LIU))
        h.clock.set(day)
        await h.tick()
        sent.append(len(digests(h, ORGANIZER_LIU)) - before)
    assert sent == [1, 1]


async def test_quiet_day_gets_a_short_message_without_chart(harness: Harness) -> None:
    h = harness
    await h.enrol(ORGANIZER_CHEN)
    h.clock.set(datetime(2026, 10, 1, 0, 0, tzinfo=UTC))  # Thu 1 Oct, 08:00 Beijing
    h.request.clear()
    await h.tick()
    (text,) = digests(h, ORGANIZER_CHEN)
    assert text.splitlines()[1] == ZH(
        "A quiet day: nothing due, nothing handed in, nothing needs attention."
    )
    assert h.request.sent("sendPhoto") == []


async def test_digest_command_sends_it_now_to_staff_and_refuses_cadres(harness: Harness) -> None:
    h = harness
    await friday(h)
    h.request.clear()
    await h.send(h.updates.command(OBSERVER_ZHAO, "/digest"))
    assert h.last_text(OBSERVER_ZHAO) == ZH("Preparing your digest; it arrives in a moment.")
    await h.dispatch()
    assert digests(h, OBSERVER_ZHAO)
    await h.send(h.updates.command(ZHANG, "/digest"))
    assert h.last_text(ZHANG) == ZH("Only organizers and observers can see this.")
    async with h.db.read() as session:
        zhang = await session.scalar(select(Person.id).where(Person.name == "张伟"))
        rows = await session.scalars(select(OutboxMessage).where(OutboxMessage.person_id == zhang))
        assert all(row.kind is not OutboxKind.DIGEST for row in rows)


async def test_chart_renders_chinese_names_without_missing_glyphs(harness: Harness) -> None:
    h = harness
    await friday(h)
    digest = await build_digest(h.db, PROGRAMME_ID, SUNDAY_8_BEIJING)
    assert [row.name for row in digest.chart] == ["张伟", "李娜", "Wang Fang"]
    friday_column = digest.days.index(date(2026, 10, 30))
    assert [row.marks[friday_column] for row in digest.chart] == [
        DayMark.ANSWERED,
        DayMark.MISSED,  # its window closed at the digest's very minute
        DayMark.LATE,
    ]
    assert digest.wellbeing[friday_column] == 3.0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = render_chart(digest, ZH)
    missing = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    assert missing == []
    assert png.startswith(PNG_SIGNATURE) and len(png) > 10_000


@pytest.mark.filterwarnings("error:.*missing from font")
async def test_the_sent_chart_is_a_png_photo(harness: Harness) -> None:
    h = harness
    await friday(h)
    h.clock.set(SUNDAY_8_BEIJING)
    h.request.clear()
    await h.tick()
    photos = [p for p in h.request.sent("sendPhoto") if p.get("chat_id") == ORGANIZER_CHEN.id]
    assert len(photos) == 1


async def test_a_long_digest_is_line_based_and_splits_into_valid_messages(
    harness: Harness,
) -> None:
    h = harness
    await h.enrol(ORGANIZER_CHEN)
    reader = await actor_by_id(h.db, await person_id(h, "陈组织"))
    assert reader is not None
    names = [f"干部{i:02d}号" for i in range(60)]
    digest = Digest(PROGRAMME_ID, SUNDAY_8_BEIJING, date(2026, 10, 30), cadres=60, due=60)
    digest.overdue = [
        WorkGroup(i, f"阶段报告{i}", f"Report {i}", FRIDAY_SLOT, "America/New_York", 0, 60, names)
        for i in range(30)
    ]
    digest.chart = [ChartRow(name, [DayMark.MISSED] * 14) for name in names]
    text = render_digest(digest, reader, ZH)
    assert len(text) > 2 * LIMIT
    chunks = split_html(text)
    assert len(chunks) >= 3 and all(len(chunk) <= LIMIT for chunk in chunks)
    for chunk in chunks:
        for tag in ("b",):
            assert len(re.findall(f"<{tag}>", chunk)) == len(re.findall(f"</{tag}>", chunk))
    assert "\n".join(chunks).replace("\n", "") == text.replace("\n", "")


async def test_a_stuck_outbox_is_reported_in_the_digest(harness: Harness) -> None:
    from liaison.services.outbox.payloads import ExpiredPayload
    from liaison.services.outbox.queue import Planned, enqueue

    await harness.enrol(ORGANIZER_CHEN)
    now = harness.clock.now()
    async with harness.db.read() as session:
        organizer = await session.scalar(
            select(Person.id).where(Person.telegram_user_id == ORGANIZER_CHEN.id)
        )
    assert organizer is not None
    async with harness.db.transaction() as session:
        await enqueue(
            session,
            Planned(
                "stuck",
                organizer,
                OutboxKind.EXPIRED_REPORT,
                ExpiredPayload(count=1),
                now - timedelta(minutes=45),
            ),
        )
    digest = await build_digest(harness.db, PROGRAMME_ID, now)
    assert digest.outbox_stuck == timedelta(minutes=45)
    reader = await actor_by_id(harness.db, organizer)
    assert reader is not None
    text = render_digest(digest, reader, ZH)
    assert (
        ZH(
            "Scheduled messages are not going out: the oldest has waited {minutes} min. "
            "Ask the operator to check `liaison status`."
        ).format(minutes=45)
        in text
    )
