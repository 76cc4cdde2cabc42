"""Helpers for the organizers' workspace tests: the observer, answering and submitting."""

from __future__ import annotations

from sqlalchemy import select

from liaison.bot.sandbox.fake_updates import FakeUser
from liaison.storage.models import Assignment, Person, SubmissionDraft, SurveyRun
from liaison.ui.callbacks import CheckinButton, SubmissionButton
from tests.conftest import Harness

OBSERVER_ZHAO = FakeUser(701, "赵", "zh-hans")
OBSERVER_PHONE = "8613900003001"


async def enrol_observer(h: Harness) -> None:
    await h.send(h.updates.contact(OBSERVER_ZHAO, OBSERVER_PHONE, contact_user_id=OBSERVER_ZHAO.id))


async def person_id(h: Harness, name: str) -> int:
    async with h.db.read() as session:
        found = await session.scalar(select(Person.id).where(Person.name == name))
    assert found is not None
    return found


async def open_run(h: Harness, name: str) -> SurveyRun:
    """The person's latest run."""
    pid = await person_id(h, name)
    async with h.db.read() as session:
        run = await session.scalar(
            select(SurveyRun).where(SurveyRun.person_id == pid).order_by(SurveyRun.id.desc())
        )
    assert run is not None
    return run


async def answer_checkin(
    h: Harness, user: FakeUser, name: str, wellbeing: int, need_help: str = "no"
) -> SurveyRun:
    """Answers the test programme's four questions and confirms."""
    run = await open_run(h, name)
    for data in (
        CheckinButton(run.id, 0, "g").encode(),
        CheckinButton(run.id, 0, "a", str(wellbeing)).encode(),
    ):
        await h.send(h.updates.callback(user, data))
    await h.send(h.updates.text(user, "一切顺利"))
    for data in (
        CheckinButton(run.id, 2, "a", need_help).encode(),
        CheckinButton(run.id, 3, "s").encode(),
        CheckinButton(run.id, 4, "c").encode(),
    ):
        await h.send(h.updates.callback(user, data))
    return run


async def assignment_id(h: Harness, key: str = "stage-1") -> int:
    async with h.db.read() as session:
        found = await session.scalar(select(Assignment.id).where(Assignment.key == key))
    assert found is not None
    return found


async def submit_report(h: Harness, user: FakeUser, text: str = "报告正文") -> None:
    """Submits the stage report as text through /report's buttons."""
    await h.send(h.updates.callback(user, SubmissionButton("p", await assignment_id(h)).encode()))
    await h.send(h.updates.text(user, text))
    async with h.db.read() as session:
        draft = await session.scalar(select(SubmissionDraft.id))
    assert draft is not None
    await h.send(h.updates.callback(user, SubmissionButton("s", draft).encode()))


OTHER_ORGANIZER = FakeUser(801, "Other", "en")


async def other_programme_organizer(h: Harness) -> None:
    """An enrolled organizer of a second programme, who must see nothing of this one."""
    from datetime import UTC, datetime

    from liaison.storage.enums import Role
    from liaison.storage.models import Programme

    async with h.db.transaction() as session:
        session.add(
            Programme(
                id="other-prog",
                title_zh="另一项目",
                title_en="Other programme",
                home_timezone="Asia/Shanghai",
                host_timezone="Europe/London",
                default_locale="en",
                settings={},
            )
        )
        await session.flush()
        session.add(
            Person(
                programme_id="other-prog",
                name="Other Organizer",
                phone="+8613900009999",
                role=Role.ORGANIZER,
                locale="en",
                telegram_user_id=OTHER_ORGANIZER.id,
                telegram_chat_id=OTHER_ORGANIZER.id,
                enrolled_at=datetime(2026, 9, 1, tzinfo=UTC),
            )
        )
