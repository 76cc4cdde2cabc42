"""The demo starts with a past made through the real services: the digest, the cohort,
dossiers and the review queue have something true to show, the same every time."""

from __future__ import annotations

import warnings
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from liaison.bot.cli import main
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


@pytest.fixture(scope="module")
def demo_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data dir for this module: the past is played once, kept there and reused."""
    return tmp_path_factory.mktemp("demo-data")


async def test_demo_history_gives_the_digest_true_numbers_in_both_languages(
    demo_data_dir: Path,
) -> None:
    demo = await build_demo(demo_data_dir, lambda _: None)
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


async def runs_of(data_dir: Path, past: bool = True) -> list[tuple[object, ...]]:
    demo = await build_demo(data_dir, lambda _: None, past=past)
    try:
        async with demo.db.read() as session:
            rows = await session.execute(
                select(SurveyRun.person_id, SurveyRun.slot_date, SurveyRun.state).order_by(
                    SurveyRun.person_id, SurveyRun.slot_date
                )
            )
            return [tuple(row) for row in rows]
    finally:
        await demo.app.shutdown()
        await demo.db.dispose()


async def test_a_kept_past_is_reused_and_is_the_same(demo_data_dir: Path) -> None:
    first = await runs_of(demo_data_dir)
    kept = list((demo_data_dir / "demo-cache").glob("past-*.db"))
    assert len(kept) == 1
    # 13 cadres × four past slots, and the Tuesday slot five minutes after the demo's
    # clock, planned ahead with its prompt due at 20:00.
    assert await runs_of(demo_data_dir) == first and len(first) == 65
    assert await runs_of(demo_data_dir, past=False) == []


def test_demo_shows_the_organizers_side_with_a_past(
    demo_data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = "\n".join([":as 郑红", "/cohort", "/person 杨帆", "/review", ":wait 10m", ":quit"])
    monkeypatch.chdir(demo_data_dir)
    env = {"LIAISON_DATA_DIR": str(demo_data_dir), "LIAISON_BOT_TOKEN": ""}
    result = CliRunner().invoke(main, ["demo", "--script", "-"], input=script, env=env)
    assert result.exit_code == 0, result.output
    out = result.output
    cohort = out.split("> /cohort", 1)[1]
    assert cohort.split("\n🚨 ", 1)[1].startswith("杨帆")  # attention first
    assert "感冒发烧两天" in out  # the call notes in her dossier
    assert "待评阅（按提交先后）：" in out  # the review queue
    assert "阶段汇报(一):理论学习 · 已交 12/13 · 未交：马骁" in out  # the 08:00 digest
    assert "(photo" in out  # its chart
