"""The demo starts with a past made through the real services: the digest, the cohort,
dossiers and the review queue have something true to show, the same every time."""

from __future__ import annotations

import warnings
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import func, select

from liaison.bot.sandbox.demo import PROGRAMME_ID, build_demo
from liaison.services.digest import build_digest
from liaison.services.people import actor_by_id
from liaison.storage.enums import ReviewStatus, RunState
from liaison.storage.models import Assignment, Person, Submission, SurveyRun
from liaison.ui.digest import headline, render_digest
from liaison.ui.digest_chart import render_chart
from liaison.ui.i18n import translator

ZH = translator("zh_CN")
EN = translator("en")
# Sunday 26 October, 08:00 in Beijing: the digest of the cadres' Friday 24 October.
SUNDAY_DIGEST = datetime(2014, 10, 26, 0, 0, tzinfo=UTC)
FRIDAY = date(2014, 10, 24)


async def test_demo_history_gives_the_digest_true_numbers_in_both_languages(
    tmp_path: Path,
) -> None:
    demo = await build_demo(tmp_path, lambda _: None)
    try:
        db = demo.db
        async with db.read() as session:
            due = await session.scalar(select(func.count()).where(SurveyRun.slot_date == FRIDAY))
            answered = await session.scalar(
                select(func.count()).where(
                    SurveyRun.slot_date == FRIDAY, SurveyRun.state == RunState.COMPLETED
                )
            )
            escalated = await session.scalar(
                select(func.count()).where(
                    SurveyRun.slot_date == FRIDAY, SurveyRun.escalated_at.is_not(None)
                )
            )
            reviewed = await session.scalar(
                select(func.count())
                .select_from(Submission)
                .join(Assignment, Assignment.id == Submission.assignment_id)
                .where(
                    Submission.review_status == ReviewStatus.REVIEWED,
                    Assignment.key == "stage-report-theory",
                )
            )
            lead = await session.scalar(select(Person.id).where(Person.name == "郑红"))
            caller = await session.scalar(select(Person.id).where(Person.name == "何嘉文"))
        assert due == 13 and answered is not None and 9 <= answered <= 12
        assert escalated is not None and escalated >= 1 and reviewed == 1

        digest = await build_digest(db, PROGRAMME_ID, SUNDAY_DIGEST)
        assert (digest.day, digest.due, digest.answered) == (FRIDAY, due, answered)
        assert [item.name for item in digest.alerts] == ["杨帆"]
        assert len(digest.escalations) == escalated
        assert "黄俊杰" in [item.name for item in digest.escalations]
        assert "黄俊杰" in [item.name for item in digest.silent]
        overdue = {group.title_zh: group.missing for group in digest.overdue}
        assert overdue == {"阶段汇报(一):理论学习": ["马骁"]}

        for reader_id, t in ((lead, ZH), (caller, EN)):
            reader = await actor_by_id(db, reader_id or 0)
            assert reader is not None
            text = render_digest(digest, reader, t)
            assert text.splitlines()[0] == headline(digest, t)
            assert (
                t("check-ins {answered}/{due} ({rate})").format(
                    answered=answered, due=due, rate=f"{round(100 * answered / due)}%"
                )
                in text.splitlines()[0]
            )
            alert = next(line for line in text.splitlines() if line.startswith("🚨"))
            assert "杨帆" in alert and "感冒发烧两天" in alert
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            png = render_chart(digest, ZH)
        assert not [w for w in caught if "missing from font" in str(w.message)]
        assert png.startswith(b"\x89PNG")
    finally:
        await demo.app.shutdown()
        await db.dispose()
