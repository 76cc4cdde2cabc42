"""The demo's past: the sample cohort's last weeks, made through the real services.

The planner ticks at the times it would have, cadres answer check-ins and hand in reports
through the same use cases the bot calls, organizers note their calls and review; a
seeded random makes it realistic and the same every time: most check-ins answered, some
late, a cadre gone quiet for three check-ins, a low-wellbeing alert with call notes,
reports on time and late, one already reviewed. Every organizer view then has something
true to show when the demo starts.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from importlib.resources import files
from pathlib import Path

from sqlalchemy import select

from liaison.sender.outbox_sender import OutboxSender
from liaison.services.audience import is_followed
from liaison.services.checkins import conversation as flow
from liaison.services.checkins.notes import add_note
from liaison.services.checkins.planning import plan_checkins
from liaison.services.checkins.views import open_run
from liaison.services.clock import FakeClock
from liaison.services.people import Actor, actor_by_id
from liaison.services.reviews import review as reviews
from liaison.services.submissions.drafts import add_text, start_draft
from liaison.services.submissions.reminders import plan_deadlines
from liaison.services.submissions.versions import submit
from liaison.services.timezones import zone
from liaison.storage.database import Database
from liaison.storage.enums import ReviewDecision, Role
from liaison.storage.models import Assignment, Person, Submission, SurveyRun

SEED = 2014
HOST = "America/New_York"
# The planner's ticks and the check-ins are played for the last two weeks (what the
# digest's chart shows); the reports of late September are handed in at their dates.
FIRST_DAY = date(2014, 10, 14)
ENROLLED_AT = datetime(2014, 8, 15, 1, 0, tzinfo=UTC)  # before the domestic phase
SLOT = time(20, 0)
CHECKIN_DAYS = (1, 4)  # Tuesday, Friday
# Who does what, by name in the sample roster.
QUIET = "黄俊杰"  # stops answering after 14 October
QUIET_SINCE = date(2014, 10, 17)
UNWELL = "杨帆"  # wellbeing 2 and asks for help on Friday 24 October
UNWELL_DAY = date(2014, 10, 24)
NEVER_SUBMITS = "马骁"
SUBMITS_LATE = "徐静怡"
EARLY_SECOND_REPORT = ("周琳", "王思远", "刘婧")
REVIEWED = "王思远"
LEAD = "郑红"  # organizer, reviews and calls
CALLER = "何嘉文"  # organizer in charge of phone interviews

PROGRESS = (
    "今天在岗位上参与了招商项目材料的整理，学到很多。",
    "上午听课，下午参加了案例讨论，收获较大。",
    "跟随带教老师走访了两家企业，了解了他们的服务流程。",
    "本周主要在整理调研笔记，准备阶段汇报。",
    "参加了社区志愿活动，和当地居民交流很有意思。",
    "实训单位安排了专题会议，我做了简短发言。",
)
REPORT = (
    "一、主要收获\n本阶段系统学习了美国地方政府产业政策和现代服务业发展经验。\n"
    "二、对照行前问题的思考\n{topic}\n三、下一阶段计划\n结合实训岗位，继续深入调研。"
)
PREDEPARTURE = (
    "调研专题：锦江区现代商贸业转型升级。\n带到美国研究的问题：一、商业街区如何更新；"
    "二、政府如何服务中小商户；三、如何吸引总部经济。"
)
TOPICS = (
    "商业街区更新中政府与业主的协作机制值得锦江借鉴。",
    "金融服务业集聚需要完善的配套和人才政策。",
    "文化创意产业的孵化离不开社区和高校的参与。",
)


def local(day: date, at: time) -> datetime:
    return datetime.combine(day, at, tzinfo=zone(HOST)).astimezone(UTC)


@dataclass(order=True)
class Event:
    at: datetime
    order: int
    run: Callable[[], Awaitable[None]] = field(compare=False)


@dataclass
class History:
    db: Database
    clock: FakeClock
    sender: OutboxSender
    data_dir: Path
    until: datetime
    people: dict[str, int] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    # Not for secrets: a seeded generator makes the same past every time.
    rng: random.Random = field(default_factory=lambda: random.Random(SEED))  # noqa: S311

    def at(self, instant: datetime, run: Callable[[], Awaitable[None]]) -> None:
        if instant < self.until:
            self.events.append(Event(instant, len(self.events), run))

    async def actor(self, name: str) -> Actor:
        found = await actor_by_id(self.db, self.people[name])
        assert found is not None
        return found

    # The clock's work ---------------------------------------------------------------
    async def tick(self) -> None:
        """The planner's check-ins and deadlines, then the sender; digests are left out
        (each draws a chart: the digest the demo shows is made when asked)."""
        now = self.clock.now()
        await plan_checkins(self.db, now)
        await plan_deadlines(self.db, now)
        for _ in range(20):
            report = await self.sender.run_once()
            if not (report.sent or report.expired or report.skipped or report.unreachable):
                break

    # What people do ----------------------------------------------------------------
    async def answer(self, name: str, wellbeing: int, difficulty: str, help_: bool) -> None:
        person, now = self.people[name], self.clock.now()
        run = await open_run(self.db, person, now)
        assert run is not None
        await flow.answer(self.db, person, run.run_id, 0, str(wellbeing), now)
        await flow.answer(self.db, person, run.run_id, 1, self.rng.choice(PROGRESS), now)
        await flow.answer(self.db, person, run.run_id, 2, difficulty, now)
        await flow.answer(self.db, person, run.run_id, 3, "yes" if help_ else "no", now)
        await flow.skip(self.db, person, run.run_id, 4, now)
        await flow.confirm(self.db, person, run.run_id, now)

    async def note(self, organizer: str, name: str, day: date, text: str) -> None:
        async with self.db.read() as session:
            run_id = await session.scalar(
                select(SurveyRun.id).where(
                    SurveyRun.person_id == self.people[name], SurveyRun.slot_date == day
                )
            )
        assert run_id is not None
        await add_note(self.db, await self.actor(organizer), run_id, text, self.clock.now())

    async def hand_in(self, name: str, key: str, text: str) -> None:
        actor, now = await self.actor(name), self.clock.now()
        async with self.db.read() as session:
            assignment = await session.scalar(select(Assignment.id).where(Assignment.key == key))
        assert assignment is not None
        draft = await start_draft(self.db, actor, assignment, now)
        await add_text(self.db, actor.person_id, text, now)
        await submit(self.db, self.data_dir, actor.person_id, draft.id, now)

    async def review(
        self, organizer: str, name: str, key: str, scores: list[int], feedback: str | None
    ) -> None:
        actor, now = await self.actor(organizer), self.clock.now()
        async with self.db.read() as session:
            submission = await session.scalar(
                select(Submission.id)
                .join(Assignment, Assignment.id == Submission.assignment_id)
                .where(
                    Submission.person_id == self.people[name],
                    Assignment.key == key,
                )
            )
        assert submission is not None
        await reviews.claim(self.db, actor, submission, now)
        for index, points in enumerate(scores):
            await reviews.score(self.db, actor, submission, index, points, now)
        if feedback:
            await reviews.set_feedback(
                self.db, self.data_dir, actor, submission, now, text=feedback
            )
        await reviews.decide(self.db, actor, submission, ReviewDecision.ACCEPTED, now)


def _plan(history: History, cadres: list[str]) -> None:
    rng = history.rng
    day = FIRST_DAY
    end = history.until.astimezone(zone(HOST)).date()
    while day <= end:
        if day.weekday() in CHECKIN_DAYS:
            slot = local(day, SLOT)
            for offset in (timedelta(0), timedelta(hours=3, minutes=1)):
                history.at(slot + offset, history.tick)
            for offset in (timedelta(hours=20, minutes=1), timedelta(hours=24, minutes=1)):
                history.at(slot + offset, history.tick)
            for name in cadres:
                _checkin(history, rng, name, day, slot)
        day += timedelta(days=1)
    # The calls organizers made, noted against the check-in that prompted them.
    history.at(
        local(UNWELL_DAY, time(21, 30)),
        lambda: history.note(
            LEAD,
            UNWELL,
            UNWELL_DAY,
            "已电话联系：感冒发烧两天，已就医，室友照顾，明天可正常参加实训。",
        ),
    )
    history.at(
        local(date(2014, 10, 22), time(18, 30)),
        lambda: history.note(
            CALLER, QUIET, date(2014, 10, 21), "两次电话未接通，已发短信请其回电。"
        ),
    )
    # Pre-departure research (due 27 August, Chengdu time): everyone, before leaving.
    for index, name in enumerate(cadres):
        history.at(
            datetime(2014, 8, 24, 2, tzinfo=UTC) + timedelta(hours=5 * index),
            partial(history.hand_in, name, "predeparture-research", PREDEPARTURE),
        )
        history.at(
            datetime(2014, 8, 29, 2, tzinfo=UTC) + timedelta(minutes=10 * index),
            partial(history.review, LEAD, name, "predeparture-research", [], None),
        )
    # Stage report 1 (due 30 September, 22:00): most on time, one late, one never.
    for index, name in enumerate(cadres):
        if name == NEVER_SUBMITS:
            continue
        when = local(date(2014, 10, 2), time(9, 40))
        if name != SUBMITS_LATE:
            when = local(date(2014, 9, 27), time(10)) + timedelta(hours=7 * index)
        text = REPORT.format(topic=TOPICS[index % len(TOPICS)])
        history.at(
            when,
            partial(history.hand_in, name, "stage-report-theory", text),
        )
    for index, name in enumerate(EARLY_SECOND_REPORT):
        text = REPORT.format(topic=TOPICS[(index + 1) % len(TOPICS)])
        history.at(
            local(date(2014, 10, 26), time(15)) + timedelta(hours=9 * index),
            partial(history.hand_in, name, "stage-report-practicum", text),
        )
    history.at(
        local(date(2014, 10, 2), time(21)),
        lambda: history.review(
            LEAD,
            REVIEWED,
            "stage-report-theory",
            [5, 4, 4],
            "总结全面，对照行前问题的思考很到位；建议下一阶段补充具体数据。",
        ),
    )


def _checkin(history: History, rng: random.Random, name: str, day: date, slot: datetime) -> None:
    if name == QUIET and day >= QUIET_SINCE:
        return
    if name == UNWELL and day == UNWELL_DAY:
        when = slot + timedelta(minutes=rng.randint(20, 90))
        history.at(when, lambda: history.answer(name, 2, "health", True))
        return
    if rng.random() < 0.05:
        return  # missed: the planner records it and tells the organizers
    late = rng.random() < 0.15
    delay = rng.randint(200, 600) if late else rng.randint(5, 150)
    wellbeing = rng.choices([3, 4, 5], weights=[2, 5, 3])[0]
    difficulty = rng.choices(["none", "study", "life"], weights=[8, 1, 1])[0]
    history.at(
        slot + timedelta(minutes=delay),
        lambda: history.answer(name, wellbeing, difficulty, False),
    )


async def build_history(
    db: Database, clock: FakeClock, sender: OutboxSender, data_dir: Path, until: datetime
) -> None:
    """Plays the cohort's weeks up to ``until``; the clock is left there."""
    history = History(db, clock, sender, data_dir, until)
    async with db.read() as session:
        people = list(await session.scalars(select(Person).order_by(Person.id)))
    history.people = {p.name: p.id for p in people}
    # The cohort abroad: the candidates who were not selected have no part in it.
    cadres = [p.name for p in people if p.role is Role.CADRE and is_followed(p.status)]
    _plan(history, cadres)
    for event in sorted(history.events):
        clock.set(event.at)
        await event.run()
    clock.set(until)
    await history.tick()


# What the past is made of: a change to any of these makes a new one.
SOURCES = (
    "liaison.services",
    "liaison.storage",
    "liaison.sender",
    "liaison.ui",
    "liaison.bot.sandbox",
    "liaison.examples",
)


def fingerprint() -> str:
    """A short hash of the code and files the past is played with, to name a saved copy."""
    digest = hashlib.sha256()
    for package in SOURCES:
        root = Path(str(files(package)))
        for path in sorted(root.rglob("*")):
            if path.is_file() and path.suffix in (".py", ".yaml", ".csv", ".po"):
                digest.update(f"{package}/{path.relative_to(root).as_posix()}".encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]
