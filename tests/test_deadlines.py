"""Deadline reminders, idle drafts and the daily digest, through the outbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from liaison.storage.models import Assignment, SubmissionDraft
from liaison.ui.callbacks import SubmissionButton
from liaison.ui.i18n import Translator, translator
from tests.conftest import LI, ORGANIZER_CHEN, WANG, ZHANG, Harness

ZH = translator("zh_CN")
EN = translator("en")
DUE = datetime(2026, 11, 7, 3, 0, tzinfo=UTC)  # Fri 6 Nov 22:00 EST, after the DST change


def reminder(tr: Translator, zone: str, due: datetime, now: datetime) -> str:
    return tr("Reminder: {title} is due {when} ({relative}). Submit it with {command}.").format(
        title="第一阶段报告" if tr.locale.startswith("zh") else "First stage report",
        when=tr.with_other_zone(due, zone, "Asia/Shanghai", full=True),
        relative=tr.relative(due - now),
        command="/report",
    )


async def submit(h: Harness, user: object, text: str = "报告") -> None:
    async with h.db.read() as session:
        assignment = await session.scalar(select(Assignment.id).where(Assignment.key == "stage-1"))
    assert assignment is not None
    await h.send(h.updates.callback(user, SubmissionButton("p", assignment).encode()))  # type: ignore[arg-type]
    await h.send(h.updates.text(user, text))  # type: ignore[arg-type]
    async with h.db.read() as session:
        draft = await session.scalar(select(SubmissionDraft.id))
    assert draft is not None
    await h.send(h.updates.callback(user, SubmissionButton("s", draft).encode()))  # type: ignore[arg-type]


async def test_reminders_at_72h_24h_and_2h_go_only_to_those_who_have_not_submitted(
    harness: Harness,
) -> None:
    h = harness
    for user in (ZHANG, WANG, LI):
        await h.enrol(user)
    await submit(h, LI)
    # 72 hours before: Tue 3 Nov 22:00 EST, two days after clocks went back.
    h.clock.set(DUE - timedelta(hours=72))
    await h.tick()
    assert h.last_text(ZHANG) == "⏰ " + reminder(ZH, "America/New_York", DUE, h.clock.now())
    assert h.last_text(WANG) == "⏰ " + reminder(EN, "America/New_York", DUE, h.clock.now())
    assert not any("⏰" in t for t in h.texts(LI))
    await h.tick()  # the same tick again plans nothing new
    assert sum("⏰" in t for t in h.texts(ZHANG)) == 1
    await submit(h, WANG, "done")
    h.clock.set(DUE - timedelta(hours=24))
    await h.tick()
    assert sum("⏰" in t for t in h.texts(ZHANG)) == 2
    assert sum("⏰" in t for t in h.texts(WANG)) == 1  # submitted: no more reminders
    h.clock.set(DUE - timedelta(hours=2))
    await h.tick()
    assert sum("⏰" in t for t in h.texts(ZHANG)) == 3


async def test_after_downtime_only_the_latest_reminder_is_sent(harness: Harness) -> None:
    h = harness
    await h.enrol(ZHANG)
    h.clock.set(DUE - timedelta(hours=1))
    await h.tick()
    assert sum("⏰" in t for t in h.texts(ZHANG)) == 1


async def test_overdue_reminders_daily_then_stop(harness: Harness) -> None:
    h = harness
    await h.enrol(ZHANG)
    for day in range(1, 6):
        h.clock.set(DUE + timedelta(days=day, minutes=1))
        await h.tick()
    overdue = [t for t in h.texts(ZHANG) if t.startswith("⚠️")]
    assert len(overdue) == 3  # overdue_days defaults to 3


async def test_extension_moves_the_reminders(harness: Harness) -> None:
    h = harness
    await h.enrol(ZHANG)
    await h.enrol(ORGANIZER_CHEN)
    await h.send(h.updates.command(ORGANIZER_CHEN, "/extend 张伟 stage-1 2026-11-13"))
    h.clock.set(DUE - timedelta(hours=2))
    await h.tick()
    assert not any("⏰" in t for t in h.texts(ZHANG))
    extended = DUE + timedelta(days=7)
    h.clock.set(extended - timedelta(hours=2))
    await h.tick()
    assert h.last_text(ZHANG) == "⏰ " + reminder(ZH, "America/New_York", extended, h.clock.now())


async def test_idle_draft_is_reminded_once_then_dropped_with_notice(harness: Harness) -> None:
    h = harness
    await h.enrol(ZHANG)
    async with h.db.read() as session:
        assignment = await session.scalar(select(Assignment.id).where(Assignment.key == "stage-1"))
    assert assignment is not None
    await h.send(h.updates.callback(ZHANG, SubmissionButton("p", assignment).encode()))
    await h.send(h.updates.text(ZHANG, "写了一半"))
    h.clock.advance(timedelta(hours=25))
    await h.tick()
    assert sum((t.startswith("📝 ") and "草稿" in t) or "draft" in t for t in h.texts(ZHANG)) >= 1
    h.clock.advance(timedelta(hours=49))
    await h.tick()
    await h.dispatch()
    assert h.last_text(ZHANG).startswith("🗑 ")
    async with h.db.read() as session:
        assert list(await session.scalars(select(SubmissionDraft))) == []
