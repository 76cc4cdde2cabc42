"""Test results in the record: /result in the bot, a roster re-import, the ranking, the
audit of every change, and bad input that writes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from liaison.bot.sandbox.fake_updates import FakeUser
from liaison.services.clock import FakeClock
from liaison.services.roster import RosterError, import_roster
from liaison.services.selection.figures import SelectionFigures, selection_figures
from liaison.services.selection.ranking import ranked
from liaison.services.selection.results import results_of
from liaison.storage.database import Database
from liaison.storage.enums import PersonStatus, ResultSource
from liaison.storage.models import AuditEvent, Person, TestResult
from liaison.ui.i18n import translator
from liaison.ui.selection import candidate_line, render_results
from tests.conftest import ORGANIZER_CHEN, Harness
from tests.selection_support import (
    ENROLLED,
    ORGANIZER,
    SAMPLE_ID,
    SAMPLE_ROSTER,
    audit,
    count,
    enrol,
    fake_user,
    load_sample,
    sample_harness,
    shortlist_everyone,
)

ZH = translator("zh_CN")
# Saturday 12 July 2014, 14:00 in Chengdu: the BFT exam was this morning.
AFTERNOON = datetime(2014, 7, 12, 6, 0, tzinfo=UTC)


@pytest.fixture
async def bot(sqlite_db: Database, tmp_path: Path) -> AsyncIterator[Harness]:
    async with sample_harness(sqlite_db, FakeClock(AFTERNOON), tmp_path) as harness:
        await shortlist_everyone(harness.db)
        await enrol(harness.db)
        yield harness


async def by_name(db: Database, name: str) -> Person:
    async with db.read() as session:
        found = await session.scalar(select(Person).where(Person.name == name))
    assert found is not None
    return found


async def user(db: Database, name: str) -> FakeUser:
    return fake_user(await by_name(db, name))


async def result_rows(db: Database) -> set[tuple[int, str, str]]:
    async with db.read() as session:
        return {
            (r.person_id, r.test_key, r.value) for r in await session.scalars(select(TestResult))
        }


async def test_result_recorded_in_the_bot_replaces_the_old_one_and_is_audited(
    bot: Harness,
) -> None:
    h = bot
    organizer = await user(h.db, ORGANIZER)
    await h.send(h.updates.command(organizer, "/result 王思远 bft 中级"))
    assert h.last_text(organizer) == "✅ " + ZH(
        "Recorded for {name}: {test} {value} (was {previous})."
    ).format(name="王思远", test="BFT外语考试", value="中级", previous="高级")
    wang = await by_name(h.db, "王思远")
    results = {r.test_key: r for r in await results_of(h.db, wang.id)}
    bft = results["bft"]
    assert (bft.value, bft.shown_en, bft.source) == ("intermediate", "Intermediate", "bot")
    assert (bft.entered_by, bft.entered_at) == (ORGANIZER, AFTERNOON)
    assert wang.bft_level == "中级"  # the roster's own column follows the record
    event = (await audit(h.db, "selection.result"))[-1]
    assert event.actor_person_id == (await by_name(h.db, ORGANIZER)).id
    assert event.details == {
        "person_id": wang.id,
        "name": "王思远",
        "test": "bft",
        "value": "intermediate",
        "previous": "advanced",
        "source": "bot",
    }
    # The same value again writes nothing more.
    await h.send(h.updates.command(organizer, "/result 王思远 BFT intermediate"))
    assert h.last_text(organizer) == ZH(
        "{name} already has {value} in {test}; nothing changed."
    ).format(name="王思远", value="中级", test="BFT外语考试")
    assert (await audit(h.db, "selection.result"))[-1].id == event.id


async def test_result_entered_shows_in_the_ranking(bot: Harness) -> None:
    h = bot
    organizer = await user(h.db, ORGANIZER)
    await h.send(h.updates.command(organizer, "/result 胡斌 english-2 99"))
    await h.send(h.updates.command(organizer, "/candidates english-2"))
    text = h.last_text(organizer)
    assert ZH("Candidates ranked by {test}").format(test="英语水平测试(第二批)") in text
    async with h.db.read() as session:
        ranking = await ranked(session, SAMPLE_ID, "english-2")
    top = ranking.candidates[0]
    assert top.name == "胡斌"
    assert candidate_line(1, top, ZH) in text
    # Batch 1 took the other test: they come after everyone with a batch-2 result.
    assert {c.name for c in ranking.candidates[:11]} == {
        c.name for c in ranking.candidates if c.result("english-2")
    }


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (
            "/result 王思远 toefl 100",
            ZH("There is no test {key}. The tests are: {keys}.").format(
                key="toefl", keys="english-1, english-2, bft"
            ),
        ),
        (
            "/result 王思远 english-1 120",
            ZH("{value} is not a result of {test}: it takes a number from {low} to {high}.").format(
                value="120", test="英语水平测试(第一批)", low="0", high="100"
            ),
        ),
        (
            "/result 王思远 english-1 优秀",
            ZH("{value} is not a result of {test}: it takes a number from {low} to {high}.").format(
                value="优秀", test="英语水平测试(第一批)", low="0", high="100"
            ),
        ),
        (
            "/result 王思远 bft 特级",
            ZH("{value} is not a level of {test}. Its levels are: {levels}.").format(
                value="特级", test="BFT外语考试", levels="初级, 中级, 高级"
            ),
        ),
        (
            "/result 何嘉文 bft 高级",
            ZH(
                "{name} is not a candidate in the selection, so nothing was recorded or changed."
            ).format(name="何嘉文"),
        ),
        (
            "/result 无名氏 bft 高级",
            ZH("Nobody called {name} is on the roster.").format(name="无名氏"),
        ),
        ("/result 王思远 88", ZH("Usage: /result NAME TEST VALUE, e.g. /result 刘婧 bft 高级")),
    ],
)
async def test_result_bad_input_gets_a_clear_answer_and_writes_nothing(
    bot: Harness, command: str, expected: str
) -> None:
    h = bot
    before = await result_rows(h.db)
    events = await count(h.db, AuditEvent)
    organizer = await user(h.db, ORGANIZER)
    await h.send(h.updates.command(organizer, command))
    assert h.last_text(organizer) == expected
    assert await result_rows(h.db) == before
    assert await count(h.db, AuditEvent) == events


async def test_result_for_a_cadre_past_the_selection_is_refused(bot: Harness) -> None:
    h = bot
    async with h.db.transaction() as session:
        (
            await session.get_one(Person, (await by_name(h.db, "刘婧")).id)
        ).status = PersonStatus.ACTIVE
    before = await result_rows(h.db)
    organizer = await user(h.db, ORGANIZER)
    await h.send(h.updates.command(organizer, "/result 刘婧 bft 中级"))
    assert h.last_text(organizer) == ZH(
        "{name} is not a candidate in the selection, so nothing was recorded or changed."
    ).format(name="刘婧")
    assert await result_rows(h.db) == before


async def test_result_by_an_observer_or_a_cadre_is_refused(bot: Harness) -> None:
    h = bot
    before = await result_rows(h.db)
    for name in ("林国栋", "王思远"):
        who = await user(h.db, name)
        await h.send(h.updates.command(who, "/result 王思远 bft 初级"))
        assert h.last_text(who) == ZH("Only organizers can do this.")
    assert await result_rows(h.db) == before


async def test_roster_results_land_in_the_record_with_their_source(db: Database) -> None:
    await load_sample(db)
    rows = await result_rows(db)
    assert len(rows) == 12 + 11 + 23
    liu = await by_name(db, "刘婧")
    results = await results_of(db, liu.id)
    assert [(r.test_key, r.value, r.source) for r in results] == [
        ("english-1", "88", ResultSource.ROSTER),
        ("bft", "advanced", ResultSource.ROSTER),
    ]
    assert all(r.entered_by is None for r in results)
    events = await audit(db, "selection.result")
    assert len(events) == 46
    assert {e.details["source"] for e in events} == {"roster"}
    assert {e.details["file"] for e in events} == {SAMPLE_ROSTER.name}


async def test_roster_reimport_audits_only_what_changed(db: Database, tmp_path: Path) -> None:
    await load_sample(db)
    changed = tmp_path / "roster.csv"
    text = SAMPLE_ROSTER.read_text(encoding="utf-8-sig")
    changed.write_text(text.replace(",1,86.5,高级,", ",1,87,高级,"), encoding="utf-8-sig")
    later = datetime(2014, 3, 20, tzinfo=UTC)
    result = await import_roster(db, SAMPLE_ID, changed, now=later)
    assert result.results == 1
    events = await audit(db, "selection.result")
    assert len(events) == 47
    assert (events[-1].details["name"], events[-1].details["previous"]) == ("王思远", "86.5")
    assert events[-1].details["value"] == "87"
    assert events[-1].at == later


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        (
            ",1,86.5,高级,",
            ",1,186.5,高级,",
            "english_score 186.5 is outside english-1's range 0-100",
        ),
        (",1,86.5,高级,", ",3,86.5,高级,", "english_score of test_batch 3 belongs to no test"),
        (",1,86.5,高级,", ",1,86.5,特级,", "bft_level '特级' is not one of 初级, 中级, 高级"),
    ],
)
async def test_roster_with_a_bad_result_is_refused_with_its_line(
    db: Database, tmp_path: Path, old: str, new: str, reason: str
) -> None:
    await load_sample(db)
    before = await result_rows(db)
    bad = tmp_path / "roster.csv"
    bad.write_text(
        SAMPLE_ROSTER.read_text(encoding="utf-8-sig").replace(old, new), encoding="utf-8-sig"
    )
    with pytest.raises(RosterError) as caught:
        await import_roster(db, SAMPLE_ID, bad)
    assert [str(p) for p in caught.value.problems] == [
        f"roster.csv:2: {reason}" + (" in the programme file" if "belongs" in reason else "")
    ]
    assert await result_rows(db) == before
    assert (await by_name(db, "王思远")).english_score == 86.5


async def test_ranking_puts_levels_first_then_the_score_whatever_the_batch(
    db: Database,
) -> None:
    await load_sample(db)
    async with db.read() as session:
        ranking = await ranked(session, SAMPLE_ID)
    names = [c.name for c in ranking.candidates]
    # The fifteen with the BFT advanced certificate first, each group by English score.
    assert names[:4] == ["刘婧", "王思远", "周琳", "罗雅琴"]
    assert names[14:16] == ["马骁", "曾丽"]
    assert names[-1] == "胡斌"
    assert ranking.places == 13
    assert (ranking.selected, ranking.not_selected, ranking.undecided) == (13, 10, 0)


async def test_results_of_a_person_read_for_a_dossier_with_who_entered_them(
    bot: Harness,
) -> None:
    h = bot
    organizer = await user(h.db, ORGANIZER)
    await h.send(h.updates.command(organizer, "/result 曾丽 bft 高级"))
    zeng = await by_name(h.db, "曾丽")
    lines = render_results(await results_of(h.db, zeng.id), "Asia/Shanghai", ZH)
    assert lines == [
        "• "
        + ZH("{result} (entered by {by}, {when})").format(
            result=ZH("{test} {value}").format(test="英语水平测试(第一批)", value="72"),
            by=ZH("roster import"),
            when=ZH.full(ENROLLED, "Asia/Shanghai"),
        ),
        "• "
        + ZH("{result} (entered by {by}, {when})").format(
            result=ZH("{test} {value}").format(test="BFT外语考试", value="高级"),
            by=ORGANIZER,
            when=ZH.full(AFTERNOON, "Asia/Shanghai"),
        ),
    ]
    assert render_results([], "Asia/Shanghai", ZH) == [ZH("No test results recorded.")]


async def test_selection_figures_for_the_report_and_the_workbook(db: Database) -> None:
    await load_sample(db)
    figures = await selection_figures(db, SAMPLE_ID)
    assert figures == SelectionFigures(
        candidates=23,
        tested=23,
        shortlisted=23,
        selected=13,
        not_selected=10,
        withdrawn=0,
        places=13,
    )


async def test_a_programme_without_tests_or_candidates_says_so(harness: Harness) -> None:
    h = harness
    await h.enrol(ORGANIZER_CHEN)
    await h.send(h.updates.command(ORGANIZER_CHEN, "/result 张伟 bft 高级"))
    assert h.last_text(ORGANIZER_CHEN) == ZH(
        "This programme declares no tests (the programme file's selection.tests)."
    )
    await h.send(h.updates.command(ORGANIZER_CHEN, "/select"))
    assert h.last_text(ORGANIZER_CHEN) == ZH(
        "There is nobody to select: no candidates are on the roster."
    )
    await h.send(h.updates.command(ORGANIZER_CHEN, "/candidates"))
    ranking = h.last_text(ORGANIZER_CHEN)
    assert "张伟" in ranking and ZH("no results yet") in ranking
