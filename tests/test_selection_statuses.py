"""Statuses decide who gets what, across every phase of the sample programme: for each
status, exactly the sessions, check-in prompts, deadline reminders and digest lines."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from liaison.bot.sandbox.fake_updates import FakeUser
from liaison.services.checkins.planning import plan_checkins
from liaison.services.clock import FakeClock
from liaison.services.digest import build_digest
from liaison.services.people import actor_from
from liaison.services.programmes.loading import plan_programme
from liaison.services.schedule import View, schedule_for
from liaison.services.submissions.reminders import plan_deadlines
from liaison.storage.database import Database
from liaison.storage.enums import OutboxKind, PersonStatus, RunState
from liaison.storage.models import Assignment, OutboxMessage, Person, Programme, SurveyRun
from liaison.ui.digest import render_digest
from liaison.ui.i18n import translator
from tests.conftest import Harness
from tests.selection_support import (
    ORGANIZER,
    SAMPLE_ID,
    SAMPLE_PROGRAMME,
    enrol,
    fake_user,
    load_sample,
    sample_harness,
    set_statuses,
)

# One cadre of the sample roster in each status.
STATUSES = {
    "王思远": PersonStatus.CANDIDATE,
    "李晓雯": PersonStatus.SHORTLISTED,
    "张宏伟": PersonStatus.SELECTED,
    "罗雅琴": PersonStatus.NOT_SELECTED,
    "刘婧": PersonStatus.ACTIVE,
    "陈浩然": PersonStatus.WITHDRAWN,
    "杨帆": PersonStatus.RETURNED,
}
BY_STATUS = {status: name for name, status in STATUSES.items()}
PLAN = plan_programme(SAMPLE_PROGRAMME)


def sessions_of(*phases: str) -> set[str]:
    return {s.key for s in PLAN.sessions if s.phase in phases}


COHORT_PHASES = ("domestic", "theory", "practicum", "return")
ALL_ASSIGNMENTS = {a.key for a in PLAN.assignments}
EXPECTED_SESSIONS = {
    PersonStatus.CANDIDATE: sessions_of("selection"),
    PersonStatus.SHORTLISTED: sessions_of("selection"),
    PersonStatus.SELECTED: sessions_of(*COHORT_PHASES),
    PersonStatus.ACTIVE: sessions_of(*COHORT_PHASES),
    PersonStatus.RETURNED: sessions_of("return"),
    PersonStatus.NOT_SELECTED: set(),
    PersonStatus.WITHDRAWN: set(),
}
# The sample's check-in runs in the theory month and the practicum.
PROMPTED = {PersonStatus.SELECTED, PersonStatus.ACTIVE}
EXPECTED_REMINDERS = {
    PersonStatus.SELECTED: ALL_ASSIGNMENTS,
    PersonStatus.ACTIVE: ALL_ASSIGNMENTS,
    PersonStatus.RETURNED: {"research-paper"},
}
# Tuesdays at 20:05 in North Carolina (Wednesday 00:05 or 01:05 UTC), one in each phase.
TUESDAYS = {
    "selection": datetime(2014, 3, 12, 0, 5, tzinfo=UTC),
    "domestic": datetime(2014, 8, 20, 0, 5, tzinfo=UTC),
    "theory": datetime(2014, 9, 3, 0, 5, tzinfo=UTC),
    "practicum": datetime(2014, 10, 8, 0, 5, tzinfo=UTC),
    "return": datetime(2014, 12, 3, 1, 5, tzinfo=UTC),
}


@pytest.fixture
async def sample(db: Database) -> Database:
    await load_sample(db)
    await set_statuses(db, STATUSES)
    await enrol(db, [*STATUSES, ORGANIZER])
    return db


async def people(db: Database) -> dict[str, Person]:
    async with db.read() as session:
        return {p.name: p for p in await session.scalars(select(Person))}


async def test_schedule_each_status_sees_exactly_its_sessions_across_the_programme(
    sample: Database,
) -> None:
    async with sample.read() as session:
        programme = await session.get_one(Programme, SAMPLE_ID)
    everyone = await people(sample)
    now = datetime(2014, 3, 1, tzinfo=UTC)
    for name, status in STATUSES.items():
        actor = actor_from(everyone[name], programme)
        seen: set[str] = set()
        monday = date(2014, 2, 24)
        while monday < date(2015, 1, 5):
            result = await schedule_for(sample, actor, now, View.WEEK, monday)
            seen |= {item.key for item in result.sessions}
            monday += timedelta(days=7)
        assert seen == EXPECTED_SESSIONS[status], status


async def test_schedule_staff_see_every_session_whatever_the_audience(sample: Database) -> None:
    async with sample.read() as session:
        programme = await session.get_one(Programme, SAMPLE_ID)
    organizer = actor_from((await people(sample))[ORGANIZER], programme)
    result = await schedule_for(
        sample, organizer, datetime(2014, 3, 1, tzinfo=UTC), View.DAY, date(2014, 7, 29)
    )
    assert [s.key for s in result.sessions] == ["final-selection"]


async def test_checkin_prompts_across_the_phases_go_to_the_selected_and_active_only(
    sample: Database,
) -> None:
    for now in TUESDAYS.values():
        await plan_checkins(sample, now)
    async with sample.read() as session:
        runs = (
            await session.execute(
                select(Person.name, SurveyRun.slot_date).join(
                    Person, Person.id == SurveyRun.person_id
                )
            )
        ).all()
        prompts = list(
            await session.scalars(
                select(Person.name)
                .join(OutboxMessage, OutboxMessage.person_id == Person.id)
                .where(OutboxMessage.kind == OutboxKind.CHECKIN_PROMPT)
            )
        )
    prompted = {BY_STATUS[status] for status in PROMPTED}
    assert {name for name, _day in runs} == prompted
    assert {day for _name, day in runs} == {date(2014, 9, 2), date(2014, 10, 7)}
    assert sorted(prompts) == sorted([*prompted, *prompted])


async def test_deadline_reminders_follow_the_status(sample: Database) -> None:
    async with sample.read() as session:
        assignments = list(await session.scalars(select(Assignment)))
    for assignment in assignments:
        await plan_deadlines(sample, assignment.due_at - timedelta(hours=23))
    keys = {a.id: a.key for a in assignments}
    async with sample.read() as session:
        rows = await session.execute(
            select(Person.name, OutboxMessage.payload)
            .join(OutboxMessage, OutboxMessage.person_id == Person.id)
            .where(OutboxMessage.kind == OutboxKind.DEADLINE_REMINDER)
        )
        got: dict[str, set[str]] = {}
        for name, payload in rows:
            got.setdefault(name, set()).add(keys[payload["assignment_id"]])
    expected = {BY_STATUS[status]: keys for status, keys in EXPECTED_REMINDERS.items()}
    assert got == expected


async def test_digest_lists_as_overdue_only_those_the_work_is_for(sample: Database) -> None:
    # The morning after the research paper's due day: everything is overdue for someone.
    digest = await build_digest(sample, SAMPLE_ID, datetime(2014, 12, 12, 0, 0, tzinfo=UTC))
    overdue: dict[str, set[str]] = {}
    titles = {a.title_zh: a.key for a in PLAN.assignments}
    for group in digest.overdue:
        for name in group.missing:
            overdue.setdefault(name, set()).add(titles[group.title_zh])
    assert overdue == {BY_STATUS[status]: keys for status, keys in EXPECTED_REMINDERS.items()}
    assert digest.selection is None
    async with sample.read() as session:
        organizer = actor_from(
            (await people(sample))[ORGANIZER], await session.get_one(Programme, SAMPLE_ID)
        )
    text = render_digest(digest, organizer, translator("zh_CN"))
    for name, status in STATUSES.items():
        assert (name in text) == (status in EXPECTED_REMINDERS), name


async def test_digest_silence_and_unreachable_lines_leave_out_those_no_longer_followed(
    sample: Database,
) -> None:
    await plan_checkins(sample, TUESDAYS["theory"])
    async with sample.transaction() as session:
        for person in await session.scalars(select(Person)):
            if person.name in STATUSES:
                person.unreachable_at = TUESDAYS["theory"]
    digest = await build_digest(sample, SAMPLE_ID, datetime(2014, 9, 6, 0, 0, tzinfo=UTC))
    gone = {PersonStatus.WITHDRAWN, PersonStatus.NOT_SELECTED}
    # Silence needs days without an answer (services/cohort.py); whoever is silent here,
    # nobody the programme no longer follows is among them.
    assert not {p.name for p in digest.silent} & {n for n, s in STATUSES.items() if s in gone}
    assert {p.name for p in digest.unreachable} == {n for n, s in STATUSES.items() if s not in gone}


async def test_digest_during_the_selection_speaks_of_the_selection(sample: Database) -> None:
    # Monday 10 March 2014, 08:00 in Chengdu: batch 2 sits its test on Saturday.
    digest = await build_digest(sample, SAMPLE_ID, datetime(2014, 3, 10, 0, 0, tzinfo=UTC))
    part = digest.selection
    assert part is not None
    assert [t.title_en for t in part.tests_ahead] == ["English proficiency test (batch 2)"]
    assert [(r.title_en, r.total) for r in part.results] == [
        ("English test, batch 1", 12),
        ("English test, batch 2", 11),
        ("BFT exam", 23),
    ]
    # The rest of the sample roster keeps its statuses: 10 not selected in all.
    assert (part.undecided, part.selected, part.not_selected, part.places) == (2, 1, 10, 13)
    async with sample.read() as session:
        organizer = actor_from(
            (await people(sample))[ORGANIZER], await session.get_one(Programme, SAMPLE_ID)
        )
    zh = translator("zh_CN")
    text = render_digest(digest, organizer, zh)
    assert zh("Tests in the coming week:") in text
    assert "英语水平测试(第二批)" in text
    tally = zh(
        "Still to decide: {left}; selected {selected} of {places} places, not selected "
        "{not_selected}."
    )
    assert tally.format(left=2, selected=1, places=13, not_selected=10) in text


@pytest.fixture
async def bot(sqlite_db: Database, tmp_path: Path) -> AsyncIterator[Harness]:
    clock = FakeClock(datetime(2014, 7, 29, 1, 0, tzinfo=UTC))
    async with sample_harness(sqlite_db, clock, tmp_path) as harness:
        await set_statuses(harness.db, STATUSES)
        await enrol(harness.db)
        yield harness


async def cadre(h: Harness, name: str) -> FakeUser:
    async with h.db.read() as session:
        found = await session.scalar(select(Person).where(Person.name == name))
    assert found is not None
    return fake_user(found)


async def test_schedule_through_the_bot_shows_the_selection_to_candidates_only(
    bot: Harness,
) -> None:
    h = bot
    en = translator("en")
    for name, shown in (("王思远", True), ("张宏伟", False), ("罗雅琴", False)):
        who = await cadre(h, name)
        await h.send(h.updates.command(who, "/schedule week"))
        text = h.last_text(who)
        t = en if who.language_code == "en" else translator("zh_CN")
        assert ("确定13名最终培训对象" in text) is shown, name
        assert (t("No sessions this week.") in text) is not shown, name


async def test_submission_commands_offer_only_the_work_the_status_is_for(bot: Harness) -> None:
    h = bot
    zh = translator("zh_CN")
    h.clock.set(datetime(2014, 8, 20, 2, 0, tzinfo=UTC))  # the pre-departure research is open
    candidate, selected = await cadre(h, "王思远"), await cadre(h, "张宏伟")
    await h.send(h.updates.command(candidate, "/research"))
    assert h.last_text(candidate) == zh("No pre-departure research is open for you right now.")
    await h.send(h.updates.command(selected, "/research"))
    assert h.last_text(selected).startswith(
        zh("Which pre-departure research do you want to submit?")
    )


async def test_a_run_planned_before_a_withdrawal_is_not_chased(sample: Database) -> None:
    slot = TUESDAYS["theory"] - timedelta(minutes=5)
    planned = await plan_checkins(sample, slot)
    await set_statuses(sample, {"刘婧": PersonStatus.WITHDRAWN})
    async with sample.transaction() as session:
        for run in await session.scalars(select(SurveyRun)):
            run.state = RunState.SENT
    reminded = await plan_checkins(sample, slot + timedelta(hours=3))
    escalated = await plan_checkins(sample, slot + timedelta(hours=20))
    closed = await plan_checkins(sample, slot + timedelta(hours=24))
    # Both reminders are planned with the prompts (刘婧's is dropped when it is rendered);
    # only 张宏伟 (selected) is escalated; 刘婧's run just closes.
    assert (planned.reminders, reminded.reminders) == (2, 0)
    assert (escalated.escalations, closed.closed_as_missed) == (1, 2)
