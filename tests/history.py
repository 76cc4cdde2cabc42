"""A programme with a past, for the export tests: check-ins, alerts, notes, versions, files.

Built straight into the database after the usual seed (programme file and roster), so
every export test reads the same known history; the exports are then checked against
the database row by row, never against these literals.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from liaison.services.audit import record
from liaison.storage.database import Database
from liaison.storage.enums import ReviewStatus, RunState
from liaison.storage.models import (
    Absence,
    Assignment,
    Extension,
    Person,
    StoredFile,
    Submission,
    Survey,
    SurveyAnswer,
    SurveyRun,
)
from tests.conftest import PROGRAMME_ID, seed

ENROLLED = datetime(2026, 10, 20, 1, 0, tzinfo=UTC)
# Friday 30 October 20:00 in New York (EDT), and Tuesday 3 November 20:00 (EST): the
# check-in slots on both sides of the daylight-saving change.
FRIDAY = datetime(2026, 10, 31, 0, 0, tzinfo=UTC)
TUESDAY = datetime(2026, 11, 4, 1, 0, tzinfo=UTC)
INJECTION = '=HYPERLINK("http://evil.example","click")'
# The conftest's fake users, already enrolled: Zhang 501, Li 502, Wang 503, Chen 601, Liu 602.
TELEGRAM_IDS = {
    "张伟": 501,
    "李娜": 502,
    "Wang Fang": 503,
    "陈组织": 601,
    "Organizer Liu": 602,
    "赵观察": 603,
}
PDF = b"%PDF-1.4\n" + b"1 0 obj << /Type /Catalog >> endobj\n" * 40 + b"%%EOF\n"


@dataclass(frozen=True)
class History:
    data_dir: Path
    people: dict[str, int]
    missing_file: str  # the archive path deleted from disk


def _file(
    data_dir: Path, submission: Submission, person_id: int, name: str, data: bytes, n: int
) -> StoredFile:
    relative = f"archive/{PROGRAMME_ID}/person-{person_id}/s{submission.id}/f{n}.bin"
    path = data_dir / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return StoredFile(
        submission_id=submission.id,
        person_id=person_id,
        telegram_file_id=f"tg-{submission.id}-{n}",
        telegram_file_unique_id=f"u-{submission.id}-{n}",
        original_name=name,
        mime_type="application/pdf",
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        archive_path=relative,
    )


async def build_history(db: Database, data_dir: Path) -> History:
    """Seeds the test programme and gives it three weeks of tracking history."""
    await seed(db)
    async with db.transaction() as session:
        people = {p.name: p for p in await session.scalars(select(Person))}
        zhang, li, wang = people["张伟"], people["李娜"], people["Wang Fang"]
        chen, liu = people["陈组织"], people["Organizer Liu"]
        for person in people.values():
            person.telegram_user_id = person.telegram_chat_id = TELEGRAM_IDS[person.name]
            person.enrolled_at = ENROLLED
        chen.email, liu.email = "chen@jinjiang.gov.cn", "liu@jinjiang.gov.cn"
        zhang.notes = "+1 组长"
        survey = await session.scalar(select(Survey))
        assert survey is not None
        window = timedelta(minutes=survey.window_minutes)

        def run(person: Person, slot: datetime, state: RunState, **extra: object) -> SurveyRun:
            return SurveyRun(
                survey_id=survey.id,
                person_id=person.id,
                slot_date=slot.astimezone(UTC).date() - timedelta(days=1),
                slot_at=slot,
                closes_at=slot + window,
                timezone="America/New_York",
                state=state,
                **extra,
            )

        completed = run(
            zhang,
            FRIDAY,
            RunState.COMPLETED,
            started_at=FRIDAY + timedelta(minutes=5),
            completed_at=FRIDAY + timedelta(hours=1, minutes=30),
        )
        alerting = run(
            wang,
            FRIDAY,
            RunState.COMPLETED,
            started_at=FRIDAY + timedelta(hours=3),
            completed_at=FRIDAY + timedelta(hours=4),
            reminded_at=FRIDAY + timedelta(hours=3),
        )
        escalated = run(
            li,
            FRIDAY,
            RunState.MISSED,
            reminded_at=FRIDAY + timedelta(hours=3),
            escalated_at=FRIDAY + timedelta(hours=20),
            notes="电话联系：身体不适，已休息。",
        )
        after_dst = run(
            zhang,
            TUESDAY,
            RunState.COMPLETED,
            completed_at=TUESDAY + timedelta(minutes=45),
            notes=INJECTION,
        )
        session.add_all([completed, alerting, escalated, after_dst])
        await session.flush()
        answers = {
            completed.id: {"wellbeing": "4", "progress": "进展顺利。", "need_help": "no"},
            alerting.id: {"wellbeing": "2", "progress": INJECTION, "need_help": "yes"},
            after_dst.id: {"wellbeing": "5", "progress": "@SUM(A1)", "need_help": "no"},
        }
        for run_id, values in answers.items():
            for key, value in values.items():
                session.add(SurveyAnswer(run_id=run_id, question_key=key, value=value))
        session.add(SurveyAnswer(run_id=after_dst.id, question_key="remarks", skipped=True))

        assignments = {a.key: a for a in await session.scalars(select(Assignment))}
        stage = assignments["stage-1"]
        first = Submission(
            assignment_id=stage.id,
            person_id=zhang.id,
            version=1,
            text="第一稿",
            submitted_at=datetime(2026, 11, 5, 2, 0, tzinfo=UTC),
            review_status=ReviewStatus.RETURNED,
            feedback="-请补充数据",
            reviewed_by_id=chen.id,
            reviewed_at=datetime(2026, 11, 6, 1, 0, tzinfo=UTC),
        )
        second = Submission(
            assignment_id=stage.id,
            person_id=zhang.id,
            version=2,
            title="\tTabbed title",
            text="第二稿",
            submitted_at=datetime(2026, 11, 8, 2, 0, tzinfo=UTC),
            is_late=True,
            review_status=ReviewStatus.REVIEWED,
            score=88.5,
            feedback="很好",
            reviewed_by_id=liu.id,
            reviewed_at=datetime(2026, 11, 9, 1, 0, tzinfo=UTC),
        )
        wang_report = Submission(
            assignment_id=stage.id,
            person_id=wang.id,
            version=1,
            text="Report",
            submitted_at=datetime(2026, 11, 6, 1, 0, tzinfo=UTC),
        )
        session.add_all([first, second, wang_report])
        await session.flush()
        files = [
            _file(data_dir, first, zhang.id, "阶段报告.pdf", PDF, 1),
            _file(data_dir, second, zhang.id, "阶段报告.pdf", PDF + b"v2", 1),
            # Two files of one name in one version: both must survive the export.
            _file(data_dir, second, zhang.id, "阶段报告.pdf", PDF + b"appendix", 2),
            _file(data_dir, second, zhang.id, "../../etc/passwd", b"not a path", 3),
            _file(data_dir, wang_report, wang.id, "report.pdf", PDF + b"wang", 1),
        ]
        session.add_all(files)
        missing = files[-1].archive_path
        (data_dir / missing).unlink()

        session.add(
            Extension(
                assignment_id=stage.id,
                person_id=li.id,
                due_at=datetime(2026, 11, 11, 3, 0, tzinfo=UTC),
                granted_by_id=chen.id,
            )
        )
        session.add(
            Absence(
                person_id=li.id,
                starts_on=date(2026, 11, 9),
                ends_on=date(2026, 11, 12),
                reason="=1+1 病假",
                created_by_id=liu.id,
            )
        )
        await record(
            session,
            "checkin.completed",
            programme_id=PROGRAMME_ID,
            actor_person_id=wang.id,
            details={"run": alerting.id, "alerts": 2},
            at=FRIDAY + timedelta(hours=4),
        )
        ids = {p.name: p.id for p in people.values()}
    return History(data_dir, ids, missing)
