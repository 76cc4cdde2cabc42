"""What the results report is made of: the programme in figures and one record per cadre.

One read, a fixed number of queries whatever the size of the cohort (people, phases,
sessions, surveys and their scale questions, runs, wellbeing answers, test results,
assignments, submissions with their reviews): nothing is asked per cadre or per row.
No formatting here: instants stay aware UTC, texts keep both languages; ui/report_docx.py
lays the report out in the reader's language and zone.

Definitions the report states on its pages:

* the cohort is the cadres selected for the programme (selected, active, returned) and
  those who withdrew after a check-in or a submission: each gets an evaluation page;
* a check-in is *asked* once its slot has passed and its prompt went out (any state but
  ``due``); *answered* when completed; *within the window* when completed before it
  closed; *on time* when completed before the reminder would go (the digest's rule);
* the delay of an answer is the time from the slot to the completion; the report gives
  the median of a cadre's delays;
* wellbeing is the survey's scale question keyed ``wellbeing``, else its first scale
  question (the cohort view's rule); a survey without one gives no wellbeing chart;
* a paper is the latest version each cadre submitted of each research-paper assignment;
* the host place is where most sessions of the abroad phases were held.
"""

from __future__ import annotations

import asyncio
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select

from liaison.services.cohort import WELLBEING_KEY
from liaison.services.exports.records import ProgrammeInfo
from liaison.services.exports.records import programme_info as load_programme_info
from liaison.services.reviews.rubric import Criterion, rubric_of
from liaison.services.selection.figures import CHOSEN, SelectionFigures, selection_figures
from liaison.services.selection.results import ResultView, results_by_person
from liaison.services.timezones import zone
from liaison.storage.database import Database
from liaison.storage.enums import (
    AssignmentKind,
    Location,
    PersonStatus,
    QuestionKind,
    ReviewStatus,
    Role,
    RunState,
)
from liaison.storage.models import (
    Assignment,
    Person,
    Phase,
    Review,
    Session,
    Submission,
    Survey,
    SurveyAnswer,
    SurveyQuestion,
    SurveyRun,
)


@dataclass(frozen=True)
class PhaseSummary:
    key: str
    title_zh: str
    title_en: str
    location: Location
    starts_on: date
    ends_on: date
    sessions: int
    held: int  # sessions over by the time of the report
    places: list[str]  # where its sessions were, most used first


@dataclass(frozen=True)
class CheckinTally:
    """Check-ins of one cadre, or of the whole cohort."""

    asked: int = 0
    answered: int = 0
    within_window: int = 0
    on_time: int = 0
    missed: int = 0
    escalated: int = 0
    median_delay: timedelta | None = None

    @property
    def rate(self) -> float | None:
        return self.answered / self.asked if self.asked else None


@dataclass(frozen=True)
class WeekTally:
    """Check-ins asked and answered in one week (Monday, in the host zone)."""

    week: date
    asked: int
    answered: int


@dataclass(frozen=True)
class WellbeingPoint:
    slot_at: datetime
    value: int


@dataclass(frozen=True)
class Note:
    """An organizer's notes of a call, kept against the check-in that prompted it."""

    slot_at: datetime
    timezone: str
    survey_title_zh: str
    survey_title_en: str
    text: str


@dataclass(frozen=True)
class CriterionScore:
    criterion: Criterion
    points: int | None


@dataclass(frozen=True)
class SubmissionReport:
    id: int
    person_id: int
    person_name: str
    assignment_key: str
    kind: AssignmentKind
    assignment_title_zh: str
    assignment_title_en: str
    version: int
    title: str | None
    abstract: str | None
    submitted_at: datetime
    timezone: str  # the assignment's zone
    late: bool
    status: ReviewStatus
    score: float | None
    criteria: list[CriterionScore]
    feedback: str | None
    reviewer: str | None
    reviewed_at: datetime | None


@dataclass(frozen=True)
class CadreReport:
    id: int
    name: str
    unit: str | None
    position: str | None
    status: PersonStatus
    timezone: str
    test_batch: int | None
    english_score: float | None
    bft_level: str | None
    results: list[ResultView]
    checkins: CheckinTally
    # None: no survey of the programme has a scale question to read wellbeing from.
    wellbeing: list[WellbeingPoint] | None
    submissions: list[SubmissionReport]
    notes: list[Note]


@dataclass(frozen=True)
class ReportData:
    programme: ProgrammeInfo
    generated_at: datetime
    starts_on: date | None
    ends_on: date | None
    host_place: str | None
    phases: list[PhaseSummary]
    figures: SelectionFigures
    sessions_total: int
    sessions_held: int
    checkins: CheckinTally
    weeks: list[WeekTally]
    papers: list[SubmissionReport]
    cadres: list[CadreReport] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """Nothing has happened yet: no cadre, no check-in asked, nothing submitted."""
        return not self.cadres and not self.checkins.asked and not self.papers


PARTITION = 2000


@dataclass(frozen=True)
class _Run:
    """The columns of a check-in run the report reads."""

    id: int
    survey_id: int
    person_id: int
    slot_at: datetime
    closes_at: datetime
    timezone: str
    state: RunState
    completed_at: datetime | None
    escalated_at: datetime | None
    notes: str | None


_RUN_COLUMNS = (
    SurveyRun.id,
    SurveyRun.survey_id,
    SurveyRun.person_id,
    SurveyRun.slot_at,
    SurveyRun.closes_at,
    SurveyRun.timezone,
    SurveyRun.state,
    SurveyRun.completed_at,
    SurveyRun.escalated_at,
    SurveyRun.notes,
)


@dataclass(frozen=True)
class _Held:
    phase_id: int | None
    place: str | None
    ends_at: datetime


def _median(delays: list[timedelta]) -> timedelta | None:
    if not delays:
        return None
    return timedelta(seconds=statistics.median(d.total_seconds() for d in delays))


def _in_cohort(status: PersonStatus) -> bool:
    return status in CHOSEN


async def gather_report(db: Database, programme_id: str, now: datetime) -> ReportData:
    """Everything the results report shows, as of ``now``; UnknownProgramme if none."""
    async with db.read() as session:
        info = await load_programme_info(session, programme_id)
        phases = list(
            await session.scalars(
                select(Phase).where(Phase.programme_id == programme_id).order_by(Phase.starts_on)
            )
        )
        sessions = [
            _Held(phase_id, place, ends_at)
            for phase_id, place, ends_at in await session.execute(
                select(Session.phase_id, Session.place, Session.ends_at).where(
                    Session.programme_id == programme_id
                )
            )
        ]
        cadres = list(
            await session.scalars(
                select(Person)
                .where(Person.programme_id == programme_id, Person.role == Role.CADRE)
                .order_by(Person.id)
            )
        )
        ids = [p.id for p in cadres]
        surveys = {
            s.id: s
            for s in await session.scalars(
                select(Survey).where(Survey.programme_id == programme_id)
            )
        }
        wellbeing_keys: dict[int, str] = {}
        for survey_id, key in await session.execute(
            select(SurveyQuestion.survey_id, SurveyQuestion.key)
            .where(
                SurveyQuestion.survey_id.in_(list(surveys)),
                SurveyQuestion.kind == QuestionKind.SCALE,
            )
            .order_by(SurveyQuestion.position)
        ):
            if survey_id not in wellbeing_keys or key == WELLBEING_KEY:
                wellbeing_keys[survey_id] = key
        # Columns, not ORM objects, streamed in partitions with a yield between them: a
        # large cohort has tens of thousands of runs, and the bot must keep answering.
        runs: list[_Run] = []
        run_rows = await session.stream(
            select(*_RUN_COLUMNS)
            .where(SurveyRun.person_id.in_(ids), SurveyRun.survey_id.in_(list(surveys)))
            .order_by(SurveyRun.slot_at, SurveyRun.id)
        )
        async for partition in run_rows.partitions(PARTITION):
            runs.extend(_Run(*row) for row in partition)
            await asyncio.sleep(0)
        wellbeing: dict[int, int] = {}
        if wellbeing_keys:
            survey_of = {run.id: run.survey_id for run in runs}
            answer_rows = await session.stream(
                select(SurveyAnswer.run_id, SurveyAnswer.question_key, SurveyAnswer.value)
                .join(SurveyRun, SurveyRun.id == SurveyAnswer.run_id)
                .where(
                    SurveyRun.person_id.in_(ids),
                    SurveyAnswer.skipped.is_(False),
                    SurveyAnswer.question_key.in_(set(wellbeing_keys.values())),
                )
            )
            async for answers in answer_rows.partitions(PARTITION):
                for run_id, key, value in answers:
                    survey_id = survey_of.get(run_id)
                    shown = (value or "").strip()
                    if (
                        survey_id is not None
                        and wellbeing_keys.get(survey_id) == key
                        and shown.isdigit()
                    ):
                        wellbeing[run_id] = int(shown)
                await asyncio.sleep(0)
        results = await results_by_person(session, programme_id, ids) if ids else {}
        assignments = {
            a.id: a
            for a in await session.scalars(
                select(Assignment).where(Assignment.programme_id == programme_id)
            )
        }
        names = dict(
            (
                await session.execute(
                    select(Person.id, Person.name).where(Person.programme_id == programme_id)
                )
            )
            .tuples()
            .all()
        )
        submitted = (
            await session.execute(
                select(Submission, Review)
                .outerjoin(Review, Review.submission_id == Submission.id)
                .where(Submission.assignment_id.in_(list(assignments)))
                .order_by(Submission.person_id, Submission.submitted_at, Submission.version)
            )
        ).tuples()
        reports = [
            _submission(s, r, assignments[s.assignment_id], names) for s, r in submitted.all()
        ]
    figures = await selection_figures(db, programme_id)

    runs_by_person: dict[int, list[_Run]] = defaultdict(list)
    for run in runs:
        runs_by_person[run.person_id].append(run)
    submissions_by_person: dict[int, list[SubmissionReport]] = defaultdict(list)
    for report in reports:
        submissions_by_person[report.person_id].append(report)
    cohort = [
        p
        for p in cadres
        if _in_cohort(p.status)
        or (
            p.status is PersonStatus.WITHDRAWN
            and (runs_by_person[p.id] or submissions_by_person[p.id])
        )
    ]
    asked: dict[int, list[_Run]] = {
        person_id: [r for r in own if r.slot_at <= now and r.state is not RunState.DUE]
        for person_id, own in runs_by_person.items()
    }
    cohort_ids = {p.id for p in cohort}
    cadre_reports = [
        CadreReport(
            p.id,
            p.name,
            p.unit,
            p.position,
            p.status,
            p.timezone or info.host_timezone,
            p.test_batch,
            p.english_score,
            p.bft_level,
            results.get(p.id, []),
            _tally(asked.get(p.id, []), surveys),
            [
                WellbeingPoint(r.slot_at, wellbeing[r.id])
                for r in runs_by_person[p.id]
                if r.id in wellbeing and r.state is RunState.COMPLETED
            ]
            if wellbeing_keys
            else None,
            submissions_by_person[p.id],
            [
                Note(
                    r.slot_at,
                    r.timezone,
                    surveys[r.survey_id].title_zh,
                    surveys[r.survey_id].title_en,
                    r.notes,
                )
                for r in runs_by_person[p.id]
                if r.notes
            ],
        )
        for p in cohort
    ]
    latest: dict[tuple[int, str], SubmissionReport] = {}
    for report in reports:
        if report.kind is AssignmentKind.RESEARCH_PAPER and report.person_id in cohort_ids:
            key = (report.person_id, report.assignment_key)
            if key not in latest or latest[key].version < report.version:
                latest[key] = report
    order = {p.id: index for index, p in enumerate(cohort)}
    papers = sorted(latest.values(), key=lambda r: (r.assignment_key, order[r.person_id]))
    cohort_runs = sorted(
        (r for p in cohort for r in asked.get(p.id, [])), key=lambda r: (r.slot_at, r.id)
    )
    return ReportData(
        info,
        now,
        phases[0].starts_on if phases else None,
        max(p.ends_on for p in phases) if phases else None,
        _host_place(phases, sessions),
        [_phase(phase, sessions, now) for phase in phases],
        figures,
        len(sessions),
        sum(s.ends_at <= now for s in sessions),
        _tally(cohort_runs, surveys),
        _weeks(cohort_runs, info.host_timezone),
        papers,
        cadre_reports,
    )


def _tally(runs: list[_Run], surveys: dict[int, Survey]) -> CheckinTally:
    answered = [r for r in runs if r.state is RunState.COMPLETED and r.completed_at is not None]
    delays = [r.completed_at - r.slot_at for r in answered if r.completed_at is not None]
    return CheckinTally(
        asked=len(runs),
        answered=len(answered),
        within_window=sum(
            r.completed_at is not None and r.completed_at <= r.closes_at for r in answered
        ),
        on_time=sum(
            r.completed_at is not None
            and r.completed_at
            <= r.slot_at + timedelta(minutes=surveys[r.survey_id].remind_after_minutes)
            for r in answered
        ),
        missed=sum(r.state is RunState.MISSED or r.state is RunState.ESCALATED for r in runs),
        escalated=sum(r.escalated_at is not None for r in runs),
        median_delay=_median(delays),
    )


def _weeks(runs: list[_Run], host_timezone: str) -> list[WeekTally]:
    tz = zone(host_timezone)
    asked: Counter[date] = Counter()
    answered: Counter[date] = Counter()
    for run in runs:
        day = run.slot_at.astimezone(tz).date()
        monday = day - timedelta(days=day.weekday())
        asked[monday] += 1
        answered[monday] += run.state is RunState.COMPLETED
    return [WeekTally(week, asked[week], answered[week]) for week in sorted(asked)]


def _phase(phase: Phase, sessions: list[_Held], now: datetime) -> PhaseSummary:
    own = [s for s in sessions if s.phase_id == phase.id]
    places = Counter(s.place for s in own if s.place)
    return PhaseSummary(
        phase.key,
        phase.title_zh,
        phase.title_en,
        phase.location,
        phase.starts_on,
        phase.ends_on,
        len(own),
        sum(s.ends_at <= now for s in own),
        [place for place, _ in places.most_common()],
    )


def _host_place(phases: list[Phase], sessions: list[_Held]) -> str | None:
    """Where the cohort was abroad: the place most of the abroad phases' sessions were."""
    abroad = {p.id for p in phases if p.location is Location.ABROAD}
    places = Counter(s.place for s in sessions if s.place and s.phase_id in abroad)
    return places.most_common(1)[0][0] if places else None


def _submission(
    s: Submission, review: Review | None, a: Assignment, names: dict[int, str]
) -> SubmissionReport:
    scores = dict(review.scores or {}) if review is not None else {}
    reviewer_id = s.reviewed_by_id or (review.reviewer_id if review is not None else None)
    feedback = s.feedback or (review.feedback if review is not None else None)
    return SubmissionReport(
        s.id,
        s.person_id,
        names.get(s.person_id, "?"),
        a.key,
        a.kind,
        a.title_zh,
        a.title_en,
        s.version,
        s.title,
        s.abstract,
        s.submitted_at,
        a.timezone,
        s.is_late,
        s.review_status,
        s.score,
        [CriterionScore(c, scores.get(c.key)) for c in rubric_of(a.rubric)],
        feedback,
        names.get(reviewer_id) if reviewer_id is not None else None,
        s.reviewed_at,
    )
